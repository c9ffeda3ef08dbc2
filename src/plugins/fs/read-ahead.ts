/**
 * Opening the files being protected, and reading the small ones ahead: a small file costs four
 * thread-pool round trips (open, fstat, read, close), which would otherwise be paid one after the
 * other, so several are read at once ahead of the one being stored.
 */
import { constants } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { WalkItem } from './walk.js';

/** Files up to this size are read whole, several at a time ahead of the one being stored. */
const SMALL_FILE = 1024 * 1024;
const PREFETCH_FILES = 32;
const PREFETCH_BYTES = 16 * 1024 * 1024;

/** A small file read ahead: its bytes, or why the streaming path must handle it. */
export type SmallRead = { kind: 'data'; st: BigIntStats; data: Buffer } | { kind: 'gone' } | { kind: 'stream' };

/** O_NOFOLLOW/O_NONBLOCK: the path may have become a symlink or a FIFO since lstat. */
export const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const GONE = new Set(['ENOENT', 'ELOOP', 'ENXIO', 'ENOTDIR']);

/** Whether opening failed because the file is no longer a regular file at that path (vanished). */
export const openFailedAsGone = (err: unknown): boolean => GONE.has(String((err as { code?: unknown }).code));

async function readSmall(abs: Buffer, size: number): Promise<SmallRead> {
  let fh: FileHandle;
  try {
    fh = await open(abs, OPEN_FLAGS);
  } catch (err) {
    if (openFailedAsGone(err)) return { kind: 'gone' };
    throw err;
  }
  try {
    const st = await fh.stat({ bigint: true });
    if (!st.isFile()) return { kind: 'gone' };
    const buf = Buffer.allocUnsafeSlow(size + 1);
    let got = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, got, buf.length - got, null);
      if (bytesRead === 0) break;
      got += bytesRead;
      // It grew past what lstat said: the streaming path reads it whole.
      if (got > size) return { kind: 'stream' };
    }
    return { kind: 'data', st, data: buf.subarray(0, got) };
  } finally {
    await fh.close();
  }
}

/**
 * Passes walk items through in order, having started to read the small files among the next few
 * (those `wanted` says must be read: unchanged files are not) so their I/O overlaps.
 */
export async function* readAhead(
  items: AsyncIterable<WalkItem>,
  wanted: (f: { rel: Buffer; stat: BigIntStats }) => boolean,
): AsyncGenerator<{ item: WalkItem; small?: Promise<SmallRead> }> {
  const queue: { item: WalkItem; small?: Promise<SmallRead>; bytes: number }[] = [];
  let bytes = 0;
  try {
    for await (const item of items) {
      if (item.kind === 'file' && item.stat.size <= BigInt(SMALL_FILE) && wanted(item)) {
        const size = Number(item.stat.size);
        const small = readSmall(item.abs, size);
        small.catch(() => undefined);
        queue.push({ item, small, bytes: size });
        bytes += size;
      } else {
        queue.push({ item, bytes: 0 });
      }
      while (queue.length > PREFETCH_FILES || bytes > PREFETCH_BYTES) {
        const next = queue.shift()!;
        bytes -= next.bytes;
        yield next;
      }
    }
    while (queue.length > 0) yield queue.shift()!;
  } finally {
    // Abandoned (a failure): let reads in flight finish so no file handle outlives the hook.
    await Promise.allSettled(queue.map((q) => q.small));
  }
}
