/**
 * Delete: plugin delete hooks, then the checkpoint's objects. Refused while a restore or verification
 * reads the checkpoint (Karbor let a checkpoint vanish mid-restore).
 */
import { CheckpointCollection } from '../../checkpoints/collection.js';
import { bwkError } from '../../core/errors.js';
import type { DeleteRequest } from '../engine.js';
import { findLiveUser } from '../leases.js';
import { abandonCheckpoint, checkpointState, markCheckpointEnded } from './checkpoint-records.js';
import type { OperationKindSpec, OperationState } from './kind.js';

export const deleteKind: OperationKindSpec<DeleteRequest> = {
  parameterKind: null,
  revertsOnFailure: false,

  async prepare(req, provider): Promise<OperationState> {
    const checkpoints = new CheckpointCollection(provider.bank);
    const checkpoint = await checkpoints.mustGet(req.checkpointId, req.projectId);
    await checkpoints.update(req.checkpointId, () => ({ status: 'deleting', extra_info: { operation_id: req.operationId } }), 'delete');
    // Written `deleting` first, then looked for readers: a restore that started meanwhile sees `deleting` and stops.
    const user = await findLiveUser(provider.bank, req.checkpointId, req.operationId);
    if (user) {
      await checkpoints.update(req.checkpointId, () => ({ status: checkpoint.status }), 'delete');
      throw bwkError('BWK_ERR_CHECKPOINT_IN_USE', { id: req.checkpointId, user });
    }
    return checkpointState(provider, checkpoint, {});
  },

  async reload(req, provider): Promise<OperationState> {
    return checkpointState(provider, await new CheckpointCollection(provider.bank).mustGet(req.checkpointId, req.projectId), {});
  },

  operationFor: (plugin, resource) => plugin.getDeleteOperation(resource),

  context: async () => ({}),

  async record(req, provider, _deps, ending) {
    const checkpoints = new CheckpointCollection(provider.bank);
    const current = await checkpoints.get(req.checkpointId, null);
    if (!current) return 'deleted';
    // A delete refused before it began (checkpoint in use) left the checkpoint as it was.
    if (current.status !== 'deleting') return current.status;
    if (!ending.ok) return markCheckpointEnded(checkpoints, req.checkpointId, current.status, 'error', ending, 'delete');
    await checkpoints.update(req.checkpointId, () => ({ status: 'deleted' }), 'delete');
    await checkpoints.remove(current);
    return 'deleted';
  },

  abandon: (req, bank, _deps, reason) => abandonCheckpoint(bank, req.checkpointId, reason),
};
