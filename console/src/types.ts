/** The API's records, as far as the console reads them (Karbor's field names). */
export interface Resource {
  id: string;
  type: string;
  name?: string;
}

export interface Plan {
  id: string;
  name: string;
  description: string;
  provider_id: string;
  status: string;
  resources: Resource[];
  parameters: Record<string, unknown>;
  created_at: string;
}

export interface GraphNode {
  ref: string;
  type: string;
  id: string;
  name: string;
  children: string[];
}

export interface Checkpoint {
  id: string;
  project_id: string;
  provider_id: string;
  status: string;
  protection_plan: { id: string; name: string; resources: Resource[] };
  /** A JSON string, as Karbor sent it. */
  resource_graph: string | null;
  created_at: string;
  extra_info: {
    reason?: string;
    resources_status?: Record<string, string>;
    resources_reason?: Record<string, string>;
    finished_at?: string;
    [key: string]: unknown;
  };
}

export interface Operation {
  id: string;
  provider_id: string;
  checkpoint_id: string;
  parameters: Record<string, unknown>;
  status: string;
  resources_status: Record<string, string>;
  resources_reason: Record<string, string>;
  created_at: string;
  updated_at: string;
}

export interface Provider {
  id: string;
  name: string;
  description: string;
  extended_info_schema?: Record<'options_schema' | 'restore_schema' | 'verify_schema' | 'saved_info_schema', Record<string, JsonSchema>>;
}

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  description?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  items?: JsonSchema;
}

export interface Trigger {
  id: string;
  name: string;
  type: string;
  properties: Record<string, unknown>;
}

export interface ScheduledOperation {
  id: string;
  name: string;
  description: string;
  operation_type: string;
  trigger_id: string;
  plan_id: string | null;
  provider_id: string | null;
  status: 'enabled' | 'suspended';
  overlap: string;
  next_due_at: string | null;
}

export interface OperationLog {
  id: string;
  scheduled_operation_id: string | null;
  operation_type: string;
  plan_id: string | null;
  checkpoint_id: string | null;
  status: string;
  error_info: string | null;
  started_at: string | null;
  ended_at: string | null;
  created_at: string;
}
