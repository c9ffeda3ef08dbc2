/**
 * Paths as they really lie, for every check of "is this under that root": the restore policy, the
 * fs.directory restore root, resource scopes. One rule everywhere, so no check can be looser than another.
 */
import { realpath } from 'node:fs/promises';
import { posix } from 'node:path';

/**
 * The real path of `p` with symlinks resolved, for the part that exists; the missing tail is
 * appended as is (a target that does not exist yet is still checked where it will really land).
 */
export async function realpathLoose(p: string): Promise<string> {
  const tail: string[] = [];
  let cur = posix.resolve(p);
  for (;;) {
    try {
      return posix.join(await realpath(cur), ...tail.reverse());
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || cur === '/') throw err;
      tail.push(posix.basename(cur));
      cur = posix.dirname(cur);
    }
  }
}

/** Whether `p` is `base` or lies below it (both normalized absolute paths). */
export const isWithin = (p: string, base: string): boolean => p === base || p.startsWith(base.endsWith('/') ? base : `${base}/`);
