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
import type { References } from './references.js';
import { deleteFossil, listFossils, readFossil, restoreFossil, writeFossil } from './fossils.js';
import type { ChunkIndex, PackIndex } from './pack-index.js';
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
  const renew = setInterval(() => {
    void bank.renewLease(lease, LEASE_TTL_MS).then(
      (l) => {
        lease = l;
      },
      () => undefined,
    );
  }, LEASE_TTL_MS / 3);
  renew.unref();
  try {
    return await sweep(store, now, options.skewMs ?? DEFAULT_SKEW_MS);
  } finally {
    clearInterval(renew);
    await bank.releaseLease(lease);
  }
}

/** What the steps of one sweep share: the bank, what is referenced, the cut-off and the report they fill. */
interface Sweep {
  store: ChunkStore;
  bank: ChunkStore['bank'];
  now: () => Date;
  /** The chunk index as loaded at the start (refreshed in place before orphans are looked for). */
  index: ChunkIndex;
  refs: References;
  /** Packs created at or after this (a sortable timestamp) are too new to judge. */
  cutoff: string;
  cutoffMs: number;
  report: GcReport;
}

/** A pack's chunks that are live: [id, offset, length, size]. */
type LiveChunks = PackIndex['chunks'];

async function sweep(store: ChunkStore, now: () => Date, skewMs: number): Promise<GcReport> {
  const report: GcReport = {
    referenced_chunks: 0,
    packs_before: 0,
    packs_fossilized: 0,
    packs_repacked: 0,
    fossils_deleted: 0,
    fossils_restored: 0,
    fossils_waiting: 0,
    orphan_packs_deleted: 0,
    chunks_removed: 0,
    bytes_freed: 0,
    packs_too_new: 0,
    temporaries_deleted: 0,
  };
  const { running, cutoff, cutoffMs } = await judgingHorizon(store, now, skewMs);
  const { index, refs } = await loadReferences(store);
  report.referenced_chunks = refs.ids.size;
  const indexes = index.indexes();
  report.packs_before = indexes.length;
  const s: Sweep = { store, bank: store.bank, now, index, refs, cutoff, cutoffMs, report };

  // Step 2 first, for fossils of earlier runs.
  await settleEarlierFossils(s, running);
  // Step 1: fossilize unused packs, rewriting the used part of mostly-unused ones.
  const made = await packsToFossilize(s, indexes);
  await fossilize(s, made);
  await deleteUnneededNewFossils(s, made);

  await deleteOrphanPacks(s);
  await removeStaleTemporaries(s);
  return report;
}

/**
 * The operations running now, and the time (ms) before which packs can be judged: the start of the
 * oldest of them (or now), less the clock skew allowed.
 */
async function judgingHorizon(
  store: ChunkStore,
  now: () => Date,
  skewMs: number,
): Promise<Pick<Sweep, 'cutoff' | 'cutoffMs'> & { running: Lease[] }> {
  const started = now();
  const running = await liveOperations(store, started.getTime());
  const oldest = Math.min(started.getTime(), ...running.map((l) => Date.parse(String(l.data['startedAt'] ?? '')) || 0));
  return { running, cutoff: sortableTimestamp(new Date(oldest - skewMs)), cutoffMs: oldest - skewMs };
}

/** The chunk index and every chunk a checkpoint references; refuses to go on if a chunk list cannot be read. */
async function loadReferences(store: ChunkStore): Promise<{ index: ChunkIndex; refs: References }> {
  const index = await store.refresh();
  const refs = await collectReferences(store);
  if (refs.unreadable.length > 0) {
    const first = refs.unreadable[0]!;
    throw bwkError('BWK_ERR_BANK_CHECK_FAILED', {
      bank: store.label,
      summary:
        `${refs.unreadable.length} chunk list(s) cannot be read (first: ${first.key}: ${first.reason}); ` +
        'GC will not guess what is unused',
    });
  }
  return { index, refs };
}

/** Fossils of earlier runs: put back what is referenced again, leave what a running operation may need, delete the rest. */
async function settleEarlierFossils(s: Sweep, running: Lease[]): Promise<void> {
  const stillRunning = new Set(running.map((l) => `${l.owner}\0${l.token}`));
  for (const fossil of await listFossils(s.store)) {
    if (fossil.index.chunks.some(([id]) => s.refs.ids.has(id) && !s.index.has(id))) {
      await restoreFossil(s.store, fossil);
      s.report.fossils_restored++;
    } else if (fossil.waiting_for.some((w) => stillRunning.has(`${w.owner}\0${w.token}`))) {
      s.report.fossils_waiting++;
    } else {
      s.report.bytes_freed += await deleteFossil(s.store, fossil.pack);
      s.report.fossils_deleted++;
    }
  }
}

/**
 * The packs old enough to judge that should become fossils: unused ones, and mostly-unused ones whose
 * live chunks this copies to a new pack first.
 */
async function packsToFossilize(s: Sweep, indexes: PackIndex[]): Promise<PackIndex[]> {
  const made: PackIndex[] = [];
  const repack = new PackWriter(await s.store.packSink());
  for (const pack of indexes) {
    if (packCreatedAt(pack.pack) >= s.cutoff) {
      s.report.packs_too_new++;
      continue;
    }
    const live = liveChunksIfRetired(s, pack);
    if (live === null) continue;
    // Stored blobs are bound to their chunk id, not to a pack: they move as they are.
    for (const [id, offset, length, size] of live) {
      const blob = await s.bank.getObjectRange(packKey(pack.pack), offset, length);
      await repack.add(id, blob, size);
    }
    s.report.chunks_removed += pack.chunks.length - live.length;
    if (live.length > 0) s.report.packs_repacked++;
    made.push(pack);
  }
  await repack.flush();
  s.report.bytes_freed -= repack.storedBytes;
  return made;
}

/** The live chunks of a pack worth retiring (none used, or enough of its bytes unused); null to keep it. */
function liveChunksIfRetired(s: Sweep, pack: PackIndex): LiveChunks | null {
  // A chunk is live here only if referenced and this pack is the copy the index serves.
  const live = pack.chunks.filter(([id]) => s.refs.ids.has(id) && s.index.get(id)?.pack === pack.pack);
  const total = pack.chunks.reduce((n, c) => n + c[2], 0);
  const unused = total - live.reduce((n, c) => n + c[2], 0);
  if (unused === 0 || (live.length > 0 && unused < total * REPACK_UNUSED)) return null;
  return live;
}

/** Moves each pack's index to a fossil waiting for every operation running now (it might have loaded the index). */
async function fossilize(s: Sweep, made: PackIndex[]): Promise<void> {
  const afterRunning = await liveOperations(s.store, s.now().getTime());
  for (const pack of made) {
    await writeFossil(s.store, {
      pack: pack.pack,
      fossilized_at: s.now().toISOString(),
      waiting_for: afterRunning.map((l) => ({ owner: l.owner, token: l.token })),
      index: pack,
    });
    await s.bank.deleteObject(packIndexKey(pack.pack));
    s.report.packs_fossilized++;
  }
}

/**
 * Deletes this run's fossils at once when no operation is running. Operations are checked after the
 * indexes moved: one that began later loaded an index without these packs.
 */
async function deleteUnneededNewFossils(s: Sweep, made: PackIndex[]): Promise<void> {
  const runningNow = await liveOperations(s.store, s.now().getTime());
  if (runningNow.length > 0) {
    s.report.fossils_waiting += made.length;
    return;
  }
  for (const { pack } of made) {
    // Still a fossil: a writer finishing meanwhile may have put it back.
    if ((await readFossil(s.store, pack)) === null) continue;
    s.report.bytes_freed += await deleteFossil(s.store, pack);
    s.report.fossils_deleted++;
  }
}

/** Packs with neither index nor fossil are the leftovers of a writer that died between the two. */
async function deleteOrphanPacks(s: Sweep): Promise<void> {
  await s.store.refresh();
  const indexed = s.index.indexes().map((i) => i.pack);
  const fossils = (await s.bank.listObjects(FOSSILS)).map((k) => k.slice(FOSSILS.length));
  const known = new Set([...indexed, ...fossils]);
  for (const key of await s.bank.listObjects(PACKS)) {
    const pack = key.slice(PACKS.length);
    if (known.has(pack) || packCreatedAt(pack) >= s.cutoff) continue;
    s.report.bytes_freed += (await s.bank.statObject(key))?.size ?? 0;
    await s.bank.deleteObject(key);
    s.report.orphan_packs_deleted++;
  }
}

/** Half-written packs of a killed writer (the fs bank's temp files), as old as the cut-off. */
async function removeStaleTemporaries(s: Sweep): Promise<void> {
  const cutoffDate = new Date(s.cutoffMs);
  for (const prefix of [PACKS, PACK_INDEXES]) {
    s.report.temporaries_deleted += (await s.bank.removeStaleTemporaries?.(prefix, cutoffDate)) ?? 0;
  }
}
