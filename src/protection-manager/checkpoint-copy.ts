/**
 * `checkpoint copy`: a second copy of a checkpoint in another provider's bank (the 3-2-1 rule). The
 * copy is a checkpoint of its own (`copying → available`), with `extra_info.copy_of` naming its
 * source and the source's creation time, so retention, listing and restore treat it as any other.
 *
 * Its id is derived from the source and the target provider: copying again finds the same copy —
 * done (returned as it is) or cut short by a crash or a failure (resumed, sending only what did not
 * arrive). It runs in the calling process and returns when done, like bank upkeep: it reads and
 * writes banks only, no plugin hooks.
 */
import { operationLeaseOwner } from '../bank/layout.js';
import type { BankPlugin, Lease } from '../bank/port.js';
import { copyCheckpointObjects, removeOrphanPacks, transferTag } from '../bank/transfer.js';
import { CheckpointCollection } from '../checkpoints/collection.js';
import type { CheckpointRecord } from '../checkpoints/model.js';
import type { BulwarkConfig } from '../common/config.js';
import { assertUuid, derivedId, isUuid, nowIso } from '../common/ids.js';
import type { Logger } from '../common/logging.js';
import { bwkError, reasonOf } from '../core/errors.js';
import type { Provider, ProviderRegistry } from '../providers/registry.js';
import { LeaseKeeper } from './leases.js';
import type { RequestContext } from './request.js';
import type { ResourceScopes } from './resource-scopes.js';
import type { CopyInput } from './service.js';

export interface CopyDeps {
  config: BulwarkConfig;
  providers: ProviderRegistry;
  logger: Logger;
  scopes: ResourceScopes;
  /** The checkpoint the caller may see, and its provider (BWK_ERR_CHECKPOINT_NOT_FOUND otherwise). */
  find(ctx: RequestContext, id: string, providerId?: string): Promise<{ record: CheckpointRecord; provider: Provider }>;
}

/** The same source and target always name the same copy. */
export const copyIdOf = (sourceId: string, targetProviderId: string): string =>
  derivedId('bulwark checkpoint copy', sourceId, targetProviderId);

/** A provider by id or name. */
export function providerByRef(providers: ProviderRegistry, ref: unknown, field: string): Provider {
  if (typeof ref !== 'string' || ref === '') throw bwkError('BWK_ERR_INVALID_INPUT', { reason: `${field} must be a provider id or name` });
  const byName = isUuid(ref) ? [] : providers.list().filter((p) => p.name === ref);
  return byName.length === 1 ? byName[0]! : providers.get(ref);
}

/** Takes `owner` on `bank` and keeps it renewed; `lost` aborts the work when a renewal finds it gone. */
export async function holdLease(
  bank: BankPlugin,
  owner: string,
  data: Record<string, unknown>,
  deps: { config: BulwarkConfig; logger: Logger },
  lost: AbortController,
): Promise<{ release(): Promise<void> }> {
  const { ttl_ms, renew_interval_ms } = deps.config.lease;
  const lease: Lease = await bank.acquireLease(owner, ttl_ms, { ...data, startedAt: new Date().toISOString() });
  const keeper = new LeaseKeeper(bank, lease, ttl_ms, renew_interval_ms, (err) => lost.abort(err), deps.logger);
  return { release: async () => bank.releaseLease(await keeper.stop()).catch(() => undefined) };
}

function checkInput(raw: unknown): CopyInput {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw bwkError('BWK_ERR_INVALID_INPUT', { reason: 'copy input must be an object' });
  const input = raw as Record<string, unknown>;
  for (const key of Object.keys(input))
    if (!['checkpoint_id', 'provider_id', 'to_provider_id', 'schedule'].includes(key))
      throw bwkError('BWK_ERR_INVALID_INPUT', {
        reason: `copy takes no field "${key}" (it takes checkpoint_id, provider_id, to_provider_id)`,
      });
  if (typeof input.checkpoint_id !== 'string') throw bwkError('BWK_ERR_INVALID_INPUT', { reason: 'checkpoint_id is required' });
  assertUuid('checkpoint', input.checkpoint_id);
  if (input.provider_id !== undefined && typeof input.provider_id !== 'string')
    throw bwkError('BWK_ERR_INVALID_INPUT', { reason: 'provider_id must be a provider id' });
  return input as unknown as CopyInput;
}

/** Copies a checkpoint into another provider's bank and returns the copy once it is available. */
export async function copyCheckpoint(deps: CopyDeps, ctx: RequestContext, raw: CopyInput): Promise<CheckpointRecord> {
  const input = checkInput(raw);
  const to = providerByRef(deps.providers, input.to_provider_id, 'to_provider_id');
  const { record: source, provider: from } = await deps.find(ctx, input.checkpoint_id, input.provider_id);
  if (source.status !== 'available')
    throw bwkError('BWK_ERR_CHECKPOINT_STATE', { id: source.id, status: source.status, action: 'copy', allowed: 'available' });
  // A member copies only what its project's scope lets it use, as it verifies only that.
  const resources = (source.resource_graph?.nodes ?? []).map((n) => ({ type: n.type, id: n.id, name: n.name }));
  await deps.scopes.assertUsable(ctx, resources, 'copy', from);
  if (to.bank === from.bank) throw bwkError('BWK_ERR_COPY_SAME_BANK', { id: source.id, provider: to.name, source_provider: from.name });
  // Wrong or missing keys of either bank are refused before anything is written.
  await from.chunks.ready();
  await to.chunks.ready();
  const id = copyIdOf(source.id, to.id);
  const copies = new CheckpointCollection(to.bank);
  const existing = await copies.get(id, null);
  if (existing?.status === 'available') return existing;
  if (existing && existing.status !== 'copying' && existing.status !== 'error')
    throw bwkError('BWK_ERR_CHECKPOINT_STATE', { id, status: existing.status, action: 'copy into', allowed: 'copying, error' });

  const lost = new AbortController();
  const lease = { kind: 'copy', operationId: id, projectId: source.project_id };
  // The source's bank learns it is read (a delete waits), the target's that packs are being written (GC spares them).
  const reading = await holdLease(
    from.bank,
    operationLeaseOwner(`${id}-source`),
    { ...lease, checkpointId: source.id, role: 'source' },
    deps,
    lost,
  );
  let writing: { release(): Promise<void> } | undefined;
  try {
    writing = await holdLease(
      to.bank,
      operationLeaseOwner(id),
      { ...lease, providerId: to.id, checkpointId: id, role: 'target' },
      deps,
      lost,
    );
    if (!existing) await copies.create(copyRecord(source, from, to, id, input));
    else if (existing.status === 'error') await copies.update(id, () => ({ status: 'copying', extra_info: { reason: undefined } }), 'copy');
    // A run killed between storing a pack and its index left that pack unreachable: it goes first.
    const orphans = existing ? await removeOrphanPacks(to.chunks, transferTag(id)) : 0;
    deps.logger.info('checkpoint copy started', {
      checkpoint: source.id,
      copy: id,
      to_provider: to.id,
      resumed: existing !== null,
      orphans,
    });
    let stats;
    try {
      stats = await copyCheckpointObjects(from.chunks, source.id, to.chunks, id, `checkpoint ${source.id} copy`, lost.signal);
    } catch (err) {
      const reason = reasonOf(lost.signal.aborted ? lost.signal.reason : err);
      await copies.update(id, () => ({ status: 'error', extra_info: { reason, finished_at: nowIso() } }), 'copy').catch(() => undefined);
      deps.logger.warn('checkpoint copy failed', { checkpoint: source.id, copy: id, error: reason });
      throw lost.signal.aborted ? lost.signal.reason : err;
    }
    const done = await copies.update(id, () => ({ status: 'available', extra_info: { finished_at: nowIso(), copy_stats: stats } }), 'copy');
    deps.logger.info('checkpoint copy finished', { checkpoint: source.id, copy: id, ...stats });
    return done;
  } finally {
    await writing?.release();
    await reading.release();
  }
}

function copyRecord(source: CheckpointRecord, from: Provider, to: Provider, id: string, input: CopyInput): CheckpointRecord {
  const keep = ['resources_status', 'resources_reason', 'imported_from'] as const;
  return {
    id,
    project_id: source.project_id,
    provider_id: to.id,
    status: 'copying',
    protection_plan: source.protection_plan,
    resource_graph: source.resource_graph,
    // The source's: retention judges a copy by the age of the data it holds.
    created_at: source.created_at,
    updated_at: nowIso(),
    extra_info: {
      ...Object.fromEntries(keep.filter((k) => source.extra_info[k] !== undefined).map((k) => [k, source.extra_info[k]])),
      copy_of: { checkpoint_id: source.id, provider_id: from.id, created_at: source.created_at },
      ...(input.schedule ?? {}),
    },
  };
}
