/**
 * Bulwark's own files hold other people's data (packs carry the text of 0600 source files) and secrets
 * (token hashes, plans), so every directory Bulwark creates is 0700 and every file it writes is 0600,
 * whatever the umask. Modes are passed to each mkdir and open rather than set with process.umask(),
 * which is process-wide and cannot be changed from worker threads. A umask only removes bits, so
 * these modes come out as asked for under any umask that leaves the owner's bits alone.
 */
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';

/** Directories Bulwark creates: the home, banks, chunk directories, logs, temporary directories. */
export const PRIVATE_DIR_MODE = 0o700;
/** Files Bulwark writes: the catalog, bank objects and packs, leases, logs, temporary files. */
export const PRIVATE_FILE_MODE = 0o600;

/** Creates `path` and any missing parent as 0700 (existing ones are left as they are). */
export function makePrivateDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: PRIVATE_DIR_MODE });
}

/**
 * Sets a file Bulwark owns to 0600 when it exists: for files a library creates (SQLite's database and
 * its -wal and -shm files), and files a version of Bulwark before this one created with the umask.
 * A file that is not there, or not ours to change (EPERM: another user's), is left alone.
 */
export function makeFilePrivate(path: string): void {
  try {
    chmodSync(path, PRIVATE_FILE_MODE);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'EPERM') throw err;
  }
}

/**
 * A warning when a directory Bulwark keeps data in lets its group or others in (a home created before
 * Bulwark made it 0700, or loosened by hand); undefined when it is private or does not exist. Not a
 * refusal: the operator may mean it (a shared group), and the fix is theirs to run.
 */
export function looseDirectoryWarning(path: string, what: string): string | undefined {
  let mode: number;
  try {
    mode = statSync(path).mode & 0o777;
  } catch {
    return undefined;
  }
  if ((mode & 0o077) === 0) return undefined;
  const octal = mode.toString(8).padStart(4, '0');
  return `${what} ${path} is mode ${octal}: other local users may read what Bulwark keeps there; run: chmod 700 ${shellQuoted(path)}`;
}

/**
 * Warnings for the home and the banks on this machine when they let other users in (Bulwark creates
 * them 0700, but a home made by an earlier version, or by hand, may be 0755). Never a refusal.
 */
export function privacyWarnings(home: string, banks: string[]): string[] {
  // A bank inside the home is closed along with it: chmod 700 on the home is the one fix to give.
  const outside = [...new Set(banks)].filter((b) => relative(home, b).startsWith('..') || isAbsolute(relative(home, b)));
  const warnings = [looseDirectoryWarning(home, 'Bulwark home'), ...outside.map((b) => looseDirectoryWarning(b, 'bank directory'))];
  return warnings.filter((w): w is string => w !== undefined);
}

/** `path` as one shell word, so the command in a warning can be pasted as it is. */
const shellQuoted = (path: string): string => (/^[\w@%+=:,./-]+$/.test(path) ? path : `'${path.replace(/'/g, `'\\''`)}'`);
