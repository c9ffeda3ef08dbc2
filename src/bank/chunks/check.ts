/**
 * `bulwark bank check`: is every chunk a checkpoint references in the bank, and intact? Structure
 * first (indexes readable, packs present and long enough, chunk lists readable, every referenced
 * chunk indexed); with `readData`, every chunk of every (or N% of the) packs is read, decrypted,
 * decompressed and hashed against its id. Unused chunks and orphan packs are reported, not failed:
 * they cost space, not data, and GC removes them.
 */
import { randomInt } from 'node:crypto';
import { PACKS, packIndexKey, packKey } from '../layout.js';
import { isShortRange } from '../object-rules.js';
import type { RunItem } from './codec-worker.js';
import { collectReferences } from './references.js';
import { listFossils } from './fossils.js';
import type { PackIndex } from './pack-index.js';
import type { ChunkStore } from './store.js';

const LISTED = 20;

export interface CheckOptions {
  readData?: boolean;
  /** With readData: the share of packs read, 1..100 (a random sample each run). */
  percent?: number;
}

export interface CheckReport {
  ok: boolean;
  packs: number;
  chunks: number;
  chunk_lists: number;
  referenced_chunks: number;
  /** Referenced but in no pack: data is lost for the checkpoints naming them. */
  missing_chunks: number;
  missing: { id: string; referenced_by: string }[];
  /** Read and not matching their id (readData only). */
  corrupt_chunks: number;
  corrupt: { id: string; pack: string; reason: string }[];
  /** Indexed packs that are absent or shorter than their index says. */
  damaged_packs: { pack: string; reason: string }[];
  unreadable: { key: string; reason: string }[];
  unused_chunks: number;
  /** Packs with no index (a writer died between pack and index): GC deletes them. */
  orphan_packs: number;
  fossils: number;
  packs_read: number;
  bytes_read: number;
}

/** Stored bytes read and opened in one piece: small enough that a few in flight stay a few MiB. */
const RUN_BYTES = 4 * 1024 * 1024;

type PackChunk = PackIndex['chunks'][number];

/** A pack's chunks in stored order, cut into runs of back-to-back chunks of at most RUN_BYTES. */
function packRuns(pack: PackIndex): PackChunk[][] {
  const sorted = [...pack.chunks].sort((a, b) => a[1] - b[1]);
  const runs: PackChunk[][] = [];
  let run: PackChunk[] = [];
  let start = 0;
  let end = 0;
  for (const c of sorted) {
    if (run.length > 0 && (c[1] !== end || c[1] + c[2] - start > RUN_BYTES)) {
      runs.push(run);
      run = [];
    }
    if (run.length === 0) start = c[1];
    run.push(c);
    end = c[1] + c[2];
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/**
 * Reads every chunk of the chosen packs back and opens it (decrypt, decompress, hash against its id).
 * Runs of chunks are read by range and opened in a worker, which sends back only sizes and the first
 * failure: no plaintext crosses threads. Several runs are in flight across packs, so reading the
 * next overlaps opening this one while memory stays at a few runs.
 */
async function readPacks(store: ChunkStore, packs: PackIndex[], report: CheckReport): Promise<void> {
  const pool = await store.pool();
  const fail = (pack: string, id: string, reason: string): void => {
    report.corrupt_chunks++;
    if (report.corrupt.length < LISTED) report.corrupt.push({ id, pack, reason });
  };
  const jobs = packs.flatMap((pack) => packRuns(pack).map((run, i) => ({ pack, run, first: i === 0 })));
  const damaged = new Set<string>();
  /** Reads and opens run[from..]; returns where to go on after a chunk that failed, or null when done. */
  const part = async (pack: string, run: PackChunk[], from: number): Promise<number | null> => {
    const offset = run[from]![1];
    const length = run.at(-1)![1] + run.at(-1)![2] - offset;
    let blob: Buffer;
    try {
      blob = await store.bank.getObjectRange(packKey(pack), offset, length);
    } catch (err) {
      if (!isShortRange(err)) {
        // Unreadable (absent, I/O error): reported once for the pack, whose other runs are not tried.
        if (!damaged.has(pack)) report.damaged_packs.push({ pack, reason: (err as Error).message });
        damaged.add(pack);
        return null;
      }
      // The pack is shorter than its index says (the structure pass reported it): chunk by chunk, to
      // name exactly the ones that lie past its end.
      if (run.length - from === 1) {
        fail(pack, run[from]![0], 'lies beyond the end of its pack');
        return null;
      }
      for (let i = from; i < run.length; i++) await part(pack, [run[i]!], 0);
      return null;
    }
    report.bytes_read += length;
    const items = run.slice(from).map(([id, at, len]): RunItem => [at - offset, len, id]);
    const reply = await pool.openRun(blob, items, false);
    reply.sizes.forEach((size, i) => {
      const [id, , , expected] = run[from + i]!;
      if (size !== expected) fail(pack, id, `holds ${size} bytes, the index says ${expected}`);
    });
    if (reply.failed === null) return null;
    const [id] = run[from + reply.failed.index]!;
    fail(pack, id, `chunk ${id}: ${reply.failed.reason}`);
    // Go on after the corrupt chunk: a check reports every one, not just the first.
    return from + reply.failed.index + 1 < run.length ? from + reply.failed.index + 1 : null;
  };
  const one = async ({ pack, run, first }: (typeof jobs)[number]): Promise<void> => {
    if (damaged.has(pack.pack)) return;
    let from: number | null = 0;
    while (from !== null) from = await part(pack.pack, run, from);
    if (first && !damaged.has(pack.pack)) report.packs_read++;
  };
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < jobs.length) await one(jobs[next++]!);
  };
  await Promise.all(Array.from({ length: pool.size * 2 }, lane));
}

export async function checkBank(store: ChunkStore, options: CheckOptions = {}): Promise<CheckReport> {
  const report: CheckReport = {
    ok: false,
    packs: 0,
    chunks: 0,
    chunk_lists: 0,
    referenced_chunks: 0,
    missing_chunks: 0,
    missing: [],
    corrupt_chunks: 0,
    corrupt: [],
    damaged_packs: [],
    unreadable: [],
    unused_chunks: 0,
    orphan_packs: 0,
    fossils: 0,
    packs_read: 0,
    bytes_read: 0,
  };
  const index = await store.index();
  await index.refresh((pack, reason) => report.unreadable.push({ key: packIndexKey(pack), reason }));
  const packs = index.indexes();
  report.packs = packs.length;
  report.chunks = index.chunkCount;

  const stored = new Set((await store.bank.listObjects(PACKS)).map((k) => k.slice(PACKS.length)));
  const fossilRecords = await listFossils(store);
  const fossils = new Set(fossilRecords.map((f) => f.pack));
  report.fossils = fossils.size;
  for (const pack of packs) {
    if (!stored.has(pack.pack)) {
      report.damaged_packs.push({ pack: pack.pack, reason: 'indexed but absent' });
      continue;
    }
    const end = pack.chunks.reduce((m, c) => Math.max(m, c[1] + c[2]), 0);
    const size = (await store.bank.statObject(packKey(pack.pack)))?.size ?? 0;
    if (size < end) report.damaged_packs.push({ pack: pack.pack, reason: `holds ${size} bytes, its index needs ${end}` });
  }
  const indexed = new Set(packs.map((p) => p.pack));
  report.orphan_packs = [...stored].filter((p) => !indexed.has(p) && !fossils.has(p)).length;

  const refs = await collectReferences(store);
  report.chunk_lists = refs.lists;
  report.unreadable.push(...refs.unreadable);
  report.referenced_chunks = refs.ids.size;
  // A referenced chunk in a fossil is safe: the next GC puts its pack back.
  const fossilIds = new Set(fossilRecords.flatMap((f) => f.index.chunks.map(([id]) => id)));
  for (const id of refs.ids) {
    if (index.has(id) || fossilIds.has(id)) continue;
    report.missing_chunks++;
    if (report.missing.length < LISTED) report.missing.push({ id, referenced_by: refs.firstSeen.get(id) ?? '?' });
  }
  report.unused_chunks = [...packs].reduce((n, p) => n + p.chunks.filter(([id]) => !refs.ids.has(id)).length, 0);

  if (options.readData) {
    const percent = options.percent ?? 100;
    // A pack found absent above is reported already; reading it again would only repeat that.
    const present = packs.filter((p) => stored.has(p.pack));
    const chosen = percent >= 100 ? present : present.filter(() => randomInt(10_000) < percent * 100);
    // Even a small sample reads something: a check that read nothing would prove nothing.
    if (chosen.length === 0 && present.length > 0) chosen.push(present[randomInt(present.length)]!);
    await readPacks(store, chosen, report);
  }
  report.ok =
    report.missing_chunks === 0 && report.corrupt_chunks === 0 && report.damaged_packs.length === 0 && report.unreadable.length === 0;
  return report;
}
