/**
 * The content-addressed chunk store of one bank: every plugin's data goes through it (via the bank
 * section). Opening it reads or creates `chunks/config.json`, derives the keys, starts the codec
 * workers and loads the pack indexes; all of that happens once per process and bank, on first use.
 */
import type { BankPlugin } from '../port.js';
import { packKey } from '../layout.js';
import { isShortRange } from '../object-rules.js';
import { bwkError, isBulwarkError } from '../../core/errors.js';
import type { ChunkRef } from '../../plugins/api.js';
import { ChunkCorruptError, isSealedObject, openObject, sealObject } from './codec.js';
import type { CodecKeys } from './codec.js';
import { openConfig } from './config.js';
import type { ChunkStoreSpec, StoredConfig } from './config.js';
import { ChunkIndex } from './pack-index.js';
import type { ChunkLocation } from './pack-index.js';
import { listFossils, restoreFossil } from './fossils.js';
import { ChunkWriter } from './chunk-writer.js';
import { CodecPool } from './pool.js';
import type { ChunkerParams } from './fastcdc.js';
import { INDIRECT_ABOVE, decodeChunkList, decodeIndirectList, encodeChunkList, encodeIndirectList, isIndirectList } from './chunk-list.js';
import type { ChunkList } from './chunk-list.js';
import type { PackSink } from './pack-writer.js';
import type { RunItem } from './codec-worker.js';
import { writeFileFromRuns } from './file-restore.js';
import type { RunBytes } from './file-restore.js';

const MiB = 1024 * 1024;
/**
 * Chunk lists are cut finer than data: a list changes where files changed, and small chunks keep
 * the rest of it shared with the previous checkpoint. Fixed, not configurable: changing them only
 * costs list deduplication.
 */
const LIST_CHUNKER: ChunkerParams = { minSize: 16 * 1024, avgSize: 64 * 1024, maxSize: 256 * 1024 };
const DEFAULT_PACK_SIZE = 16 * MiB;
const DEFAULT_LEVEL = 3;
/**
 * Restore and verify keep this many runs (and at most READ_AHEAD_BYTES of plaintext) in flight. Many:
 * a file deduplicated against data elsewhere is a run of one small chunk, and a tree of copies is
 * a long row of those, each a range read and a worker round trip.
 */
const READ_AHEAD_RUNS = 64;
const READ_AHEAD_BYTES = 32 * MiB;
/** A run (chunks back to back in a pack, read in one piece) holds at most this many bytes, stored or plain. */
const RUN_BYTES = 4 * MiB;
const RUN_CHUNKS = 1024;

interface Run {
  loc: ChunkLocation | undefined;
  refs: ChunkRef[];
  items: RunItem[];
  /** Stored bytes. */
  length: number;
  /** Plaintext bytes. */
  plain: number;
}

/** A run read: its chunks' plaintexts in order, up to the first that failed (then `error`). */
interface RunRead {
  chunks: Buffer[];
  error: Error | null;
}

/** Reads chunks one by one, keeping the ones before a failure (as a run would). */
async function settle(refs: readonly ChunkRef[], one: (r: ChunkRef) => Promise<Buffer>): Promise<RunRead> {
  const all = await Promise.allSettled(refs.map(one));
  const chunks: Buffer[] = [];
  for (const r of all) {
    if (r.status === 'rejected') return { chunks, error: r.reason instanceof Error ? r.reason : new Error(String(r.reason)) };
    chunks.push(r.value);
  }
  return { chunks, error: null };
}

interface Opened {
  config: StoredConfig;
  keys: CodecKeys;
  pool: CodecPool;
  index: ChunkIndex;
}

export const corruptError = (resource: string, reason: string): Error => bwkError('BWK_ERR_DATA_CORRUPT', { resource, reason });

export class ChunkStore {
  private opened: Promise<Opened> | undefined;
  private readonly storedListeners = new Set<(bytes: number) => void>();

  constructor(
    readonly bank: BankPlugin,
    readonly spec: ChunkStoreSpec,
    readonly label: string,
  ) {}

  private open(): Promise<Opened> {
    this.opened ??= (async () => {
      const opening = openConfig(this.bank, this.spec, this.label);
      const keysOf = ({ keys }: Awaited<typeof opening>): CodecKeys => ({ idKey: keys?.idKey ?? null, encKey: keys?.encKey ?? null });
      const keyed = opening.then(keysOf);
      // A wrong key fails `opening`, reported below; nothing else may be left to reject unheard.
      keyed.catch(() => undefined);
      const pool = new CodecPool(keyed, this.spec.workers);
      pool.warm();
      // The indexes are read while scrypt derives the key, and decoded once it is known: on a bank of
      // many packs (or on S3, a round trip each) that is most of their cost off the critical path.
      const index = new ChunkIndex(this.bank, async (key, raw) => this.decodeWith(await keyed, key, raw));
      const indexed = index.refresh();
      indexed.catch(() => undefined);
      try {
        const { config } = await opening;
        await indexed;
        return { config, keys: await keyed, pool, index };
      } catch (err) {
        await pool.close();
        throw err;
      }
    })();
    // A failed open (wrong key, bank down) is retried by the next caller rather than cached forever.
    this.opened.catch(() => {
      this.opened = undefined;
    });
    return this.opened;
  }

  /** Checks the configured key against the bank (and creates the store's config on first use). */
  async ready(): Promise<StoredConfig> {
    return (await this.open()).config;
  }

  private decodeWith(keys: CodecKeys, key: string, raw: Buffer): Buffer {
    if (keys.encKey === null) {
      if (isSealedObject(raw)) throw corruptError(`bank ${this.label}`, `${key} is encrypted but this bank is not`);
      return raw;
    }
    const plain = openObject(raw, key, keys.encKey);
    if (plain === null)
      throw corruptError(
        `bank ${this.label}`,
        `${key} fails authentication (altered, moved from another key, or not written by this bank)`,
      );
    return plain;
  }

  /** An object's stored form: sealed with the bank key (bound to `key`) on an encrypted bank, else as is. */
  private sealWith(keys: CodecKeys, key: string, data: Buffer): Buffer {
    return keys.encKey === null ? data : sealObject(data, key, keys.encKey);
  }

  /**
   * Stores a whole object (a record, a chunk list) in its stored form: sealed and bound to `key` on an
   * encrypted bank, so it cannot be read without the key nor moved to another key unnoticed.
   */
  async putSealed(key: string, data: Buffer): Promise<void> {
    await this.bank.putObject(key, this.sealWith((await this.open()).keys, key, data));
  }

  /** An object putSealed stored; BWK_ERR_DATA_CORRUPT when it was altered, moved or is not this bank's. */
  async getSealed(key: string): Promise<Buffer> {
    const raw = await this.bank.getObject(key);
    return this.decodeWith((await this.open()).keys, key, raw);
  }

  /**
   * Whether a chunk has the same id here as in `other` (both plain, or both keyed with the same id
   * key): then a copy can tell which chunks `other` lacks without reading them.
   */
  async sameChunkIds(other: ChunkStore): Promise<boolean> {
    const [a, b] = [(await this.open()).keys.idKey, (await other.open()).keys.idKey];
    return a === null || b === null ? a === b : a.equals(b);
  }

  /** Reads index objects other processes wrote since the last look. */
  async refresh(): Promise<ChunkIndex> {
    const o = await this.open();
    await o.index.refresh();
    return o.index;
  }

  async index(): Promise<ChunkIndex> {
    return (await this.open()).index;
  }

  async pool(): Promise<CodecPool> {
    return (await this.open()).pool;
  }

  /** Where packs go: this bank, its pack size, index objects sealed like every other object. */
  async packSink(tag?: string): Promise<PackSink> {
    const o = await this.open();
    return {
      ...(tag !== undefined ? { tag } : {}),
      bank: this.bank,
      packSize: this.spec.pack_size ?? DEFAULT_PACK_SIZE,
      encode: (key, data) => this.sealWith(o.keys, key, data),
      committed: (index) => o.index.add(index),
    };
  }

  /**
   * The chunks a stored chunk list names, following an indirect list through its own chunks (which
   * `listChunks` returns: they are referenced too). `plain` is the object's decoded bytes; `where`
   * names it in errors.
   */
  async resolveList(plain: Buffer, resource: string, where: string): Promise<ChunkList & { listChunks: ChunkRef[] }> {
    if (!isIndirectList(plain)) {
      const direct = decodeChunkList(plain);
      if (typeof direct === 'string') throw corruptError(resource, `${where}: ${direct}`);
      return { ...direct, listChunks: [] };
    }
    const indirect = decodeIndirectList(plain);
    if (typeof indirect === 'string') throw corruptError(resource, `${where}: ${indirect}`);
    const parts: Buffer[] = [];
    for await (const part of this.read(indirect.list, resource)) parts.push(part);
    const direct = decodeChunkList(Buffer.concat(parts));
    if (typeof direct === 'string') throw corruptError(resource, `${where}: ${direct}`);
    if (direct.size !== indirect.size || direct.chunks.length !== indirect.count)
      throw corruptError(resource, `${where}: its stored list does not match its size and count`);
    return { ...direct, listChunks: indirect.list };
  }

  /** Stores a chunk list under `key` (indirectly when long); every chunk must already be durable. */
  async putList(key: string, refs: readonly ChunkRef[], resource: string): Promise<void> {
    let body = encodeChunkList(refs);
    if (body.length > INDIRECT_ABOVE) {
      const w = await this.writer(LIST_CHUNKER);
      await w.write([body]);
      const list = await w.finish();
      await this.ensureLive(list, resource);
      body = encodeIndirectList({ size: refs.reduce((n, r) => n + r.size, 0), count: refs.length, list });
    }
    await this.putSealed(key, body);
  }

  /**
   * A writer with its own pack; `flush` it before recording the refs it returned anywhere. `tag` marks
   * its pack names (PackSink.tag).
   */
  async writer(chunker?: ChunkerParams, tag?: string): Promise<ChunkWriter> {
    const o = await this.open();
    // Fresh, so packs GC turned into fossils since the last look are not deduplicated against.
    await o.index.refresh();
    const sink = await this.packSink(tag);
    return new ChunkWriter({
      pool: o.pool,
      chunker: chunker ?? o.config.chunker,
      level: this.spec.compression?.level ?? DEFAULT_LEVEL,
      has: (id) => o.index.has(id),
      sink: {
        ...sink,
        committed: (index) => {
          sink.committed(index);
          const bytes = index.chunks.reduce((n, c) => n + c[2], 0);
          for (const listener of this.storedListeners) listener(bytes);
        },
      },
    });
  }

  /**
   * Calls `listener` with the stored size of the new chunks of each pack a writer commits (new data
   * after deduplication, compressed and sealed; GC repacks are not new data); until the returned
   * function is called. For metrics: a listener must not throw.
   */
  onDataStored(listener: (bytes: number) => void): () => void {
    this.storedListeners.add(listener);
    return () => this.storedListeners.delete(listener);
  }

  /** Stored bytes of every chunk in the packs indexed so far (what the bank holds as chunk data). */
  async storedBytes(): Promise<number> {
    const index = await this.refresh();
    let bytes = 0;
    for (const pack of index.indexes()) for (const c of pack.chunks) bytes += c[2];
    return bytes;
  }

  /** Whether every chunk is in the bank (refreshing the index once if one seems missing). */
  async hasAll(refs: readonly ChunkRef[]): Promise<boolean> {
    const o = await this.open();
    if (refs.every((r) => o.index.has(r.id))) return true;
    await o.index.refresh();
    return refs.every((r) => o.index.has(r.id));
  }

  /**
   * Before a chunk list is recorded: every chunk must be in a live pack. A chunk this writer
   * deduplicated against, or reused, may since have become a fossil (GC ran meanwhile): its fossil is
   * put back, which is safe because GC keeps a fossil's bytes while an operation that was running
   * when it was made (this one) still runs. A chunk found nowhere fails the write.
   */
  async ensureLive(refs: readonly ChunkRef[], resource: string): Promise<void> {
    const o = await this.open();
    await o.index.refresh();
    let missing = new Set(refs.filter((r) => !o.index.has(r.id)).map((r) => r.id));
    if (missing.size === 0) return;
    for (const fossil of await listFossils(this)) {
      if (!fossil.index.chunks.some(([id]) => missing.has(id))) continue;
      await restoreFossil(this, fossil);
      o.index.add(fossil.index);
    }
    missing = new Set([...missing].filter((id) => !o.index.has(id)));
    if (missing.size > 0)
      throw corruptError(
        resource,
        `chunk ${[...missing][0]} vanished from the bank while the operation ran (${missing.size} chunk(s)); run it again`,
      );
  }

  /** Where a chunk is: a live pack, or (GC ran since the reference was recorded) a fossil's pack. */
  private async locate(o: Opened, id: string): Promise<ChunkLocation | undefined> {
    let loc = o.index.get(id);
    if (loc !== undefined) return loc;
    await o.index.refresh();
    loc = o.index.get(id);
    if (loc !== undefined) return loc;
    for (const fossil of await listFossils(this)) {
      const hit = fossil.index.chunks.find(([cid]) => cid === id);
      if (hit) return { pack: fossil.pack, offset: hit[1], length: hit[2], size: hit[3] };
    }
    return undefined;
  }

  /** One chunk's plaintext, checked against its id; BWK_ERR_DATA_CORRUPT naming `resource` otherwise. */
  async readChunk(ref: ChunkRef, resource: string): Promise<Buffer> {
    const o = await this.open();
    const loc = await this.locate(o, ref.id);
    if (loc === undefined) throw corruptError(resource, `chunk ${ref.id} is missing from the bank`);
    let blob: Buffer;
    try {
      blob = await this.bank.getObjectRange(packKey(loc.pack), loc.offset, loc.length);
    } catch (err) {
      if (isShortRange(err)) throw corruptError(resource, `pack ${loc.pack} holding chunk ${ref.id} is truncated`);
      if (!isBulwarkError(err, 'BWK_ERR_BANK_OBJECT_NOT_FOUND')) throw err;
      // GC may have moved the chunk to a new pack since this process read the index.
      await o.index.refresh();
      const moved = o.index.get(ref.id);
      if (moved === undefined || moved.pack === loc.pack)
        throw corruptError(resource, `pack ${loc.pack} holding chunk ${ref.id} is missing`);
      blob = await this.bank.getObjectRange(packKey(moved.pack), moved.offset, moved.length);
    }
    let data: Buffer;
    try {
      data = await o.pool.open(blob, ref.id);
    } catch (err) {
      if (err instanceof ChunkCorruptError) throw corruptError(resource, err.message);
      throw err;
    }
    if (data.length !== ref.size) throw corruptError(resource, `chunk ${ref.id} holds ${data.length} bytes, ${ref.size} expected`);
    return data;
  }

  /**
   * The chunks' plaintext in order, read ahead in parallel (up to `aheadBytes` of it), each checked
   * before it is yielded.
   */
  async *read(refs: readonly ChunkRef[], resource: string, signal?: AbortSignal, aheadBytes = READ_AHEAD_BYTES): AsyncGenerator<Buffer> {
    const o = await this.open();
    const ahead: { run: Promise<RunRead>; bytes: number }[] = [];
    let next = 0;
    let inFlight = 0;
    const fill = async (): Promise<void> => {
      while (next < refs.length && ahead.length < READ_AHEAD_RUNS && (ahead.length === 0 || inFlight + RUN_BYTES <= aheadBytes)) {
        const run = await this.nextRun(o, refs, next);
        next += run.refs.length;
        const bytes = run.refs.reduce((n, r) => n + r.size, 0);
        inFlight += bytes;
        const p = this.readRun(o, run, resource);
        p.catch(() => undefined);
        ahead.push({ run: p, bytes });
      }
    };
    try {
      await fill();
      while (ahead.length > 0) {
        signal?.throwIfAborted();
        const head = ahead.shift()!;
        const { chunks, error } = await head.run;
        inFlight -= head.bytes;
        await fill();
        for (const c of chunks) yield c;
        if (error !== null) throw error;
      }
    } finally {
      await Promise.allSettled(ahead.map((a) => a.run));
    }
  }

  /**
   * Writes the chunks' plaintext into the open file `fd` from offset 0, leaving 64 KiB blocks of
   * zeros as holes, and returns its BLAKE3 (hex); with `fd` null, only hashes it. One codec worker
   * opens, hashes and writes every run (file-restore.ts); each chunk is checked against its id as
   * `read` checks it. Settles only once nothing more will be written to `fd`.
   */
  async writeFile(refs: readonly ChunkRef[], fd: number | null, resource: string, signal?: AbortSignal): Promise<string> {
    const o = await this.open();
    const readRun = async (run: Run): Promise<RunBytes> => {
      const blob = await this.storedRun(run);
      if (blob !== null) return { blob, items: run.items };
      return { plains: await Promise.all(run.refs.map((r) => this.readChunk(r, resource))) };
    };
    return writeFileFromRuns(
      refs,
      fd ?? -1,
      {
        nextRun: (all, from) => this.nextRun(o, all, from),
        readRun: (run) => readRun(run as Run),
        writer: o.pool.fileWriter(),
        corrupt: (reason) => corruptError(resource, reason),
      },
      signal,
    );
  }

  /**
   * The refs from `from` on whose chunks lie back to back in one pack (as a first protect writes
   * them), up to RUN_BYTES: read with one range read and opened with one worker message.
   */
  private async nextRun(o: Opened, refs: readonly ChunkRef[], from: number): Promise<Run> {
    const first = refs[from]!;
    const loc = await this.locate(o, first.id);
    const run: Run = { loc, refs: [first], items: [[0, loc?.length ?? 0, first.id]], length: loc?.length ?? 0, plain: first.size };
    if (loc === undefined) return run;
    for (let i = from + 1; i < refs.length && run.refs.length < RUN_CHUNKS; i++) {
      const ref = refs[i]!;
      const at = o.index.get(ref.id);
      if (at === undefined || at.pack !== loc.pack || at.offset !== loc.offset + run.length) break;
      if (run.length + at.length > RUN_BYTES || run.plain + ref.size > RUN_BYTES) break;
      run.refs.push(ref);
      run.items.push([run.length, at.length, ref.id]);
      run.length += at.length;
      run.plain += ref.size;
    }
    return run;
  }

  /**
   * A run's stored bytes in one range read, or null when its chunks are to be read one by one: the
   * index no longer places it, or its pack is shorter or gone (GC may have moved the chunks), cases
   * the single-chunk path (readChunk) knows.
   */
  private async storedRun(run: Run): Promise<Buffer | null> {
    if (run.loc === undefined) return null;
    try {
      return await this.bank.getObjectRange(packKey(run.loc.pack), run.loc.offset, run.length);
    } catch (err) {
      if (!isShortRange(err) && !isBulwarkError(err, 'BWK_ERR_BANK_OBJECT_NOT_FOUND')) throw err;
      return null;
    }
  }

  /** A run's plaintexts, each checked; the ones before a failing chunk come with its error. */
  private async readRun(o: Opened, run: Run, resource: string): Promise<RunRead> {
    // A lone chunk is opened by itself (one worker message either way).
    const blob = run.refs.length === 1 ? null : await this.storedRun(run);
    if (blob === null) return settle(run.refs, (r) => this.readChunk(r, resource));
    const reply = await o.pool.openRun(blob, run.items, true);
    const chunks: Buffer[] = [];
    const data = Buffer.from(reply.data!.buffer, reply.data!.byteOffset, reply.data!.byteLength);
    let at = 0;
    for (let i = 0; i < reply.sizes.length; i++) {
      const ref = run.refs[i]!;
      const size = reply.sizes[i]!;
      if (size !== ref.size) return { chunks, error: corruptError(resource, `chunk ${ref.id} holds ${size} bytes, ${ref.size} expected`) };
      chunks.push(data.subarray(at, at + size));
      at += size;
    }
    const failed = reply.failed;
    if (failed === null) return { chunks, error: null };
    return { chunks, error: corruptError(resource, new ChunkCorruptError(run.refs[failed.index]!.id, failed.reason).message) };
  }

  async close(): Promise<void> {
    const opened = this.opened;
    this.opened = undefined;
    if (opened)
      await opened.then(
        (o) => o.pool.close(),
        () => undefined,
      );
  }
}
