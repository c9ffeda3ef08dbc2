/**
 * A local file a walk listed, opened in a codec worker with synchronous calls (file-ingest.ts,
 * file-scan.ts). Between the listing and the open it may have gone, or become a symlink or a FIFO:
 * that is `gone`, and any other failure is an `error` with the system's code, never a throw.
 */
import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import type { FileFacts } from '../../plugins/api.js';

/** O_NOFOLLOW/O_NONBLOCK: the path may have become a symlink or a FIFO since it was listed. */
export const LISTED_FILE_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const GONE = new Set(['ENOENT', 'ELOOP', 'ENXIO', 'ENOTDIR']);

export type NotRead = { kind: 'gone' } | { kind: 'error'; code: string | undefined; message: string };

const failure = (err: unknown): NotRead => {
  const code = (err as { code?: string }).code;
  return GONE.has(String(code)) ? { kind: 'gone' } : { kind: 'error', code, message: (err as Error).message };
};

/** Opens `path`, checks it is still a regular file, runs `read` on it and closes it. */
export function withLocalFile<T>(path: Buffer, read: (fd: number, st: BigIntStats) => T): T | NotRead {
  let fd: number;
  try {
    fd = openSync(path, LISTED_FILE_FLAGS);
  } catch (err) {
    return failure(err);
  }
  try {
    const st = fstatSync(fd, { bigint: true });
    return st.isFile() ? read(fd, st) : { kind: 'gone' };
  } catch (err) {
    return { kind: 'error', code: (err as { code?: string }).code, message: (err as Error).message };
  } finally {
    closeSync(fd);
  }
}

/** What the plugin API reports of a file read: its fstat as it was read. */
export const factsOf = (st: BigIntStats): FileFacts => ({
  mode: Number(st.mode),
  uid: Number(st.uid),
  gid: Number(st.gid),
  mtimeNs: st.mtimeNs,
  ino: st.ino,
  ctimeNs: st.ctimeNs,
});
