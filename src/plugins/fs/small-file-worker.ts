/**
 * A worker thread of the restore's small-file writers (small-files.ts): checks each file's BLAKE3
 * and writes it with synchronous calls — create (O_EXCL, never over something else's file), write,
 * owner, mode, times, close, and rename into place when it replaces a file. Creating files is most
 * of a restore of many small files; two threads doing it leave the main thread to read and decide.
 */
import { closeSync, constants, fchmodSync, fchownSync, futimesSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { blake3Hex } from '../../common/hashers.js';

export interface SmallWrite {
  /** Where the file ends up (bytes). */
  final: Uint8Array;
  /** A temp name in the same directory when it replaces a file, else null (created in place). */
  temp: Uint8Array | null;
  /** Its content in the batch's buffer. */
  offset: number;
  length: number;
  blake3: string;
  mode: number;
  /** Owner to set, or null to keep the restoring user's. */
  owner: { uid: number; gid: number } | null;
  /** Seconds since the epoch. */
  mtime: number;
}

export interface WriteBatch {
  job: number;
  data: Uint8Array;
  files: SmallWrite[];
}

/** The first file that could not be written (the ones after it were not tried), or null. */
export interface WriteReply {
  job: number;
  failed: { index: number; corrupt: boolean; code: string | undefined; message: string } | null;
}

const asBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

function writeOne(f: SmallWrite, data: Buffer): void {
  const final = asBuffer(f.final);
  const target = f.temp === null ? final : asBuffer(f.temp);
  // Outside the try: a file that exists already is not ours to remove.
  const fd = openSync(target, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  let closed = false;
  try {
    let done = 0;
    while (done < data.length) done += writeSync(fd, data, done, data.length - done);
    // chown before chmod: chown clears setuid/setgid bits.
    if (f.owner !== null) fchownSync(fd, f.owner.uid, f.owner.gid);
    fchmodSync(fd, f.mode);
    // atime is "now": an old atime would make restored files look stale to cleanup tools.
    futimesSync(fd, Date.now() / 1000, f.mtime);
    closed = true;
    closeSync(fd);
    if (f.temp !== null) renameSync(target, final);
  } catch (err) {
    if (!closed)
      try {
        closeSync(fd);
      } catch {
        /* already failing */
      }
    try {
      unlinkSync(target);
    } catch {
      /* best effort */
    }
    throw err;
  }
}

function writeBatch(m: WriteBatch): WriteReply {
  const all = asBuffer(m.data);
  for (let i = 0; i < m.files.length; i++) {
    const f = m.files[i]!;
    const data = all.subarray(f.offset, f.offset + f.length);
    // Checked before anything is written: a corrupt file never reaches the disk, not even as a temp file.
    if (blake3Hex(data) !== f.blake3)
      return { job: m.job, failed: { index: i, corrupt: true, code: undefined, message: 'content does not match its BLAKE3' } };
    try {
      writeOne(f, data);
    } catch (err) {
      const code = (err as { code?: string }).code;
      return { job: m.job, failed: { index: i, corrupt: false, code, message: (err as Error).message } };
    }
  }
  return { job: m.job, failed: null };
}

const port = parentPort;
port?.on('message', (m: WriteBatch) => port.postMessage(writeBatch(m)));
