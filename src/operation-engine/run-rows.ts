/**
 * The operation log row of one fire of a scheduled operation. Its id is a name-based UUID of the
 * scheduled operation and the fire (due-times.ts), so every engine instance writes the same row and
 * the catalog's unique keys let exactly one of them have it.
 */
import type { OperationLogRow, ScheduledOperationRecord } from '../store/scheduling-records.js';
import { FIRE_NAMESPACE, fireOperationId, uuidV5 } from './due-times.js';

export interface Fire {
  /** `due:<ISO>` for a time trigger's due time, `event:<checkpoint id>`, `run:<ISO>` for run-now. */
  fireKey: string;
  dueAt: string | null;
  /** The plan's previous run is still going: the overlap policy decides. */
  busy?: boolean;
  /** The due time's window has passed: logged, not run. */
  dropped?: boolean;
  checkpointId?: string;
}

/** How a run ends that never started: its status, why, and no checkpoint or verification of its own. */
export const notRun = (status: 'dropped_out_of_window' | 'skipped_overlap', reason: string, at: string) => ({
  phase: 'done' as const,
  status,
  ended_at: at,
  checkpoint_id: null,
  verification_id: null,
  error_info: reason,
});

/** Why a fire was skipped under overlap: skip. */
export const overlapReason = (planId: string | null) => `the previous run for plan ${planId} was still going (overlap: skip)`;

export function fireId(op: ScheduledOperationRecord, fire: Fire): string {
  return fire.fireKey.startsWith('due:')
    ? fireOperationId(op.id, Date.parse(fire.dueAt!))
    : uuidV5(FIRE_NAMESPACE, `${op.id}#${fire.fireKey}`);
}

export function runLogRow(op: ScheduledOperationRecord, fire: Fire, nowIso = new Date().toISOString()): OperationLogRow {
  const id = fireId(op, fire);
  const base: OperationLogRow = {
    id,
    project_id: op.project_id,
    scheduled_operation_id: op.id,
    trigger_id: op.trigger_id,
    fire_key: fire.fireKey,
    operation_type: op.operation_type,
    plan_id: op.plan_id,
    provider_id: op.provider_id,
    // A protect's checkpoint id is its operation id; a verify's checkpoint is known when it starts (or from its event).
    checkpoint_id: op.operation_type === 'protect' || op.operation_type === 'retention_protect' ? id : (fire.checkpointId ?? null),
    restore_id: null,
    verification_id: op.operation_type === 'verify' ? id : null,
    due_at: fire.dueAt,
    status: 'running',
    phase: 'claimed',
    error_info: null,
    started_at: null,
    ended_at: null,
    extra_info: {},
    token_id: null,
    client_address: null,
    created_at: nowIso,
    updated_at: nowIso,
  };
  if (fire.dropped) {
    const reason = `no engine could start it within its trigger's window after its due time ${fire.dueAt} (engines down or busy)`;
    return { ...base, ...notRun('dropped_out_of_window', reason, nowIso) };
  }
  if (fire.busy && op.overlap === 'skip') return { ...base, ...notRun('skipped_overlap', overlapReason(op.plan_id), nowIso) };
  if (fire.busy) return { ...base, status: 'queued', phase: 'queued' };
  return base;
}
