/**
 * The parts of a restore that format 3 brought: hard links, FIFOs and devices, extended attributes,
 * and the report of every entry not restored as archived (a socket, a device when not root, an
 * attribute the target refused). Nothing is left out silently: each one is logged, counted and
 * listed in the restore's progress message, and with `on_not_restored: fail` the restore fails
 * naming the first.
 */
import { execFile } from 'node:child_process';
import { chmod, lchown, link, lutimes, rename, unlink } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { Logger } from '../../common/logging.js';
import { bwkError } from '../../core/errors.js';
import { displayPath, resourceLabel, utf8OrNull } from './manifest.js';
import type { Entry, SpecialType, Xattr } from './manifest.js';
import { joinRoot, nsToSeconds } from './safe-fs.js';
import { writeXattrs } from './xattrs.js';

const run = promisify(execFile);
const LISTED = 1000;

export interface NotRestored {
  path: string;
  kind: string;
  reason: string;
}

/** Entries restored differently from what was archived: counted, the first ones listed. */
export class RestoreReport {
  count = 0;
  readonly listed: NotRestored[] = [];

  constructor(
    private readonly resource: string,
    private readonly logger: Logger,
  ) {}

  add(path: Buffer, kind: string, reason: string): void {
    this.count++;
    const item = { path: displayPath(path), kind, reason };
    if (this.listed.length < LISTED) this.listed.push(item);
    this.logger.warn('fs.directory: entry not restored as archived', { resource: this.resource, ...item });
  }

  /** The summary for the restore's last progress message, or undefined when everything was restored. */
  message(): string | undefined {
    if (this.count === 0) return undefined;
    const shown = this.listed.slice(0, 20).map((n) => `"${n.path}" (${n.kind}: ${n.reason})`);
    const more = this.count > shown.length ? ', ...' : '';
    return `${this.count} entr${this.count === 1 ? 'y' : 'ies'} not restored as archived: ${shown.join(', ')}${more}`;
  }

  /** With on_not_restored "fail": the error naming the first. */
  failure(): Error {
    const first = this.listed[0]!;
    return bwkError('BWK_ERR_ENTRIES_NOT_RESTORED', {
      resource: resourceLabel(this.resource),
      count: this.count,
      first: `"${first.path}" (${first.kind}: ${first.reason})`,
    });
  }
}

const MKNOD_TYPE: Record<Exclude<SpecialType, 'socket'>, string> = { fifo: 'p', char_device: 'c', block_device: 'b' };

/**
 * Recreates a FIFO or device with mknod(1) (Node has no mknod call); the path goes as one argument,
 * never through a shell. Returns a reason when it was not recreated.
 */
export async function makeSpecial(
  root: Buffer,
  e: Entry & { type: SpecialType },
  opts: { isRoot: boolean; setOwner: boolean; mode: number },
): Promise<string | null> {
  if (e.type === 'socket') return 'a socket belongs to the process that listens on it; it is not recreated';
  if (e.type !== 'fifo' && !opts.isRoot) return 'devices are recreated only by a restore running as root';
  const path = joinRoot(root, e.path);
  const text = utf8OrNull(path);
  if (text === null) return 'the path is not valid UTF-8 (mknod(1) takes text)';
  const args = ['-m', (opts.mode & 0o7777).toString(8), '--', text, MKNOD_TYPE[e.type]];
  if (e.type !== 'fifo') args.push(String(e.rdev[0]), String(e.rdev[1]));
  try {
    await run('mknod', args, { timeout: 30_000 });
  } catch (err) {
    return `mknod failed: ${String((err as { stderr?: unknown }).stderr ?? (err as Error).message).trim()}`;
  }
  // chown before chmod: chown clears setuid/setgid bits.
  if (opts.setOwner) await lchown(path, e.uid, e.gid);
  await chmod(path, opts.mode);
  await lutimes(path, Date.now() / 1000, nsToSeconds(e.mtimeNs));
  return null;
}

/**
 * Makes `e.path` another name of the file restored at `e.target` (placed by the caller: `temp` is
 * where to link first when an existing entry is replaced).
 */
export async function makeHardlink(root: Buffer, e: Entry & { type: 'hardlink' }, temp: Buffer | null): Promise<void> {
  const target = joinRoot(root, e.target);
  const path = joinRoot(root, e.path);
  if (temp === null) return link(target, path);
  await link(target, temp);
  await rename(temp, path).catch(async (err: unknown) => {
    await unlink(temp).catch(() => undefined);
    throw err;
  });
}

/** Sets an entry's attributes (minus skipped namespaces) and reports each one the target refused. */
export function applyXattrs(
  root: Buffer,
  path: Buffer,
  xattrs: readonly Xattr[] | undefined,
  skip: ReadonlySet<string>,
  report: RestoreReport,
): void {
  const wanted = (xattrs ?? []).filter(([n]) => !skip.has(n.slice(0, n.indexOf('.'))));
  if (wanted.length === 0) return;
  const refused = writeXattrs(joinRoot(root, path), wanted);
  if (refused.length > 0) report.add(path, 'xattrs', `refused by the target: ${refused.join(', ')}`);
}
