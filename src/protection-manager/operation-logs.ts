import { bwkError } from '../core/errors.js';
import type { CheckpointRecord } from '../checkpoints/model.js';
import type { RestoreRecord, VerificationRecord } from '../store/records.js';
import type { LogQuery, OperationLog } from './service.js';

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
  };
}

/** Newest first (or oldest first), after `marker`, at most `limit`. */
export function pageLogs(logs: OperationLog[], q: LogQuery): OperationLog[] {
  const sign = q.sort === 'asc' ? 1 : -1;
  const sorted = [...logs].sort(
    (a, b) => sign * (a.started_at < b.started_at ? -1 : a.started_at > b.started_at ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  const at = q.marker === undefined ? -1 : sorted.findIndex((l) => l.id === q.marker);
  // Like every other list: an unknown marker is the caller's mistake, not a reason to start over at page 1.
  if (q.marker !== undefined && at < 0)
    throw bwkError('BWK_ERR_INVALID_INPUT', {
      reason: `marker ${q.marker} not found among the operation logs you can list: pass the id of the last log of the previous page`,
    });
  const from = at + 1;
  return sorted.slice(from, q.limit === undefined ? undefined : from + q.limit);
}
