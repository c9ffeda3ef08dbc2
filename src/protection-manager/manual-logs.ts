/**
 * Operation log rows of operations started by hand (CLI, REST, RPC): written when the operation
 * starts and settled when it finishes, so `operation_logs` lists every operation, not only the
 * scheduled ones. A scheduled fire already has its row (same id): it is left to the operation
 * engine, which applies retention before it calls the run done.
 */
import { nowIso } from '../common/ids.js';
import type { CatalogStore } from '../store/port.js';
import type { OperationLogRow } from '../store/scheduling-records.js';
import type { RequestContext } from './request.js';

export interface ManualStart {
  id: string;
  projectId: string;
  kind: 'protect' | 'restore' | 'verify';
  providerId: string;
  planId: string | null;
  checkpointId: string;
}

/** Records the start; a row that already exists (a scheduled fire) is kept as it is. */
export async function logManualStart(store: CatalogStore, ctx: RequestContext, s: ManualStart): Promise<void> {
  const at = nowIso();
  const row: OperationLogRow = {
    id: s.id,
    project_id: s.projectId,
    scheduled_operation_id: null,
    trigger_id: null,
    fire_key: null,
    operation_type: s.kind,
    plan_id: s.planId,
    provider_id: s.providerId,
    checkpoint_id: s.checkpointId,
    restore_id: s.kind === 'restore' ? s.id : null,
    verification_id: s.kind === 'verify' ? s.id : null,
    due_at: null,
    status: 'running',
    phase: 'started',
    error_info: null,
    started_at: at,
    ended_at: null,
    extra_info: {},
    token_id: ctx.origin?.token_id ?? null,
    client_address: ctx.origin?.client_address ?? null,
    created_at: at,
    updated_at: at,
  };
  await store.scheduling.insertLog(row);
}

/** Settles a manual operation's row with its outcome; a scheduled fire's row is the engine's to settle. */
export async function logManualEnd(store: CatalogStore, id: string, ok: boolean, reason: string | undefined): Promise<void> {
  const row = await store.scheduling.getLogRow(id);
  if (!row || row.scheduled_operation_id !== null) return;
  await store.scheduling.updateLog(id, {
    phase: 'done',
    status: ok ? 'success' : 'error',
    ended_at: nowIso(),
    error_info: ok ? null : (reason ?? null),
  });
}
