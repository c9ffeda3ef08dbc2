/**
 * Filesystem steps of a restore that never follow a symlink found under the target: every path
 * component below the target root is checked with lstat before use, final components are created
 * with O_EXCL / O_NOFOLLOW, and replacements are renames (which replace a link, not its referent).
 * Paths are bytes, since archived names need not be UTF-8.
 */
import { lstat, mkdir } from 'node:fs/promises';
import { ancestors, unsafeEntry } from './entry-path.js';
import { displayPath } from './manifest.js';

export type DiskKind = 'missing' | 'dir' | 'file' | 'symlink' | 'other' | 'blocked';

const SLASH = Buffer.from('/');

/** `root/rel` as bytes; "." is the root itself. */
export function joinRoot(root: Buffer, rel: Buffer): Buffer {
  if (rel.length === 1 && rel[0] === 0x2e) return root;
  return root[root.length - 1] === 0x2f ? Buffer.concat([root, rel]) : Buffer.concat([root, SLASH, rel]);
}

/** The parent of a relative entry path ("." for a top-level entry). */
export function parentOf(rel: Buffer): Buffer {
  const i = rel.lastIndexOf(0x2f);
  return i < 0 ? Buffer.from('.') : rel.subarray(0, i);
}

/** What is at `path` without following a final symlink; `blocked` when an ancestor is not a directory. */
export async function diskKind(path: Buffer | string): Promise<DiskKind> {
  try {
    const st = await lstat(path);
    if (st.isDirectory()) return 'dir';
    if (st.isSymbolicLink()) return 'symlink';
    return st.isFile() ? 'file' : 'other';
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ENOENT') return 'missing';
    if (code === 'ENOTDIR') return 'blocked';
    throw err;
  }
}

export type AncestorCheck = { kind: 'ok' } | { kind: 'symlink' | 'notdir'; at: Buffer };

/**
 * Looks at the on-disk ancestors of an entry below the root, nearest the root first: the first
 * symlink or non-directory is reported; a missing one ends the check (nothing deeper exists).
 * `cache` (optional) remembers directories already seen during one pass.
 */
export async function checkAncestors(root: Buffer, rel: Buffer, cache?: Map<string, DiskKind>): Promise<AncestorCheck> {
  for (const a of ancestors(rel)) {
    const key = a.toString('latin1');
    let kind = cache?.get(key);
    if (kind === undefined) {
      kind = await diskKind(joinRoot(root, a));
      if (cache) {
        if (cache.size > 4096) cache.clear();
        cache.set(key, kind);
      }
    }
    if (kind === 'missing') return { kind: 'ok' };
    if (kind === 'dir') continue;
    return { kind: kind === 'symlink' ? 'symlink' : 'notdir', at: a };
  }
  return { kind: 'ok' };
}

/**
 * Makes sure every ancestor of `rel` exists as a real directory, creating missing ones (0700: the
 * archive's own directory entries set final modes later). Throws BWK_ERR_UNSAFE_ENTRY on a symlink;
 * returns the first non-directory ancestor, if any, for the caller's conflict rule.
 */
export async function ensureParentDirs(root: Buffer, rel: Buffer, target: string, verified?: Set<string>): Promise<Buffer | null> {
  for (const a of ancestors(rel)) {
    // Directories this restore already checked or made are not looked at again for every file below them.
    const seen = verified === undefined ? undefined : a.toString('latin1');
    if (seen !== undefined && verified!.has(seen)) continue;
    const path = joinRoot(root, a);
    let kind = await diskKind(path);
    if (kind === 'missing') {
      try {
        await mkdir(path, { mode: 0o700 });
        if (seen !== undefined) verified!.add(seen);
        continue;
      } catch (err) {
        if ((err as { code?: unknown }).code !== 'EEXIST') throw err;
        kind = await diskKind(path);
      }
    }
    if (kind === 'dir') {
      if (seen !== undefined) verified!.add(seen);
      continue;
    }
    if (kind === 'symlink') throw symlinkOnDisk(rel, a, target);
    return a;
  }
  return null;
}

export function symlinkOnDisk(rel: Buffer, at: Buffer, target: string): Error {
  return unsafeEntry(rel, target, `"${displayPath(at)}" is a symlink on disk in the target; remove it or restore into an empty directory`);
}

/** Seconds as a number for utimes, from nanoseconds (sub-microsecond digits may round). */
export function nsToSeconds(ns: bigint): number {
  return Number(ns / 1_000_000_000n) + Number(ns % 1_000_000_000n) / 1e9;
}
