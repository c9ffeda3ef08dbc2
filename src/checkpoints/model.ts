import { bwkError } from '../core/errors.js';
import type { Resource } from '../plugins/api.js';
import type { ResourceGraph } from '../core/resource-graph.js';

/**
 * Checkpoint states (Karbor's, kept): protect `protecting → available | error`;
 * delete `available | error → deleting → deleted` (a failed delete goes back to `error` so it can be
 * retried); copy and import `copying → available | error`, and a failed copy or import is resumed from
 * `error` (`error → copying`).
 */
export type CheckpointStatus = 'protecting' | 'copying' | 'available' | 'error' | 'deleting' | 'deleted';

const TRANSITIONS: Record<CheckpointStatus, readonly CheckpointStatus[]> = {
  protecting: ['available', 'error'],
  copying: ['available', 'error'],
  available: ['deleting'],
  error: ['deleting', 'copying'],
  // Back to `available` when a delete is refused before it touched data (the checkpoint is in use).
  deleting: ['deleted', 'error', 'available'],
  deleted: [],
};

export interface CheckpointExtraInfo {
  operation_id?: string;
  /** Why the checkpoint is `error`: `<code>: <message>`. */
  reason?: string;
  /** Per resource (`type#id`): `protecting`, `available` or `error`. */
  resources_status?: Record<string, string>;
  resources_reason?: Record<string, string>;
  finished_at?: string;
  /** The API token (its id) and client address that started the protect; absent when not started through the API. */
  token_id?: string;
  client_address?: string;
  /** Set on checkpoints a scheduled operation made: which one, by which trigger, for which due time. */
  scheduled_operation_id?: string;
  trigger_id?: string;
  due_at?: string;
  [key: string]: unknown;
}

/** The checkpoint record as the API and CLI show it (Karbor's field names). */
export interface CheckpointRecord {
  id: string;
  project_id: string;
  provider_id: string;
  status: CheckpointStatus;
  protection_plan: { id: string; name: string; resources: Resource[] };
  resource_graph: ResourceGraph | null;
  created_at: string;
  updated_at: string;
  extra_info: CheckpointExtraInfo;
}

export function canTransition(from: CheckpointStatus, to: CheckpointStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Throws BWK_ERR_CHECKPOINT_STATE unless `from → to` is a legal move. */
export function assertTransition(id: string, from: CheckpointStatus, to: CheckpointStatus, action: string): void {
  if (!canTransition(from, to)) {
    const allowed = (Object.keys(TRANSITIONS) as CheckpointStatus[]).filter((s) => TRANSITIONS[s].includes(to));
    throw bwkError('BWK_ERR_CHECKPOINT_STATE', { id, status: from, action, allowed: allowed.join(', ') || 'nowhere' });
  }
}
