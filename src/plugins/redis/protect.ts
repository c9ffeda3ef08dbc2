/**
 * Protect `main`: SCANs every key of the instance's database and streams TYPE, PTTL and DUMP of each
 * into the `records` object (format in record-format.ts), then writes meta.json last. Keys are fetched
 * in pipelined batches whose size adapts to the dumped sizes, so memory holds about one batch of
 * values whatever the database size; only a 16-byte digest per key is kept, to drop the duplicates
 * SCAN may return while Redis rehashes.
 */
import { createHash } from 'node:crypto';
import type { ProtectContext } from '../api.js';
import { bwkError } from '../../core/errors.js';
import { requireInstance } from './config.js';
import type { InstanceConfig } from './config.js';
import { serverVersion, withSession } from './connection.js';
import type { RedisSession } from './connection.js';
import { FORMAT_NAME, FORMAT_VERSION, META_OBJECT, encodeMeta, resourceLabel } from './meta.js';
import { RECORDS_MAGIC, RECORDS_OBJECT, encodeRecord } from './record-format.js';
import type { KeyRecord } from './record-format.js';

const SCAN_COUNT = 1000;
const FIRST_BATCH = 100;
const MAX_BATCH = 1000;
/** Aim for about this many payload bytes per pipelined batch. */
const TARGET_BATCH_BYTES = 8 * 1024 * 1024;

export interface SavedInfo {
  [key: string]: unknown;
  keys: number;
  bytes: number;
  by_type: Record<string, number>;
  skipped: { vanished: number; expired: number };
  redis_version: string;
}

/** Keys already seen in this scan, by a 128-bit digest (a collision is ~2^-64 likely at 2^32 keys). */
class SeenKeys {
  private readonly digests = new Set<string>();

  /** True the first time `key` is added. */
  add(key: Buffer): boolean {
    const d = createHash('sha256').update(key).digest().subarray(0, 16).toString('latin1');
    if (this.digests.has(d)) return false;
    this.digests.add(d);
    return true;
  }
}

async function* scanKeys(s: RedisSession, signal: AbortSignal): AsyncGenerator<Buffer[]> {
  let cursor = '0';
  do {
    signal.throwIfAborted();
    const [next, keys] = await s.client.scanBuffer(cursor, 'COUNT', SCAN_COUNT).catch((err: unknown) => {
      throw s.failure('SCAN', err);
    });
    cursor = next.toString('latin1');
    if (keys.length > 0) yield keys;
  } while (cursor !== '0');
}

type Dumped = KeyRecord | 'vanished' | 'expired';

/** TYPE, PTTL and DUMP of each key in one pipeline round trip. */
async function dumpBatch(s: RedisSession, keys: Buffer[]): Promise<Dumped[]> {
  const pipeline = s.client.pipeline();
  for (const key of keys) pipeline.type(key).pttl(key).dumpBuffer(key);
  const replies = await pipeline.exec().catch((err: unknown) => {
    throw s.failure('DUMP', err);
  });
  if (replies === null || replies.length !== keys.length * 3) throw s.failure('DUMP', new Error('the pipeline returned no replies'));
  return keys.map((key, i): Dumped => {
    const [[typeErr, type], [ttlErr, pttl], [dumpErr, payload]] = replies.slice(i * 3, i * 3 + 3) as [
      [Error | null, unknown],
      [Error | null, unknown],
      [Error | null, unknown],
    ];
    const err = typeErr ?? ttlErr ?? dumpErr;
    if (err) throw s.failure('DUMP', err);
    // A key deleted (or expired) between SCAN and these commands answers none / -2 / nil.
    if (payload === null || type === 'none' || pttl === -2) return typeof pttl === 'number' && pttl > 0 ? 'expired' : 'vanished';
    // PTTL 0: it expires within the millisecond; RESTORE would read 0 as "no expiry" and resurrect it.
    if (pttl === 0) return 'expired';
    return { key, type: String(type), pttl: Number(pttl), payload: payload as Buffer };
  });
}

/** Runs the protect `main` hook for one Redis instance. */
export async function protectInstance(ctx: ProtectContext, instances: ReadonlyMap<string, InstanceConfig>): Promise<void> {
  const label = resourceLabel(ctx.resource.id);
  const inst = requireInstance(instances, ctx.resource.id);
  // A retry must not leave a previous attempt's meta pointing at this attempt's records.
  await ctx.bank.delete(META_OBJECT);
  const info: SavedInfo = { keys: 0, bytes: 0, by_type: {}, skipped: { vanished: 0, expired: 0 }, redis_version: 'unknown' };

  await withSession(inst, inst.db, label, ctx.signal, async (s) => {
    info.redis_version = await serverVersion(s);
    const approxTotal = await s.client.dbsize().catch((err: unknown) => {
      throw s.failure('DBSIZE', err);
    });
    const hash = createHash('sha256');
    const seen = new SeenKeys();
    const emit = (b: Buffer): Buffer => {
      hash.update(b);
      info.bytes += b.length;
      return b;
    };

    async function* encodeBatch(keys: Buffer[]): AsyncGenerator<Buffer, number> {
      let payloadBytes = 0;
      for (const d of await dumpBatch(s, keys)) {
        if (d === 'vanished' || d === 'expired') {
          info.skipped[d]++;
          continue;
        }
        info.keys++;
        info.by_type[d.type] = (info.by_type[d.type] ?? 0) + 1;
        payloadBytes += d.payload.length + d.key.length;
        yield emit(encodeRecord(d));
      }
      ctx.progress({ done: info.keys, total: Math.max(approxTotal, info.keys), unit: 'items' });
      return payloadBytes;
    }

    async function* records(): AsyncGenerator<Buffer> {
      yield emit(RECORDS_MAGIC);
      let pending: Buffer[] = [];
      let batchSize = FIRST_BATCH;
      const next = async function* (): AsyncGenerator<Buffer> {
        ctx.signal.throwIfAborted();
        const batch = pending.slice(0, batchSize);
        pending = pending.slice(batch.length);
        const bytes = yield* encodeBatch(batch);
        // Size the next batch so its values stay near TARGET_BATCH_BYTES: big values, small batches.
        const perKey = Math.max(1, bytes / batch.length);
        batchSize = Math.max(1, Math.min(MAX_BATCH, Math.floor(TARGET_BATCH_BYTES / perKey)));
      };
      for await (const scanned of scanKeys(s, ctx.signal)) {
        for (const key of scanned) if (seen.add(key)) pending.push(key);
        while (pending.length >= batchSize) yield* next();
      }
      while (pending.length > 0) yield* next();
    }

    const { size } = await ctx.bank.putStream(RECORDS_OBJECT, records());
    if (size !== info.bytes) {
      throw bwkError('BWK_ERR_BANK_IO', { key: RECORDS_OBJECT, reason: `the bank stored ${size} bytes of ${info.bytes} sent` });
    }
    await ctx.bank.put(
      META_OBJECT,
      encodeMeta({
        format: FORMAT_NAME,
        version: FORMAT_VERSION,
        instance: inst.name,
        db: inst.db,
        redis_version: info.redis_version,
        records: { object: RECORDS_OBJECT, count: info.keys, bytes: info.bytes, sha256: hash.digest('hex') },
        by_type: info.by_type,
        skipped: info.skipped,
      }),
    );
  });
  if (info.skipped.vanished + info.skipped.expired > 0) {
    ctx.logger.info('redis.instance: keys gone before they could be dumped', { resource: label, ...info.skipped });
  }
  ctx.progress({ done: info.keys, total: info.keys, unit: 'items' });
  await ctx.saveInfo(info);
}
