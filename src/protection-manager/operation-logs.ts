import type { CheckpointRecord } from '../checkpoints/model.js';
import type { RestoreRecord, VerificationRecord } from '../store/records.js';
import type { OperationLog } from './service.js';

const statusOf = (s: string): OperationLog['status'] =>
  s === 'available' || s === 'success' ? 'success' : s === 'error' || s === 'fail' ? 'error' : 'running';

export function logOfCheckpoint(c: CheckpointRecord): OperationLog {
  const status = statusOf(c.status);
  return {
    id: c.id,
    project_id: c.project_id,
    operation_type: 'protect',
    provider_id: c.provider_id,
    plan_id: c.protection_plan.id,
    checkpoint_id: c.id,
    restore_id: null,
    verification_id: null,
    status,
    started_at: c.created_at,
    ended_at: status === 'running' ? null : (c.extra_info.finished_at ?? c.updated_at),
    error_info: c.extra_info.reason ?? null,
    token_id: c.extra_info.token_id ?? null,
    client_address: c.extra_info.client_address ?? null,
  };
}

export function logOfRecord(kind: 'restore' | 'verify', r: RestoreRecord | VerificationRecord): OperationLog {
  const status = statusOf(r.status);
  const reasons = Object.values(r.resources_reason);
  return {
    id: r.id,
    project_id: r.project_id,
    operation_type: kind,
    provider_id: r.provider_id,
    plan_id: null,
    checkpoint_id: r.checkpoint_id,
    restore_id: kind === 'restore' ? r.id : null,
    verification_id: kind === 'verify' ? r.id : null,
    status,
    started_at: r.created_at,
    ended_at: status === 'running' ? null : r.updated_at,
    error_info: status === 'error' ? reasons.join('; ') || null : null,
    token_id: r.token_id ?? null,
    client_address: r.client_address ?? null,
  };
}

/**
 * One page of logs from pages of each kind, each already starting after the same position: sorted
 * by (started_at, id) — the records' (created_at, id), the order each kind was listed in — and cut
 * to `limit`. What is cut is not lost: the next page starts after the last log kept.
 */
export function mergeLogs(logs: OperationLog[], sort: 'asc' | 'desc', limit: number): OperationLog[] {
  const sign = sort === 'asc' ? 1 : -1;
  const sorted = [...logs].sort(
    (a, b) => sign * (a.started_at < b.started_at ? -1 : a.started_at > b.started_at ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  return sorted.slice(0, limit);
}
