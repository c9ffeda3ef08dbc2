/**
 * The root an fs.directory restore writes under, fixed when the restore runs rather than when it was
 * requested: resolved, checked against the restore policy, then created one level at a time without
 * following a symlink. Between the request and this moment another resource of the same restore may
 * have planted a symlink on the way (`A/p/root -> /`); resolving again and checking the real path is
 * what keeps the target inside the policy. Entries below the root are guarded by safe-fs.ts.
 */
import { mkdir, realpath } from 'node:fs/promises';
import { posix } from 'node:path';
import type { RestorePolicy } from '../api.js';
import { bwkError } from '../../core/errors.js';
import { realpathLoose } from '../../common/real-paths.js';
import { assertTargetAllowed } from './restore-target.js';
import { diskKind } from './safe-fs.js';

/** More new levels than any real restore target needs; a bound so no target makes the walk run long. */
export const MAX_NEW_LEVELS = 64;

/** Where `target` resolves now, refused unless the policy allows it there. */
export async function resolveRestoreRoot(target: string, policy: RestorePolicy): Promise<string> {
  const root = await realpathLoose(target);
  await assertTargetAllowed(target, root, policy);
  return root;
}

const changed = (target: string, why: string): Error =>
  bwkError('BWK_ERR_RESTORE_TARGET_DENIED', { target, reason: `it changed while the restore ran: ${why}; nothing was written there` });

/**
 * Makes `root` (absolute, resolved by resolveRestoreRoot) exist as a chain of real directories: each
 * component is looked at with lstat and a missing one is created by itself (mode 0700; the archive's
 * own root entry sets the final mode). A symlink or non-directory anywhere on the way is refused,
 * never followed, and nothing is created past it.
 */
export async function createRestoreRoot(target: string, root: string): Promise<void> {
  const parts = root.split('/').filter((p) => p.length > 0);
  let created = 0;
  let at = '/';
  for (const part of parts) {
    at = posix.join(at, part);
    const kind = await diskKind(at);
    if (kind === 'dir') continue;
    if (kind !== 'missing') throw changed(target, `${at} is ${kind === 'symlink' ? 'a symlink' : 'not a directory'}`);
    if (++created > MAX_NEW_LEVELS) {
      throw bwkError('BWK_ERR_RESTORE_TARGET_DENIED', { target, reason: `it would create more than ${MAX_NEW_LEVELS} directory levels` });
    }
    try {
      await mkdir(at, { mode: 0o700 });
    } catch (err) {
      // Someone made it meanwhile: fine if it is a real directory, refused otherwise.
      if ((err as { code?: unknown }).code !== 'EEXIST' || (await diskKind(at)) !== 'dir') throw err;
    }
  }
  // Every existing component was a real directory when the walk passed it; this catches one swapped after.
  if ((await realpath(root)) !== root) throw changed(target, `${root} no longer resolves to itself`);
}
