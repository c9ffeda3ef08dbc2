/**
 * A large local file read and cut in a codec worker without sealing anything: the worker reads it
 * block by block with synchronous calls, cuts it (FastCDC, the same boundaries ChunkWriter.write
 * finds), hashes every chunk (its id) and the whole file, and sends back only the ids. The main
 * thread then stores only the chunks the bank lacks (chunk-writer.ts, `rescanFile`), reading those
 * few again. That suits a large file that changed a little since the previous checkpoint (a log or a
 * dump that grew, an image with a block rewritten): the reading and cutting, most of a re-protect's
 * work, runs on the workers, in parallel with the walk, instead of on the main thread.
 */
import { readSync } from 'node:fs';
import { Blake3Hasher } from '@napi-rs/blake-hash';
import type { CodecKeys } from './codec.js';
import { freshHasher } from '../../common/hashers.js';
import { Chunker } from './fastcdc.js';
import type { ChunkerParams } from './fastcdc.js';
import type { FileFacts } from '../../plugins/api.js';
import { factsOf, withLocalFile } from './local-file.js';
import type { NotRead } from './local-file.js';

const BLOCK = 4 * 1024 * 1024;

export interface ScanRequest {
  job: number;
  path: Uint8Array;
  chunker: ChunkerParams;
}

export type FileScan = { kind: 'data'; facts: FileFacts; size: number; blake3: string; chunks: [id: string, size: number][] } | NotRead;

export interface ScanReply {
  job: number;
  scan: FileScan;
}

let block: Buffer | undefined;

/** Reads `req.path` to its end; what was read is what the ids describe. */
export function scanFile(req: ScanRequest, keys: CodecKeys): ScanReply {
  const path = Buffer.from(req.path.buffer, req.path.byteOffset, req.path.byteLength);
  const scan = withLocalFile(path, (fd, st): FileScan => {
    block ??= Buffer.allocUnsafeSlow(BLOCK);
    const chunker = new Chunker(req.chunker);
    // Not from hashers.ts: it hashes the whole file while the chunk hasher below is reused.
    const file = new Blake3Hasher();
    const chunks: [string, number][] = [];
    // The thread's own chunk hasher, reset after each chunk (common/hashers.ts).
    const hasher = freshHasher(keys.idKey);
    let held = 0;
    let size = 0;
    for (;;) {
      const n = readSync(fd, block, 0, BLOCK, null);
      if (n === 0) break;
      const piece = block.subarray(0, n);
      size += n;
      file.update(piece);
      let start = 0;
      for (const end of chunker.push(piece)) {
        hasher.update(piece.subarray(start, end));
        chunks.push([hasher.digest('hex'), held + end - start]);
        hasher.reset();
        held = 0;
        start = end;
      }
      if (start < n) {
        hasher.update(piece.subarray(start));
        held += n - start;
      }
    }
    if (held > 0) chunks.push([hasher.digest('hex'), held]);
    return { kind: 'data', facts: factsOf(st), size, blake3: file.digest('hex'), chunks };
  });
  return { job: req.job, scan };
}
