import type { CheckpointRecord } from '../checkpoints/model.js';
import type { RestoreRecord, VerificationRecord } from '../store/records.js';

/**
 * Karbor's operation log, derived from the records themselves, so its status is what the operation
 * did — `success` only once a checkpoint is available or a restore succeeded (Karbor logged "success"
 * when the API accepted a request) — and nothing is dropped (Karbor kept five).
 */
export interface OperationLog {
  id: string;
  project_id: string;
  operation_type: 'protect' | 'restore' | 'verify';
  provider_id: string;
  plan_id: string | null;
  checkpoint_id: string;
  restore_id: string | null;
  verification_id: string | null;
  status: 'running' | 'success' | 'error';
  started_at: string;
  ended_at: string | null;
  error_info: string | null;
}

const statusOf = (s: string): OperationLog['status'] => (s === 'available' || s === 'success' ? 'success' : s === 'error' || s === 'fail' ? 'error' : 'running');

export function logOfCheckpoint(c: CheckpointRecord): OperationLog {
  const status = statusOf(c.status);
  return {
    id: c.id, project_id: c.project_id, operation_type: 'protect', provider_id: c.provider_id, plan_id: c.protection_plan.id,
    checkpoint_id: c.id, restore_id: null, verification_id: null, status, started_at: c.created_at,
    ended_at: status === 'running' ? null : (c.extra_info.finished_at ?? c.updated_at), error_info: c.extra_info.reason ?? null,
  };
}

export function logOfRecord(kind: 'restore' | 'verify', r: RestoreRecord | VerificationRecord): OperationLog {
  const status = statusOf(r.status);
  const reasons = Object.values(r.resources_reason);
  return {
    id: r.id, project_id: r.project_id, operation_type: kind, provider_id: r.provider_id, plan_id: null, checkpoint_id: r.checkpoint_id,
    restore_id: kind === 'restore' ? r.id : null, verification_id: kind === 'verify' ? r.id : null, status, started_at: r.created_at,
    ended_at: status === 'running' ? null : r.updated_at, error_info: status === 'error' ? reasons.join('; ') || null : null,
  };
}

/** Newest first (or oldest first), after `marker`, at most `limit`. */
export function pageLogs(logs: OperationLog[], q: { limit?: number; marker?: string; sort?: 'asc' | 'desc' }): OperationLog[] {
  const sign = q.sort === 'asc' ? 1 : -1;
  const sorted = [...logs].sort((a, b) => sign * (a.started_at < b.started_at ? -1 : a.started_at > b.started_at ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const from = q.marker === undefined ? 0 : sorted.findIndex((l) => l.id === q.marker) + 1;
  return sorted.slice(from, q.limit === undefined ? undefined : from + q.limit);
}
