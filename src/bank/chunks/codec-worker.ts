/**
 * A worker thread of the codec pool (pool.ts): hashes, compresses, encrypts and opens chunks off the
 * main thread, which keeps reading files and writing packs meanwhile. A hashed chunk stays here until
 * the main thread, having looked its id up, asks for it to be sealed (new) or dropped (a duplicate),
 * so a chunk crosses threads once. Small files are read and sealed here whole (file-ingest.ts).
 */
import { parentPort } from 'node:worker_threads';
import { ChunkCorruptError, chunkId, openChunkBorrowed, sealChunk } from './codec.js';
import type { CodecKeys, RunItem } from './codec.js';
import { ingestFiles } from './file-ingest.js';
import type { IngestReply, IngestRequest } from './file-ingest.js';
import { scanFile } from './file-scan.js';
import { endFile, writeFileRun } from './file-write.js';
import type { FileWriteReply, FileWriteRequest } from './file-write.js';
import type { ScanReply, ScanRequest } from './file-scan.js';
import { discarded } from '../../common/gc-nudge.js';

/** The keys, then jobs. */
export type WorkerRequest = { t: 'keys'; keys: CodecKeys } | WorkerJob;

export type WorkerJob =
  | { t: 'hash'; job: number; data: Uint8Array }
  | { t: 'seal'; job: number; level: number }
  | { t: 'drop'; job: number }
  | { t: 'open'; job: number; blob: Uint8Array; id: string }
  | { t: 'openRun'; job: number; blob: Uint8Array; items: RunItem[]; keep: boolean }
  | ({ t: 'ingest' } & IngestRequest)
  | ({ t: 'scan' } & ScanRequest)
  | ({ t: 'writeRun' } & FileWriteRequest)
  | { t: 'endFile'; job: number; file: number; discard: boolean };

export type { RunItem } from './codec.js';

/**
 * What opening a run gave: each chunk's plaintext size (in order, up to the first failure) and, when
 * asked to keep it, the plaintexts back to back; `failed` names the first chunk that did not open.
 */
export interface RunReply {
  job: number;
  sizes: number[];
  data: Uint8Array | null;
  failed: { index: number; reason: string } | null;
}

export type WorkerReply =
  | { job: number; id: string }
  | { job: number; blob: Uint8Array }
  | { job: number; data: Uint8Array }
  | { job: number; corrupt: { id: string; reason: string } }
  | { job: number; error: string }
  | { job: number; dropped: true; back: Uint8Array }
  | { job: number; blob: Uint8Array; back: Uint8Array }
  | RunReply
  | IngestReply
  | ScanReply
  | FileWriteReply
  | { job: number; blake3: string | null };

/** Sent first by the pool, possibly after jobs (the worker starts while the bank key is derived). */
let keys: CodecKeys | null = null;
const early: WorkerJob[] = [];
const held = new Map<number, { data: Uint8Array; id: string }>();
const port = parentPort!;

/** The bytes in a buffer of their own, not zero-filled first (they are overwritten at once). */
function ownCopy(bytes: Uint8Array): Buffer {
  const own = Buffer.allocUnsafeSlow(bytes.length);
  own.set(bytes);
  return own;
}

/** Bytes of its ArrayBuffer a view may leave unused and still be moved with it rather than copied. */
const MOVE_SLACK = 4096;

/**
 * Posts a reply, moving `field`'s bytes: as they are when they (nearly) fill their ArrayBuffer
 * (nothing here keeps them; a decompressed chunk comes in a buffer one byte larger), else copied into
 * a buffer of their own first (a view would clone its whole ArrayBuffer, and some buffers made by zlib
 * and crypto cannot be moved at all).
 */
function reply(msg: WorkerReply, field?: 'blob' | 'data', also: ArrayBuffer[] = []): void {
  if (field === undefined) return port.postMessage(msg);
  const bytes = (msg as unknown as Record<string, Uint8Array>)[field]!;
  if (bytes.buffer.byteLength - bytes.byteLength <= MOVE_SLACK && bytes.buffer instanceof ArrayBuffer) {
    try {
      return port.postMessage(msg, [bytes.buffer, ...also]);
    } catch {
      // Not movable after all: copied below.
    }
  }
  const own = ownCopy(bytes);
  port.postMessage({ ...msg, [field]: own }, [own.buffer as ArrayBuffer, ...also]);
}

/**
 * Opens a run of chunks in one message each way (a restore or check of small files would otherwise
 * pay a thread crossing per chunk). A check keeps nothing: only sizes and the first failure go back.
 */
/** Where a run's plaintexts are gathered before they go back in one buffer; reused from run to run. */
let gather = Buffer.allocUnsafeSlow(0);

function gatherAt(at: number, bytes: Uint8Array): void {
  if (gather.length < at + bytes.length) {
    const grown = Buffer.allocUnsafeSlow(Math.max(at + bytes.length, gather.length * 2));
    gather.copy(grown, 0, 0, at);
    gather = grown;
  }
  gather.set(bytes, at);
}

function openRun(m: { job: number; blob: Uint8Array; items: RunItem[]; keep: boolean }, keys: CodecKeys): void {
  const sizes: number[] = [];
  let failed: RunReply['failed'] = null;
  let total = 0;
  for (let i = 0; i < m.items.length; i++) {
    const [offset, length, id] = m.items[i]!;
    try {
      if (offset + length > m.blob.length) throw new ChunkCorruptError(id, 'lies beyond the end of its pack');
      // Borrowed plaintext is overwritten by the next chunk: gathered (copied) at once.
      const { data: plain } = openChunkBorrowed(m.blob.subarray(offset, offset + length), id, keys);
      sizes.push(plain.length);
      if (m.keep) gatherAt(total, plain);
      total += plain.length;
    } catch (err) {
      if (!(err instanceof ChunkCorruptError)) throw err;
      failed = { index: i, reason: err.reason };
      break;
    }
  }
  if (!m.keep) return port.postMessage({ job: m.job, sizes, data: null, failed } satisfies RunReply);
  // One buffer of its own, moved.
  const data = Buffer.allocUnsafeSlow(total);
  gather.copy(data, 0, 0, total);
  port.postMessage({ job: m.job, sizes, data, failed } satisfies RunReply, [data.buffer as ArrayBuffer]);
}

function handle(m: WorkerJob, keys: CodecKeys): void {
  try {
    switch (m.t) {
      case 'hash': {
        const id = chunkId(m.data, keys.idKey);
        held.set(m.job, { data: m.data, id });
        reply({ job: m.job, id });
        break;
      }
      case 'seal': {
        const h = held.get(m.job);
        if (h === undefined) throw new Error(`job ${m.job} is not held`);
        held.delete(m.job);
        const blob = sealChunk(h.data, h.id, m.level, keys);
        // Compressed and encrypted copies on the way to the blob.
        discarded(2 * blob.length);
        // The chunk's buffer goes back with its sealed bytes, for the pool to fill with a later chunk.
        reply({ job: m.job, blob, back: h.data }, 'blob', [h.data.buffer as ArrayBuffer]);
        break;
      }
      case 'drop': {
        const h = held.get(m.job);
        held.delete(m.job);
        if (h === undefined) reply({ job: m.job, error: `job ${m.job} is not held` });
        else port.postMessage({ job: m.job, dropped: true, back: h.data } satisfies WorkerReply, [h.data.buffer as ArrayBuffer]);
        break;
      }
      case 'open': {
        // A borrowed view is copied by reply() before the next job can overwrite it.
        const { data } = openChunkBorrowed(m.blob, m.id, keys);
        discarded(m.blob.length + data.length);
        reply({ job: m.job, data }, 'data');
        break;
      }
      case 'openRun':
        openRun(m, keys);
        // The run's bytes, and the decrypted pieces and (zlib path) decompressed copies of its chunks.
        discarded(3 * m.blob.length);
        break;
      case 'scan':
        port.postMessage(scanFile(m, keys));
        break;
      case 'writeRun':
        port.postMessage(writeFileRun(m, keys));
        // The run's bytes, and the decrypted pieces and (zlib path) decompressed copies of its chunks.
        discarded(3 * ('blob' in m ? m.blob.length : m.plain.length));
        break;
      case 'endFile':
        port.postMessage({ job: m.job, blake3: endFile(m.file, m.discard) } satisfies WorkerReply);
        break;
      case 'ingest': {
        const { reply: r, transfer } = ingestFiles(m, keys);
        discarded(2 * r.blobs.length);
        port.postMessage(r, transfer);
        break;
      }
    }
  } catch (err) {
    if (err instanceof ChunkCorruptError) reply({ job: m.job, corrupt: { id: err.id, reason: err.reason } });
    else reply({ job: m.job, error: err instanceof Error ? err.message : String(err) });
  }
}

port.on('message', (m: WorkerRequest) => {
  if (m.t === 'keys') {
    keys = m.keys;
    for (const job of early.splice(0)) handle(job, keys);
  } else if (keys === null) {
    early.push(m);
  } else {
    handle(m, keys);
  }
});
