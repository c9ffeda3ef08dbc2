/**
 * Garbage collection: mark (every chunk a checkpoint references) and sweep, in two steps so that a
 * running operation never loses a chunk it counts on (the "fossil" scheme of Duplicacy's prune):
 *
 * 1. A pack none of whose chunks is referenced becomes a fossil: its index moves to
 *    `chunks/fossils/<pack>`, so no new writer deduplicates against it, but its bytes stay. A pack
 *    partly referenced has its live chunks copied to a new pack first, then becomes a fossil.
 * 2. A fossil is deleted once no operation that was running when it was made is still running (with
 *    none running, at once). If a checkpoint references one of its chunks by then (a writer that had
 *    loaded the index before step 1 deduplicated against it), the fossil is put back instead.
 *
 * Packs written since the oldest running operation began are not even considered, and GC holds an
 * exclusive lease, so two collectors never race each other.
 */
import { GC_LEASE_OWNER, PACKS, PACK_INDEXES, FOSSILS, packCreatedAt, packIndexKey, packKey } from '../layout.js';
import type { Lease } from '../port.js';
import { sortableTimestamp } from '../../common/ids.js';
import { bwkError } from '../../core/errors.js';
import { collectReferences } from './references.js';
import { deleteFossil, listFossils, readFossil, restoreFossil, writeFossil } from './fossils.js';
import type { PackIndex } from './pack-index.js';
import { PackWriter } from './pack-writer.js';
import type { ChunkStore } from './store.js';

const LEASE_TTL_MS = 5 * 60_000;
/** Clock skew allowed between the hosts writing to one bank, by default. */
export const DEFAULT_SKEW_MS = 60_000;
/** Partly used packs are rewritten only when at least this share of their bytes is unused. */
const REPACK_UNUSED = 0.05;
const OPERATION_LEASE = /^operation-/;

export interface GcReport {
  referenced_chunks: number;
  packs_before: number;
  packs_fossilized: number;
  packs_repacked: number;
  fossils_deleted: number;
  fossils_restored: number;
  fossils_waiting: number;
  orphan_packs_deleted: number;
  chunks_removed: number;
  bytes_freed: number;
  /** Packs too new to judge: written since the oldest running operation began. */
  packs_too_new: number;
  /** Leftovers of pack writes a killed process never finished. */
  temporaries_deleted: number;
}

export interface GcOptions {
  now?: () => Date;
  /**
   * How far apart the clocks of the hosts writing to this bank may be: packs this much older than
   * the oldest running operation (or than now) are the newest GC judges. 0 on a single host.
   */
  skewMs?: number;
}

async function liveOperations(store: ChunkStore, now: number): Promise<Lease[]> {
  return (await store.bank.listLeases()).filter((l) => OPERATION_LEASE.test(l.owner) && l.expiresAt > now);
}

export async function collectGarbage(store: ChunkStore, options: GcOptions = {}): Promise<GcReport> {
  const now = options.now ?? (() => new Date());
  const bank = store.bank;
  let lease = await bank.acquireLease(GC_LEASE_OWNER, LEASE_TTL_MS, { purpose: 'bank gc', startedAt: now().toISOString() });
  const renew = setInterval(() => { void bank.renewLease(lease, LEASE_TTL_MS).then((l) => { lease = l; }, () => undefined); }, LEASE_TTL_MS / 3);
  renew.unref();
  try {
    return await sweep(store, now, options.skewMs ?? DEFAULT_SKEW_MS);
  } finally {
    clearInterval(renew);
    await bank.releaseLease(lease);
  }
}

async function sweep(store: ChunkStore, now: () => Date, skewMs: number): Promise<GcReport> {
  const bank = store.bank;
  const report: GcReport = {
    referenced_chunks: 0, packs_before: 0, packs_fossilized: 0, packs_repacked: 0, fossils_deleted: 0, fossils_restored: 0,
    fossils_waiting: 0, orphan_packs_deleted: 0, chunks_removed: 0, bytes_freed: 0, packs_too_new: 0, temporaries_deleted: 0,
  };
  const started = now();
  const running = await liveOperations(store, started.getTime());
  const oldest = Math.min(started.getTime(), ...running.map((l) => Date.parse(String(l.data['startedAt'] ?? '')) || 0));
  const cutoff = sortableTimestamp(new Date(oldest - skewMs));

  const index = await store.refresh();
  const refs = await collectReferences(store);
  if (refs.unreadable.length > 0) {
    throw bwkError('BWK_ERR_BANK_CHECK_FAILED', { bank: store.label, summary: `${refs.unreadable.length} chunk list(s) cannot be read (first: ${refs.unreadable[0]!.key}: ${refs.unreadable[0]!.reason}); GC will not guess what is unused` });
  }
  report.referenced_chunks = refs.ids.size;
  const indexes = index.indexes();
  report.packs_before = indexes.length;

  // Step 2 first, for fossils of earlier runs: put back what is referenced again, delete what nobody can need.
  const stillRunning = new Set(running.map((l) => `${l.owner}\0${l.token}`));
  for (const fossil of await listFossils(store)) {
    if (fossil.index.chunks.some(([id]) => refs.ids.has(id) && !index.has(id))) {
      await restoreFossil(store, fossil);
      report.fossils_restored++;
    } else if (fossil.waiting_for.some((w) => stillRunning.has(`${w.owner}\0${w.token}`))) {
      report.fossils_waiting++;
    } else {
      report.bytes_freed += await deleteFossil(store, fossil.pack);
      report.fossils_deleted++;
    }
  }

  // Step 1: fossilize unused packs, rewriting the used part of mostly-unused ones.
  const made: PackIndex[] = [];
  const repack = new PackWriter(await store.packSink());
  for (const pack of indexes) {
    if (packCreatedAt(pack.pack) >= cutoff) {
      report.packs_too_new++;
      continue;
    }
    // A chunk is live here only if referenced and this pack is the copy the index serves.
    const live = pack.chunks.filter(([id]) => refs.ids.has(id) && index.get(id)?.pack === pack.pack);
    const total = pack.chunks.reduce((n, c) => n + c[2], 0);
    const unused = total - live.reduce((n, c) => n + c[2], 0);
    if (unused === 0 || (live.length > 0 && unused < total * REPACK_UNUSED)) continue;
    // Stored blobs are bound to their chunk id, not to a pack: they move as they are.
    for (const [id, offset, length, size] of live) await repack.add(id, await bank.getObjectRange(packKey(pack.pack), offset, length), size);
    report.chunks_removed += pack.chunks.length - live.length;
    if (live.length > 0) report.packs_repacked++;
    made.push(pack);
  }
  await repack.flush();
  report.bytes_freed -= repack.storedBytes;
  // Fossils wait for every operation running now (they might have loaded an index listing these packs).
  const afterRunning = await liveOperations(store, now().getTime());
  for (const pack of made) {
    await writeFossil(store, { pack: pack.pack, fossilized_at: now().toISOString(), waiting_for: afterRunning.map((l) => ({ owner: l.owner, token: l.token })), index: pack });
    await bank.deleteObject(packIndexKey(pack.pack));
    report.packs_fossilized++;
  }
  // Operations are checked after the indexes moved: one that began later loaded an index without these packs.
  const runningNow = await liveOperations(store, now().getTime());
  if (runningNow.length === 0) {
    for (const { pack } of made) {
      // Still a fossil: a writer finishing meanwhile may have put it back.
      if ((await readFossil(store, pack)) === null) continue;
      report.bytes_freed += await deleteFossil(store, pack);
      report.fossils_deleted++;
    }
  } else {
    report.fossils_waiting += made.length;
  }

  // Packs with neither index nor fossil are the leftovers of a writer that died between the two.
  await store.refresh();
  const known = new Set([...index.indexes().map((i) => i.pack), ...(await bank.listObjects(FOSSILS)).map((k) => k.slice(FOSSILS.length))]);
  for (const key of await bank.listObjects(PACKS)) {
    const pack = key.slice(PACKS.length);
    if (known.has(pack) || packCreatedAt(pack) >= cutoff) continue;
    report.bytes_freed += (await bank.statObject(key))?.size ?? 0;
    await bank.deleteObject(key);
    report.orphan_packs_deleted++;
  }
  // Half-written packs of a killed writer (the fs bank's temp files), as old as the cut-off.
  const cutoffDate = new Date(oldest - skewMs);
  for (const prefix of [PACKS, PACK_INDEXES]) report.temporaries_deleted += (await bank.removeStaleTemporaries?.(prefix, cutoffDate)) ?? 0;
  return report;
}
