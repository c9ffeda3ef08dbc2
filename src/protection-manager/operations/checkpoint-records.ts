/**
 * What the kinds share about checkpoints: the state of an operation on an existing checkpoint, and,
 * for the kinds that own a checkpoint's status (protect, delete), its end and its abandonment.
 */
import type { BankPlugin } from '../../bank/port.js';
import { CheckpointCollection } from '../../checkpoints/collection.js';
import type { CheckpointRecord, CheckpointStatus } from '../../checkpoints/model.js';
import type { Provider } from '../../providers/registry.js';
import type { Abandoned, Ending, OperationState } from './kind.js';

/** The state of an operation that works on an existing checkpoint (restore, verify, delete). */
export const checkpointState = (provider: Provider, checkpoint: CheckpointRecord, parameters: Record<string, unknown>): OperationState => ({
  provider,
  graph: checkpoint.resource_graph ?? { roots: [], nodes: [] },
  parameters,
  planId: checkpoint.protection_plan.id,
  consistency: new Map(),
  previousCheckpointId: null,
});

/** Writes the final status with per-resource statuses and reasons; nothing when it is already so. */
export async function markCheckpointEnded(
  checkpoints: CheckpointCollection,
  id: string,
  current: CheckpointStatus,
  status: CheckpointStatus,
  ending: Ending,
  action: string,
): Promise<CheckpointStatus> {
  if (current === status) return status;
  const { ok, reason, refs, reasons } = ending;
  const statuses = Object.fromEntries(refs.map((r) => [r, reasons[r] || !ok ? 'error' : 'available']));
  await checkpoints.update(
    id,
    () => ({
      status,
      extra_info: {
        finished_at: new Date().toISOString(),
        resources_status: statuses,
        resources_reason: reasons,
        ...(reason ? { reason } : {}),
      },
    }),
    action,
  );
  return status;
}

/** A checkpoint left `protecting`, `copying` or `deleting` by a dead process becomes `error`, and listable. */
export async function abandonCheckpoint(bank: BankPlugin, id: string, reason: string): Promise<Abandoned> {
  const checkpoints = new CheckpointCollection(bank);
  const record = await checkpoints.get(id, null);
  if (!record) return null;
  // The creator may have died between the record and its index entries: make it listable, so it can be deleted.
  await checkpoints.writeIndexes(record);
  if (record.status !== 'protecting' && record.status !== 'copying' && record.status !== 'deleting') return null;
  await checkpoints.update(
    record.id,
    () => ({ status: 'error', extra_info: { reason, finished_at: new Date().toISOString() } }),
    'recover',
  );
  return { list: 'checkpoints', id: record.id };
}
