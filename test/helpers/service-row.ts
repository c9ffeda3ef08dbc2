/** A row of the service catalog as `/os-services` and `bulwark service list -o json` show it. */
export interface ServiceRow {
  id: string;
  binary: string;
  host: string;
  status: string;
  state: string;
  updated_at: string;
  disabled_reason: string | null;
}
