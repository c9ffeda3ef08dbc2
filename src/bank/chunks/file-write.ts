/**
 * The codec worker's half of a restore's large files (ChunkStore.writeFile): it opens each run of a
 * file's chunks, hashes the plaintext with the file's BLAKE3 and writes it into the file the main
 * thread opened, so the plaintext never crosses threads. A verify asks for the hash alone (no file:
 * `fd` is -1). Every run of one file goes to the same worker, which takes messages in order: the
 * hasher sees the bytes in sequence.
 */
import { writeSync } from 'node:fs';
import { Blake3Hasher } from '@napi-rs/blake-hash';
import { ChunkCorruptError, openChunkBorrowed } from './codec.js';
import type { CodecKeys, RunItem } from './codec.js';
import { dataRuns } from '../../common/holes.js';

/**
 * One run of a file: stored chunks (`blob`, cut by `items`) or plaintext the main thread already
 * opened, written at `position` of `fd` (not written when `fd` is -1).
 */
export type FileWriteRequest = { job: number; file: number; fd: number; position: number } & (
  { blob: Uint8Array; items: RunItem[] } | { plain: Uint8Array }
);

/** Each chunk's plaintext size, up to the first that did not open (`failed`) or could not be written (`io`). */
export interface FileWriteReply {
  job: number;
  sizes: number[];
  failed: { index: number; reason: string } | null;
  io: { code: string | undefined; message: string } | null;
}

/** A hasher per file being written here (a few at once); kept until the file's end is asked for. */
const hashers = new Map<number, Blake3Hasher>();

function writeAll(fd: number, data: Buffer, position: number): void {
  let done = 0;
  while (done < data.length) done += writeSync(fd, data, done, data.length - done, position + done);
}

/** Writes `data` at `position`, leaving its blocks of zeros as holes (the main thread sets the size). */
function writeSparse(fd: number, data: Buffer, position: number): void {
  for (const [start, end] of dataRuns(data)) writeAll(fd, data.subarray(start, end), position + start);
}

const asBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

export function writeFileRun(m: FileWriteRequest, keys: CodecKeys): FileWriteReply {
  let hasher = hashers.get(m.file);
  if (hasher === undefined) hashers.set(m.file, (hasher = new Blake3Hasher()));
  const sizes: number[] = [];
  let position = m.position;
  const put = (plain: Buffer): void => {
    hasher.update(plain);
    if (m.fd >= 0) writeSparse(m.fd, plain, position);
    position += plain.length;
  };
  try {
    if ('plain' in m) {
      put(asBuffer(m.plain));
      sizes.push(m.plain.length);
      return { job: m.job, sizes, failed: null, io: null };
    }
    for (let i = 0; i < m.items.length; i++) {
      const [offset, length, id] = m.items[i]!;
      let plain: Buffer;
      try {
        if (offset + length > m.blob.length) throw new ChunkCorruptError(id, 'lies beyond the end of its pack');
        // Borrowed: the next chunk overwrites it, so it is hashed and written before that.
        plain = openChunkBorrowed(m.blob.subarray(offset, offset + length), id, keys).data;
      } catch (err) {
        if (!(err instanceof ChunkCorruptError)) throw err;
        return { job: m.job, sizes, failed: { index: i, reason: err.reason }, io: null };
      }
      put(plain);
      sizes.push(plain.length);
    }
    return { job: m.job, sizes, failed: null, io: null };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { job: m.job, sizes, failed: null, io: { code: e.code, message: e.message } };
  }
}

/** The file's BLAKE3 (hex) over every run written, and forgets it; `discard` only forgets. */
export function endFile(file: number, discard: boolean): string | null {
  const hasher = hashers.get(file);
  hashers.delete(file);
  if (discard) return null;
  // No run at all: an empty file.
  return (hasher ?? new Blake3Hasher()).digest('hex');
}
