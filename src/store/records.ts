/**
 * Catalog records. Field names are snake_case because these objects are also the REST API and CLI JSON
 * shapes, and they keep Karbor's names so Karbor clients and habits carry over.
 * Timestamps are ISO-8601 UTC strings with milliseconds (`new Date().toISOString()`): they sort
 * lexicographically in time order, which listing relies on.
 */
import type { Resource } from '../plugins/api.js';

export type PlanStatus = 'suspended' | 'started';

export interface PlanRecord {
  id: string;
  project_id: string;
  name: string;
  description: string;
  provider_id: string;
  status: PlanStatus;
  resources: Resource[];
  parameters: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

export type OperationStatus = 'in_progress' | 'success' | 'fail';

export interface RestoreRecord {
  id: string;
  project_id: string;
  provider_id: string;
  checkpoint_id: string;
  /** Where the data goes; null restores in place (the plugin decides what that means). */
  restore_target: string | null;
  parameters: Record<string, unknown>;
  status: OperationStatus;
  /** Per resource (`<type>#<id>`): that resource's status within this operation. */
  resources_status: Record<string, string>;
  /** Per resource: why it failed, for resources that did. */
  resources_reason: Record<string, string>;
  created_at: string;
  updated_at: string;
  /** The id of the API token that started it (never its secret); null when not started through the API. */
  token_id: string | null;
  /** The address the starting API request came from; null when not started through the API. */
  client_address: string | null;
}

/** A verification reads a checkpoint back without writing anywhere, so it has no target. */
export type VerificationRecord = Omit<RestoreRecord, 'restore_target'>;
