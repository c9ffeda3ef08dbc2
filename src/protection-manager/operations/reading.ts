/**
 * Restore and verify: both read an available checkpoint for a record in the catalog (`in_progress`
 * until the hooks end, then `success` or `fail`), holding a lease that keeps the checkpoint from
 * being deleted under them. They differ only in their record, their plugin operation and the id a
 * hook is told.
 */
import { CheckpointCollection } from '../../checkpoints/collection.js';
import { bwkError } from '../../core/errors.js';
import type { CatalogStore } from '../../store/port.js';
import type { RestoreRequest, VerifyRequest } from '../engine.js';
import { loadSavedInfo } from '../operation-context.js';
import { checkpointState } from './checkpoint-records.js';
import type { Abandoned, OperationKindSpec } from './kind.js';
import { READING_RECORDS } from './reading-records.js';
import type { ReadingKind } from './reading-records.js';

type ReadingRequest = RestoreRequest | VerifyRequest;

/**
 * Fails a restore or verification record still `in_progress` (its process died); null when it is
 * gone or already ended. Every resource fails with `reason`, and so does the operation as a whole.
 */
export async function failReadingRecord(
  kind: ReadingKind,
  store: CatalogStore,
  projectId: string,
  id: string,
  reason: string,
): Promise<Abandoned> {
  const access = READING_RECORDS[kind];
  const record = await access.get(store, projectId, id);
  if (!record || record.status !== 'in_progress') return null;
  const refs = Object.keys(record.resources_status);
  await access.update(store, projectId, id, {
    status: 'fail',
    resources_status: Object.fromEntries(refs.map((k) => [k, 'fail'])),
    resources_reason: { ...Object.fromEntries(refs.map((k) => [k, reason])), '(operation)': reason },
  });
  return { list: access.list, id };
}

function readingKind<R extends ReadingRequest>(kind: R['kind']): OperationKindSpec<R> {
  const access = READING_RECORDS[kind];
  return {
    parameterKind: kind,
    revertsOnFailure: false,

    async prepare(req, provider, deps) {
      const checkpoint = await new CheckpointCollection(provider.bank).mustGet(req.checkpointId, req.projectId);
      if (checkpoint.status !== 'available') {
        throw bwkError('BWK_ERR_CHECKPOINT_STATE', { id: checkpoint.id, status: checkpoint.status, action: kind, allowed: 'available' });
      }
      const record = await access.get(deps.store, req.projectId, req.recordId);
      if (!record) throw bwkError(access.notFound, { id: req.recordId });
      return checkpointState(provider, checkpoint, record.parameters);
    },

    async reload(req, provider, deps) {
      const checkpoint = await new CheckpointCollection(provider.bank).mustGet(req.checkpointId, req.projectId);
      return checkpointState(provider, checkpoint, (await access.get(deps.store, req.projectId, req.recordId))?.parameters ?? {});
    },

    operationFor: (plugin, resource) => access.operationFor(plugin, resource),

    async context(req, state, resource, deps) {
      const savedInfo = await loadSavedInfo(state.provider, req.checkpointId, resource);
      if (req.kind !== 'restore') return { [access.idKey]: req.recordId, savedInfo };
      const { allowedTargetPaths } = req as RestoreRequest;
      const policy = allowedTargetPaths ? { ...deps.restorePolicy, allowedTargetPaths } : deps.restorePolicy;
      return { [access.idKey]: req.recordId, savedInfo, policy };
    },

    async record(req, _provider, deps, { ok, reason, refs, reasons }) {
      const status = ok ? 'success' : 'fail';
      const resources_status = Object.fromEntries(refs.map((r) => [r, reasons[r] ? 'fail' : ok ? 'success' : 'fail']));
      if (!ok && refs.length === 0 && reason) reasons['(operation)'] = reason;
      for (const r of refs) if (!ok && !reasons[r]) reasons[r] = reason ?? 'operation failed';
      await access.update(deps.store, req.projectId, req.recordId, { status, resources_status, resources_reason: reasons });
      return status;
    },

    abandon(req, _bank, deps, reason) {
      return failReadingRecord(kind, deps.store, req.projectId, req.recordId, reason);
    },
  };
}

export const restoreKind = readingKind<RestoreRequest>('restore');
export const verifyKind = readingKind<VerifyRequest>('verify');
