/**
 * Turns streams into stored chunks. The main thread reads and cuts (FastCDC); the codec workers hash;
 * chunks the bank already holds are dropped without being compressed; new ones are sealed by the
 * workers and appended to this writer's pack. A bounded window of chunks is in flight at once, so
 * memory stays constant and a slow bank slows the reader down.
 */
import type { Readable } from 'node:stream';
import type { ChunkRef } from '../../plugins/api.js';
import { Chunker } from './fastcdc.js';
import type { ChunkerParams } from './fastcdc.js';
import type { CodecPool } from './pool.js';
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

export interface WriteStats {
  /** Plaintext bytes chunked. */
  bytes: number;
  chunks: number;
  /** Chunks this writer stored (the rest were already in the bank or earlier in this writer). */
  newChunks: number;
  newBytes: number;
}

/** Copies a chunk into a buffer of its own, so it can be handed to a worker without detaching anything else. */
function own(parts: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(new ArrayBuffer(length));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export class ChunkWriter {
  private readonly pack: PackWriter;
  /** Ids this writer has stored or is storing: a repeat within one writer is a dedup hit too. */
  private readonly mine = new Set<string>();
  readonly stats: WriteStats = { bytes: 0, chunks: 0, newChunks: 0, newBytes: 0 };

  constructor(private readonly deps: WriterDeps) {
    this.pack = new PackWriter(deps.sink);
  }

  private get window(): number {
    return this.deps.pool.size * 2 + 2;
  }

  private async store(data: Uint8Array): Promise<ChunkRef> {
    const size = data.length;
    const hashed = await this.deps.pool.hash(data);
    const id = hashed.id;
    if (this.mine.has(id) || this.deps.has(id)) {
      hashed.drop();
      return { id, size };
    }
    this.mine.add(id);
    try {
      const blob = await hashed.seal(this.deps.level);
      this.stats.newChunks++;
      this.stats.newBytes += size;
      await this.pack.add(id, blob, size);
    } catch (err) {
      this.mine.delete(id);
      throw err;
    }
    return { id, size };
  }

  /**
   * Chunks one stream (one file, one dump) and returns its chunk refs in order. Boundaries start
   * afresh with each stream, so a file's chunks do not depend on the file before it. The chunks
   * are durable only after `flush`.
   */
  async write(source: Readable | AsyncIterable<Uint8Array> | Iterable<Uint8Array>, signal?: AbortSignal): Promise<ChunkRef[]> {
    const chunker = new Chunker(this.deps.chunker);
    const refs: ChunkRef[] = [];
    const inflight: { index: number; done: Promise<ChunkRef> }[] = [];
    let parts: Uint8Array[] = [];
    let partsLength = 0;
    const settleOldest = async (): Promise<void> => {
      const oldest = inflight.shift()!;
      refs[oldest.index] = await oldest.done;
    };
    const emit = async (): Promise<void> => {
      const chunk = own(parts, partsLength);
      parts = [];
      partsLength = 0;
      this.stats.chunks++;
      this.stats.bytes += chunk.length;
      const done = this.store(chunk);
      done.catch(() => undefined);
      inflight.push({ index: refs.length, done });
      refs.push(undefined as unknown as ChunkRef);
      if (inflight.length >= this.window) await settleOldest();
    };
    try {
      for await (const piece of source as AsyncIterable<Uint8Array | string> | Iterable<Uint8Array>) {
        signal?.throwIfAborted();
        const buf = typeof piece === 'string' ? Buffer.from(piece) : piece;
        let start = 0;
        for (const cut of chunker.push(buf)) {
          parts.push(buf.subarray(start, cut));
          partsLength += cut - start;
          start = cut;
          await emit();
        }
        if (start < buf.length) {
          parts.push(buf.subarray(start));
          partsLength += buf.length - start;
        }
      }
      if (partsLength > 0) await emit();
      while (inflight.length > 0) await settleOldest();
    } catch (err) {
      // Let the chunks already handed to workers finish or fail before the caller moves on.
      await Promise.allSettled(inflight.map((f) => f.done));
      throw err;
    }
    return refs;
  }

  /** Stores the open pack: after this, every chunk `write` returned is in the bank. */
  async flush(): Promise<void> {
    await this.pack.flush();
  }

  get storedBytes(): number {
    return this.pack.storedBytes;
  }
}
