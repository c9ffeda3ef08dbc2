/**
 * How a restore writes a file that is not a small one: to a temp name in its directory, holes left
 * for 64 KiB blocks of zeros, renamed into place only when its BLAKE3 matches. Streamed here from
 * the chunks read in order, or (when the bank section can) written by the bank's codec workers from
 * the file's own chunks, two files at a time, so its plaintext never reaches this thread.
 */
import { constants } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { Blake3Hasher } from '@napi-rs/blake-hash';
import { dataRuns } from '../../common/holes.js';
import { pathKey } from './entry-path.js';
import { corrupt, corruptInFile, displayPath } from './manifest.js';
import { modeOf, tempName } from './restore-state.js';
import type { FileEntry, Writer } from './restore-state.js';
import { joinRoot, nsToSeconds, parentOf } from './safe-fs.js';

/** Chunk writes of one streamed file in flight at once. */
const WRITES_IN_FLIGHT = 4;

async function writeAt(fh: FileHandle, data: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) done += (await fh.write(data, done, data.length - done, position + done)).bytesWritten;
}

/** Writes `chunk` at `position`, leaving its blocks of zeros as holes (the file is truncated to its size at the end). */
async function writeSparse(fh: FileHandle, chunk: Buffer, position: number): Promise<void> {
  for (const [start, end] of dataRuns(chunk)) await writeAt(fh, chunk.subarray(start, end), position + start);
}

/** Writes one file from its chunks to a temp name, checks its BLAKE3, then renames it into place. */
export async function writeFile(
  w: Writer,
  e: FileEntry,
  content: AsyncIterable<Buffer> | Iterable<Buffer>,
  onBytes: () => void,
): Promise<void> {
  const temp = tempName(joinRoot(w.rootBuf, parentOf(e.path)));
  const fh = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  let closed = false;
  try {
    const hash = new Blake3Hasher();
    let position = 0;
    // Writes go to the thread pool while the next chunk is hashed: positional, so they may finish in
    // any order; a few in flight, all done before the file is checked, truncated and renamed.
    const writing = new Set<Promise<void>>();
    // The first write that failed (set from its callback).
    const failure: { err?: unknown; failed: boolean } = { failed: false };
    try {
      for await (const chunk of content) {
        hash.update(chunk);
        const done: Promise<void> = writeSparse(fh, chunk, position)
          .catch((err: unknown) => {
            if (!failure.failed) Object.assign(failure, { err, failed: true });
          })
          .finally(() => writing.delete(done));
        writing.add(done);
        position += chunk.length;
        onBytes();
        if (writing.size >= WRITES_IN_FLIGHT) await Promise.race(writing);
        if (failure.failed) throw failure.err;
      }
    } finally {
      await Promise.allSettled(writing);
    }
    if (failure.failed) throw failure.err;
    closed = true;
    await landTemp(w, e, fh, temp, hash.digest('hex'));
  } catch (err) {
    if (!closed) await fh.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw err;
  }
}

/**
 * Checks a fully written temp file's BLAKE3, then gives it its size, owner, mode and times, closes it
 * and renames it into place. Closes `fh` whatever happens; the caller unlinks the temp file on failure.
 */
export async function landTemp(w: Writer, e: FileEntry, fh: FileHandle, temp: Buffer, blake3: string): Promise<void> {
  let closed = false;
  try {
    if (blake3 !== e.blake3) {
      throw corrupt(w.label, `file "${displayPath(e.path)}" does not match its BLAKE3 in the checkpoint; it was not restored`);
    }
    await fh.truncate(e.size);
    // chown before chmod: chown clears setuid/setgid bits.
    if (w.setOwner) await fh.chown(e.uid, e.gid);
    await fh.chmod(modeOf(w, e));
    // atime is "now": an old atime would make restored files look stale to cleanup tools.
    await fh.utimes(Date.now() / 1000, nsToSeconds(e.mtimeNs));
    closed = true;
    await fh.close();
    await rename(temp, joinRoot(w.rootBuf, e.path));
  } finally {
    if (!closed) await fh.close().catch(() => undefined);
  }
}

/**
 * Writes a large file from its own chunks with the bank's writeChunksToFile, so its plaintext never
 * reaches this thread, then lands it as writeFile does. The fd stays open until the bank is done.
 */
export async function writeFileDirect(w: Writer, e: FileEntry): Promise<void> {
  const temp = tempName(joinRoot(w.rootBuf, parentOf(e.path)));
  const fh = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    const [first, count] = e.chunks;
    const blake3 = await w.bank.writeChunksToFile!(w.refs.slice(first, first + count), fh.fd, w.signal);
    await landTemp(w, e, fh, temp, blake3);
  } catch (err) {
    await fh.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw err;
  }
}

/** Starts a large file's direct write in the window of large files (large-files.ts). */
export function startLarge(w: Writer, e: FileEntry, onBytes: () => void): Promise<void> {
  const write = async (): Promise<void> => {
    await writeFileDirect(w, e);
    w.largeDone += e.size;
    fileWritten(w, e);
    onBytes();
  };
  return w.large.start(write, (err) => corruptInFile(w.label, e.path, err));
}

/** What follows a file's landing: hard links may name it, its attributes are set at the end. */
export function fileWritten(w: Writer, e: FileEntry): void {
  const key = pathKey(e.path);
  if (w.linkTargets.has(key)) w.linkTargets.set(key, true);
  if (e.xattrs?.length) w.xattrs.push({ path: e.path, xattrs: e.xattrs });
}
