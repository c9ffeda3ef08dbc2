/**
 * Restore `main`: two passes over the stored records. The first checks every record, the count and
 * the SHA-256 against meta.json and, with `conflict: fail`, asks the target (pipelined EXISTS) whether
 * any key is already there — so a corrupt checkpoint or a conflict is refused before anything is
 * written. The second RESTOREs the keys in pipelined batches, each record's own hash checked again
 * before it is sent.
 */
import type { RestoreContext } from '../api.js';
import { PluginError } from '../api.js';
import { bwkError } from '../../core/errors.js';
import { describeInstance } from './config.js';
import type { InstanceConfig } from './config.js';
import { withSession } from './connection.js';
import type { RedisSession } from './connection.js';
import { loadMeta, readCheckedRecords, resourceLabel } from './meta.js';
import type { MetaBody } from './meta.js';
import { displayKey } from './record-format.js';
import type { KeyRecord } from './record-format.js';

const EXISTS_BATCH = 1000;
const RESTORE_BATCH = 1000;
const RESTORE_BATCH_BYTES = 8 * 1024 * 1024;

export type ConflictMode = 'fail' | 'replace';

export interface RestoreTarget {
  instance: InstanceConfig;
  db: number;
  conflict: ConflictMode;
}

/** Where a restore writes: `target_instance` (must be configured) and `target_db`, defaulting to the source. */
export function restoreTarget(
  parameters: Record<string, unknown>,
  resourceId: string,
  instances: ReadonlyMap<string, InstanceConfig>,
  sourceDb?: number,
): RestoreTarget {
  const name = typeof parameters.target_instance === 'string' ? parameters.target_instance : resourceId;
  const instance = instances.get(name);
  if (instance === undefined) {
    throw bwkError('BWK_ERR_PARAMETERS_INVALID', {
      kind: 'restore',
      key: 'redis.instance',
      reason: `target_instance "${name}" is not a Redis instance of this provider (configured: ${[...instances.keys()].join(', ')})`,
    });
  }
  const db = typeof parameters.target_db === 'number' ? parameters.target_db : (sourceDb ?? instance.db);
  return { instance, db, conflict: parameters.conflict === 'replace' ? 'replace' : 'fail' };
}

/** A key the checkpoint holds already exists in the target. */
function conflictError(label: string, t: RestoreTarget, count: number, first: Buffer, late: boolean): PluginError {
  const what = late
    ? `key "${displayKey(first)}" appeared in the target after the restore checked it; keys written before it stay`
    : `the target already holds ${count} of the checkpoint's keys (first: "${displayKey(first)}"); nothing was restored`;
  return new PluginError(
    `${label}: restore into ${describeInstance(t.instance, t.db)} refused: ${what}. Pass conflict "replace" to overwrite them, or ` +
      `restore into an empty database (target_db)`,
    {
      code: 'BWK_ERR_RESTORE_CONFLICT',
    },
  );
}

/** A key whose TTL had run out at protect time must not come back without one (RESTORE ttl 0 = persistent). */
const restorable = (r: KeyRecord): boolean => r.pttl !== 0;

async function findConflicts(
  ctx: RestoreContext,
  s: RedisSession,
  meta: MetaBody,
  label: string,
): Promise<{ count: number; first: Buffer | null }> {
  const found = { count: 0, first: null as Buffer | null };
  let batch: Buffer[] = [];
  let checked = 0;
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    ctx.signal.throwIfAborted();
    const pipeline = s.client.pipeline();
    for (const key of batch) pipeline.exists(key);
    const replies = await pipeline.exec().catch((err: unknown) => {
      throw s.failure('EXISTS', err);
    });
    batch.forEach((key, i) => {
      const [err, n] = replies?.[i] ?? [new Error('no reply'), 0];
      if (err) throw s.failure('EXISTS', err);
      if (n === 1) {
        found.count++;
        found.first ??= key;
      }
    });
    checked += batch.length;
    ctx.progress({ done: checked, total: meta.records.count, unit: 'items', message: 'checking the target for existing keys' });
    batch = [];
  };
  await readCheckedRecords(ctx.bank, meta, label, async (r) => {
    if (!restorable(r)) return;
    batch.push(r.key);
    if (batch.length >= EXISTS_BATCH) await flush();
  });
  await flush();
  return found;
}

async function writeRecords(ctx: RestoreContext, s: RedisSession, meta: MetaBody, label: string, t: RestoreTarget): Promise<number> {
  let batch: KeyRecord[] = [];
  let batchBytes = 0;
  let restored = 0;
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    ctx.signal.throwIfAborted();
    const pipeline = s.client.pipeline();
    for (const r of batch) {
      const ttl = r.pttl === -1 ? 0 : r.pttl;
      if (t.conflict === 'replace') pipeline.restore(r.key, ttl, r.payload, 'REPLACE');
      else pipeline.restore(r.key, ttl, r.payload);
    }
    const replies = await pipeline.exec().catch((err: unknown) => {
      throw s.failure('RESTORE', err);
    });
    batch.forEach((r, i) => {
      const [err] = replies?.[i] ?? [new Error('no reply')];
      if (!err) return;
      if (/^BUSYKEY/.test(err.message)) throw conflictError(label, t, 1, r.key, true);
      throw s.failure(`RESTORE of key "${displayKey(r.key)}"`, err);
    });
    restored += batch.length;
    ctx.progress({ done: restored, total: meta.records.count, unit: 'items', message: 'restoring keys' });
    batch = [];
    batchBytes = 0;
  };
  await readCheckedRecords(ctx.bank, meta, label, async (r) => {
    if (!restorable(r)) return;
    batch.push(r);
    batchBytes += r.key.length + r.payload.length;
    if (batch.length >= RESTORE_BATCH || batchBytes >= RESTORE_BATCH_BYTES) await flush();
  });
  await flush();
  return restored;
}

/** Runs the restore `main` hook for one Redis instance. */
export async function restoreInstance(ctx: RestoreContext, instances: ReadonlyMap<string, InstanceConfig>): Promise<void> {
  const label = resourceLabel(ctx.resource.id);
  const meta = await loadMeta(ctx.bank, label);
  const target = restoreTarget(ctx.parameters, ctx.resource.id, instances, meta.db);
  const restored = await withSession(target.instance, target.db, resourceLabel(target.instance.name), ctx.signal, async (s) => {
    if (target.conflict === 'fail') {
      const conflicts = await findConflicts(ctx, s, meta, label);
      if (conflicts.first !== null) throw conflictError(label, target, conflicts.count, conflicts.first, false);
    } else {
      // `replace` checks nothing in Redis, but a corrupt checkpoint must still be refused before the first write.
      await readCheckedRecords(ctx.bank, meta, label, () => undefined);
    }
    return writeRecords(ctx, s, meta, label, target);
  });
  ctx.logger.info('redis.instance: restored', { resource: label, target: describeInstance(target.instance, target.db), keys: restored });
}
