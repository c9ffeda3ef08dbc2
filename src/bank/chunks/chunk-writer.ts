/**
 * Turns streams into stored chunks. The main thread reads and cuts (FastCDC); the codec workers hash;
 * chunks the bank already holds are dropped without being compressed; new ones are sealed by the
 * workers and appended to this writer's pack. One bounded window of chunks is in flight across all
 * the streams of a writer (a directory's small files overlap instead of waiting for each other),
 * so memory stays constant and a slow bank slows the reader down.
 */
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { ChunkRef, FileRescan } from '../../plugins/api.js';
import { Chunker } from './fastcdc.js';
import type { ChunkerParams } from './fastcdc.js';
import type { CodecPool, HashedChunk } from './pool.js';
import type { IngestedFile } from './file-ingest.js';
import { LISTED_FILE_FLAGS } from './local-file.js';
import { PackWriter } from './pack-writer.js';
import type { PackSink } from './pack-writer.js';

export interface WriterDeps {
  pool: CodecPool;
  chunker: ChunkerParams;
  level: number;
  /** Whether a committed pack already holds the chunk. */
  has(id: string): boolean;
  sink: PackSink;
}

/** A batch of files read and sealed by a worker, appended file by file. */
export interface FilesRead {
  files: IngestedFile[];
  /** Appends file `i`'s chunks (a `data` one) to the list; returns how many. */
  append(i: number): Promise<number>;
}

/** What one stream added to the writer's list. */
export interface Written {
  count: number;
  size: number;
}

/** New bytes a rescanned file may have and still be appended from its scan (held in the workers meanwhile). */
const RESCAN_NEW_MAX = 32 * 1024 * 1024;

export class ChunkWriter {
  private readonly pack: PackWriter;
  /** Ids this writer has stored or is storing: a repeat within one writer is a dedup hit too. */
  private readonly mine = new Set<string>();
  /** Every chunk in order; a slot is filled when its id is known. */
  private readonly refs: (ChunkRef | undefined)[] = [];
  private readonly inflight: { index: number; done: Promise<ChunkRef> }[] = [];
  /**
   * Where a chunk spanning pieces of the stream is assembled. Nothing keeps a reference to a piece
   * once it is processed, so a caller may reuse its read buffer (and memory stays flat: fresh
   * buffers per read would pile up as garbage faster than the collector frees them).
   */
  private assembly: Uint8Array | null = null;

  constructor(private readonly deps: WriterDeps) {
    this.pack = new PackWriter(deps.sink);
  }

  private get window(): number {
    return this.deps.pool.size * 4 + 4;
  }

  /** Chunks appended so far (written or reused). */
  get length(): number {
    return this.refs.length;
  }

  private async store(data: Uint8Array): Promise<ChunkRef> {
    const size = data.length; // before the buffer moves to a worker (it reads as empty after)
    return this.storeHashed(await this.deps.pool.hash(data, true), size);
  }

  /** Seals and packs a chunk a worker holds, unless the bank or this writer has it already. */
  private async storeHashed(hashed: HashedChunk, size: number): Promise<ChunkRef> {
    const id = hashed.id;
    if (this.mine.has(id) || this.deps.has(id)) {
      hashed.drop();
      return { id, size };
    }
    this.mine.add(id);
    try {
      const blob = await hashed.seal(this.deps.level);
      await this.pack.add(id, blob, size);
    } catch (err) {
      this.mine.delete(id);
      throw err;
    }
    return { id, size };
  }

  private async settleOldest(): Promise<void> {
    const oldest = this.inflight.shift()!;
    this.refs[oldest.index] = await oldest.done;
  }

  private async emit(chunk: Uint8Array): Promise<void> {
    const done = this.store(chunk);
    done.catch(() => undefined);
    this.inflight.push({ index: this.refs.length, done });
    this.refs.push(undefined);
    if (this.inflight.length >= this.window) await this.settleOldest();
  }

  /**
   * Chunks one stream (one file, one dump) and appends its chunks. Boundaries start afresh with each
   * stream, so a file's chunks do not depend on the file before it. Resolves once the stream is read
   * (its chunks may still be in flight); `finish` waits for them.
   */
  async write(source: Readable | AsyncIterable<Uint8Array> | Iterable<Uint8Array>, signal?: AbortSignal): Promise<Written> {
    const chunker = new Chunker(this.deps.chunker);
    const first = this.refs.length;
    let size = 0;
    let held = 0;
    const hold = (bytes: Uint8Array): void => {
      this.assembly ??= new Uint8Array(this.deps.chunker.maxSize);
      this.assembly.set(bytes, held);
      held += bytes.length;
    };
    // Each chunk is copied once into a buffer of the pool's (one a worker handed back, when there is
    // one), which then moves to a worker.
    const cut = async (piece: Uint8Array): Promise<void> => {
      let chunk: Uint8Array;
      if (held === 0) {
        chunk = this.deps.pool.chunkBuffer(piece.length);
        chunk.set(piece);
      } else {
        chunk = this.deps.pool.chunkBuffer(held + piece.length);
        chunk.set(this.assembly!.subarray(0, held));
        chunk.set(piece, held);
        held = 0;
      }
      await this.emit(chunk);
    };
    for await (const piece of source as AsyncIterable<Uint8Array | string> | Iterable<Uint8Array>) {
      signal?.throwIfAborted();
      const buf = typeof piece === 'string' ? Buffer.from(piece) : piece;
      size += buf.length;
      let start = 0;
      for (const end of chunker.push(buf)) {
        await cut(buf.subarray(start, end));
        start = end;
      }
      if (start < buf.length) hold(buf.subarray(start));
    }
    if (held > 0) await cut(new Uint8Array(0));
    return { count: this.refs.length - first, size };
  }

  /**
   * Reads and seals small local files in a codec worker (file-ingest.ts). Nothing is appended until
   * the caller appends each file, in the order it wants them in the list: batches read in parallel
   * are still appended in walk order.
   */
  async readFiles(files: readonly { path: Buffer; size: number }[]): Promise<FilesRead> {
    const reply = await this.deps.pool.ingest(
      files.map((f) => ({ path: f.path, size: f.size })),
      this.deps.chunker,
      this.deps.level,
    );
    const blobs = Buffer.from(reply.blobs.buffer, reply.blobs.byteOffset, reply.blobs.byteLength);
    return {
      files: reply.files,
      append: async (i) => {
        const f = reply.files[i];
        if (f?.kind !== 'data') throw new Error(`file ${i} of the batch has no data to append`);
        for (const [id, size, offset, length] of f.chunks) {
          if (!this.mine.has(id) && !this.deps.has(id)) {
            // -1: sealed for an earlier file of the batch, which was appended first and stored it.
            if (offset < 0) throw new Error(`chunk ${id} was sealed for an earlier file of the batch that was not appended`);
            this.mine.add(id);
            await this.pack.add(id, blobs.subarray(offset, offset + length), size);
          }
          this.refs.push({ id, size });
        }
        return f.chunks.length;
      },
    };
  }

  /**
   * A large file read, cut and hashed by a worker (file-scan.ts); `append` stores only the chunks the
   * bank lacks, reading them again, so the main thread neither reads nor cuts the rest.
   */
  async rescanFile(path: Buffer): Promise<FileRescan> {
    const scan = await this.deps.pool.scan(path, this.deps.chunker);
    if (scan.kind !== 'data') return scan;
    const { chunks, ...file } = scan;
    return { ...file, append: () => this.appendScanned(path, chunks) };
  }

  private async appendScanned(path: Buffer, chunks: readonly [string, number][]): Promise<number | null> {
    const missing: { index: number; offset: number; size: number }[] = [];
    const seen = new Set<string>();
    let offset = 0;
    let missingBytes = 0;
    for (let index = 0; index < chunks.length; index++) {
      const [id, size] = chunks[index]!;
      if (!this.mine.has(id) && !this.deps.has(id) && !seen.has(id)) {
        seen.add(id);
        missing.push({ index, offset, size });
        missingBytes += size;
      }
      offset += size;
    }
    // The new chunks are held by the workers until all are checked: a bounded amount, else stream.
    if (missingBytes > RESCAN_NEW_MAX) return null;
    const held = new Map<number, HashedChunk>();
    const dropAll = (): null => {
      for (const h of held.values()) h.drop();
      return null;
    };
    if (missing.length > 0) {
      let fh: FileHandle;
      try {
        fh = await open(path, LISTED_FILE_FLAGS);
      } catch {
        return null; // gone or unreadable since the scan: streaming it reports why
      }
      try {
        for (const m of missing) {
          const buf = this.deps.pool.chunkBuffer(m.size);
          let got = 0;
          while (got < m.size) {
            const { bytesRead } = await fh.read(buf, got, m.size - got, m.offset + got);
            if (bytesRead === 0) break;
            got += bytesRead;
          }
          if (got !== m.size) return dropAll();
          const h = await this.deps.pool.hash(buf, true);
          held.set(m.index, h);
          // Changed since the scan: what the scan hashed is no longer there to store.
          if (h.id !== chunks[m.index]![0]) return dropAll();
        }
      } catch {
        return dropAll();
      } finally {
        await fh.close();
      }
    }
    for (let index = 0; index < chunks.length; index++) {
      const [id, size] = chunks[index]!;
      const h = held.get(index);
      if (h === undefined) {
        this.refs.push({ id, size });
        continue;
      }
      const done = this.storeHashed(h, size);
      done.catch(() => undefined);
      this.inflight.push({ index: this.refs.length, done });
      this.refs.push(undefined);
      if (this.inflight.length >= this.window) await this.settleOldest();
    }
    return chunks.length;
  }

  /**
   * Appends one chunk exactly as given, without cutting it: a checkpoint copied from another bank keeps
   * its source's boundaries, since plugins address chunks by their position in a list.
   */
  async writeChunk(data: Uint8Array): Promise<void> {
    const chunk = this.deps.pool.chunkBuffer(data.length);
    chunk.set(data);
    await this.emit(chunk);
  }

  /** Ids of the chunks this writer stored itself (not found in the bank): what it added. */
  get stored(): ReadonlySet<string> {
    return this.mine;
  }

  /** Appends chunks already in the bank. */
  append(refs: readonly ChunkRef[]): void {
    for (const r of refs) this.refs.push(r);
  }

  /** Waits for every chunk in flight and stores the open pack: returns the complete, durable list. */
  async finish(): Promise<ChunkRef[]> {
    try {
      while (this.inflight.length > 0) await this.settleOldest();
    } finally {
      await Promise.allSettled(this.inflight.map((f) => f.done));
    }
    await this.pack.flush();
    return this.refs as ChunkRef[];
  }
}
