/**
 * Archive entry paths come from the bank, which a restore must not trust: a crafted or corrupted
 * manifest could name `../etc/passwd`, `/etc/passwd`, or `link/file` under an archived symlink
 * `link -> /etc`. Every path is checked here before a restore writes anything.
 */
import { bwkError } from '../../core/errors.js';
import type { BulwarkError } from '../../core/errors.js';
import { displayPath } from './manifest.js';
import type { Entry } from './manifest.js';

const SLASH = 0x2f;

/** Why a relative entry path is unsafe, or null when it is fine. "." (the root) is for directories only. */
export function entryPathProblem(path: Buffer, type: Entry['type']): string | null {
  if (path.length === 0) return 'empty path';
  if (path.includes(0)) return 'contains a NUL byte';
  if (path[0] === SLASH) return 'absolute path';
  if (path.length === 1 && path[0] === 0x2e) return type === 'dir' ? null : 'only the root directory may be "."';
  for (const seg of splitSegments(path)) {
    if (seg.length === 0) return 'empty path segment';
    if (seg.length === 2 && seg[0] === 0x2e && seg[1] === 0x2e) return '".." segment';
    if (seg.length === 1 && seg[0] === 0x2e) return '"." segment';
  }
  return null;
}

export function splitSegments(path: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= path.length; i++) {
    if (i === path.length || path[i] === SLASH) {
      out.push(path.subarray(start, i));
      start = i + 1;
    }
  }
  return out;
}

/** Every proper ancestor of a relative path, shortest first: `a/b/c` → `a`, `a/b`. */
export function ancestors(path: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < path.length; i++) if (path[i] === SLASH) out.push(path.subarray(0, i));
  return out;
}

/** A Map/Set key for a byte path (latin1 maps each byte to one char, so it is lossless). */
export const pathKey = (path: Buffer): string => path.toString('latin1');

export function unsafeEntry(path: Buffer, target: string, reason: string): BulwarkError {
  return bwkError('BWK_ERR_UNSAFE_ENTRY', { entry: displayPath(path), target, reason });
}

/** Throws BWK_ERR_UNSAFE_ENTRY when an entry's own path is unsafe. */
export function assertEntryPath(entry: Entry, target: string): void {
  const problem = entryPathProblem(entry.path, entry.type);
  if (problem !== null) throw unsafeEntry(entry.path, target, problem);
}

/**
 * The symlinks an archive creates. An entry below one of them would be written through the link
 * (wherever it points), so such entries are refused.
 */
export class ArchivedSymlinks {
  private readonly links = new Set<string>();

  get count(): number {
    return this.links.size;
  }

  add(entry: Entry): void {
    if (entry.type === 'symlink') this.links.add(pathKey(entry.path));
  }

  /** The archived symlink an entry lives under, or null. */
  linkAbove(path: Buffer): Buffer | null {
    if (this.links.size === 0) return null;
    for (const a of ancestors(path)) if (this.links.has(pathKey(a))) return a;
    return null;
  }

  assertNotBelowLink(entry: Entry, target: string): void {
    const link = this.linkAbove(entry.path);
    if (link !== null)
      throw unsafeEntry(entry.path, target, `it lies under "${displayPath(link)}", which the checkpoint restores as a symlink`);
  }
}
