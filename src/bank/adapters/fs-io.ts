import { open, type FileHandle } from 'node:fs/promises';
import { bwkError, isBulwarkError } from '../../core/errors.js';

/** Small filesystem helpers shared by the fs bank's object and lease code. */

export const errno = (err: unknown): string => (err as NodeJS.ErrnoException | null)?.code ?? '';

/** Codes meaning "no object at this key" (a missing file, or a path through or onto a directory). */
export const ABSENT = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);

/** Wraps an I/O failure as the retryable BWK_ERR_BANK_IO; Bulwark errors pass through unchanged. */
export const ioError = (key: string, err: unknown): Error =>
  isBulwarkError(err)
    ? err
    : bwkError('BWK_ERR_BANK_IO', { key, reason: err instanceof Error ? err.message : String(err) }, { cause: err });

/** Put errors: a key that is also another key's directory (or the reverse) cannot exist on a filesystem. */
export function putError(key: string, err: unknown): Error {
  const code = errno(err);
  if (code === 'ENOTDIR' || code === 'EEXIST' || code === 'EISDIR') {
    return bwkError(
      'BWK_ERR_BANK_KEY_INVALID',
      {
        key,
        reason:
          'the fs bank cannot hold both "x" and "x/..." keys: a part of this key is an object, or the key is a prefix of other objects',
      },
      { cause: err },
    );
  }
  return ioError(key, err);
}

/** fh.write may write less than asked; loop until every byte is down. */
export async function writeAll(fh: FileHandle, bytes: Buffer): Promise<void> {
  for (let at = 0; at < bytes.length;) at += (await fh.write(bytes, at)).bytesWritten;
}

/** Writes buffers with as few writev calls as the kernel takes (partial writes go on where they stopped). */
export async function writevAll(fh: FileHandle, buffers: Buffer[]): Promise<void> {
  const rest = buffers.filter((b) => b.length > 0);
  while (rest.length > 0) {
    let written = (await fh.writev(rest)).bytesWritten;
    while (rest.length > 0 && written >= rest[0]!.length) written -= rest.shift()!.length;
    if (written > 0) rest[0] = rest[0]!.subarray(written);
  }
}

/** Makes a rename or link durable; some filesystems cannot fsync a directory, hence best effort. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r').catch(() => null);
  if (fh)
    await fh
      .sync()
      .catch(() => undefined)
      .finally(() => fh.close().catch(() => undefined));
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
