/**
 * Small local files stored from a codec worker: open, fstat, read, hash, chunk, compress and encrypt
 * a batch of files with synchronous calls, and send the sealed chunks back in one buffer. Done on the
 * main thread, each file cost four thread-pool round trips, a hash and two thread crossings per chunk;
 * the main thread now only deduplicates and appends (chunk-writer.ts).
 *
 * Every chunk is sealed here without asking whether the bank holds it: a small file's chunk is
 * cheap to seal, and asking would cost a round trip per batch. A chunk repeated within the batch is
 * sealed once.
 */
import { readSync } from 'node:fs';
import { chunkId, sealChunk } from './codec.js';
import { blake3Hex } from '../../common/hashers.js';
import type { CodecKeys } from './codec.js';
import { Chunker } from './fastcdc.js';
import type { ChunkerParams } from './fastcdc.js';
import type { FileFacts, FileRead } from '../../plugins/api.js';
import { factsOf, withLocalFile } from './local-file.js';

export interface IngestRequest {
  job: number;
  /** Absolute paths (bytes) and the sizes their lstat gave. */
  files: { path: Uint8Array; size: number }[];
  chunker: ChunkerParams;
  level: number;
}

/** A file as the plugin API describes it (FileRead), its data with its chunks. */
export type IngestedFile = Exclude<FileRead, { kind: 'data' }> | (FileRead & { kind: 'data'; chunks: IngestedChunk[] });

/** A chunk: its id, plaintext size and where its sealed bytes lie in the reply's buffer (-1: sealed earlier in the batch). */
export type IngestedChunk = [id: string, size: number, blobOffset: number, blobLength: number];

export interface IngestReply {
  job: number;
  files: IngestedFile[];
  blobs: Uint8Array;
}

let scratch = Buffer.alloc(0);

function readWhole(path: Buffer, size: number): IngestedFile | { kind: 'read'; facts: FileFacts; data: Buffer } {
  return withLocalFile(path, (fd, st) => {
    // One buffer serves every file this worker reads: what is read is sealed before the next file.
    if (scratch.length < size + 1) scratch = Buffer.allocUnsafeSlow(Math.max(size + 1, 64 * 1024));
    const buf = scratch.subarray(0, size + 1);
    let got = 0;
    for (;;) {
      const n = readSync(fd, buf, got, buf.length - got, null);
      if (n === 0) break;
      got += n;
      if (got > size) return { kind: 'grew' as const };
    }
    return { kind: 'read' as const, facts: factsOf(st), data: buf.subarray(0, got) };
  });
}

/** Reads and seals a batch of files; the sealed chunks come back back to back in `blobs`. */
export function ingestFiles(req: IngestRequest, keys: CodecKeys): { reply: IngestReply; transfer: ArrayBuffer[] } {
  const sealed: Buffer[] = [];
  const seen = new Map<string, true>();
  let blobBytes = 0;
  const files = req.files.map(({ path, size }): IngestedFile => {
    const read = readWhole(Buffer.from(path.buffer, path.byteOffset, path.byteLength), size);
    if (read.kind !== 'read') return read;
    const { data, facts } = read;
    const chunks: IngestedChunk[] = [];
    const chunker = new Chunker(req.chunker);
    const ends = chunker.push(data);
    if (ends.at(-1) !== data.length && data.length > 0) ends.push(data.length);
    let start = 0;
    for (const end of ends) {
      const piece = data.subarray(start, end);
      start = end;
      const id = chunkId(piece, keys.idKey);
      if (seen.has(id)) {
        chunks.push([id, piece.length, -1, 0]);
        continue;
      }
      seen.set(id, true);
      const blob = sealChunk(piece, id, req.level, keys);
      chunks.push([id, piece.length, blobBytes, blob.length]);
      sealed.push(blob);
      blobBytes += blob.length;
    }
    return { kind: 'data', facts, size: data.length, blake3: blake3Hex(data), chunks };
  });
  // One buffer of its own, moved to the main thread.
  const blobs = Buffer.allocUnsafeSlow(blobBytes);
  let at = 0;
  for (const b of sealed) {
    blobs.set(b, at);
    at += b.length;
  }
  return { reply: { job: req.job, files, blobs }, transfer: [blobs.buffer] };
}
