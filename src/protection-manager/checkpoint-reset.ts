/**
 * Karbor's os-resetState: an admin sets a stuck checkpoint to `available` or `error`, whatever state
 * it is in. For the rare record no recovery fixes (a bank that was unreachable when its operation
 * died); never while an operation works on the checkpoint, which would then write over the reset.
 */
import { operationLeaseOwner } from '../bank/layout.js';
import { bwkError } from '../core/errors.js';
import { newId } from '../common/ids.js';
import type { Logger } from '../common/logging.js';
import { CheckpointCollection } from '../checkpoints/collection.js';
import type { CheckpointRecord } from '../checkpoints/model.js';
import type { Provider } from '../providers/registry.js';
import { findLiveUser } from './leases.js';
import type { RequestContext } from './request.js';
import type { ResettableState } from './service.js';

const STATES: readonly ResettableState[] = ['available', 'error'];
/** Long enough to read and write one record; the lease is released at once after. */
const RESET_LEASE_MS = 60_000;

export async function resetCheckpointState(
  ctx: RequestContext,
  record: CheckpointRecord,
  provider: Provider,
  state: ResettableState,
  logger: Logger,
): Promise<CheckpointRecord> {
  if (!ctx.admin) throw bwkError('BWK_ERR_FORBIDDEN', { reason: 'resetting a checkpoint state needs an admin token' });
  if (!STATES.includes(state))
    throw bwkError('BWK_ERR_INVALID_INPUT', {
      reason: `a checkpoint state can be reset to ${STATES.join(' or ')}, not ${JSON.stringify(state)}`,
    });
  // A lease of its own first, naming the checkpoint, so an operation starting meanwhile sees it in use
  // too; then any other live lease on the checkpoint refuses the reset.
  const operationId = newId();
  const lease = await provider.bank.acquireLease(operationLeaseOwner(operationId), RESET_LEASE_MS, {
    kind: 'reset-state',
    operationId,
    checkpointId: record.id,
  });
  try {
    const user = await findLiveUser(provider.bank, record.id, operationId);
    if (user) throw bwkError('BWK_ERR_CHECKPOINT_IN_USE', { id: record.id, user });
    const from = record.status;
    const reset = await new CheckpointCollection(provider.bank).resetStatus(record.id, state, {
      from,
      at: new Date().toISOString(),
      ...(ctx.origin ? { token_id: ctx.origin.token_id, client_address: ctx.origin.client_address } : {}),
    });
    logger.info('checkpoint state reset', {
      checkpoint: record.id,
      project: record.project_id,
      from,
      to: state,
      token_id: ctx.origin?.token_id ?? null,
      client_address: ctx.origin?.client_address ?? null,
    });
    return reset;
  } finally {
    await provider.bank.releaseLease(lease).catch(() => undefined);
  }
}
