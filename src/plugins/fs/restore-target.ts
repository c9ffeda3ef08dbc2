/**
 * Restore parameters and the restore policy check: where a restore may write, decided before any
 * hook runs (checkRestore) and resolved the same way by the restore itself.
 */
import { posix } from 'node:path';
import type { Resource, RestorePolicy } from '../api.js';
import { bwkError } from '../../core/errors.js';
import { isWithin, realpathLoose } from '../../common/real-paths.js';

export type ConflictMode = 'fail' | 'skip' | 'overwrite';
const CONFLICT_MODES: readonly ConflictMode[] = ['fail', 'skip', 'overwrite'];

export interface RestoreParams {
  /** Absolute, normalized (lexically: `..` resolved, no trailing slash). */
  targetPath: string;
  conflict: ConflictMode;
  restoreOwner: boolean;
  /** What an entry not restored as archived (refused attribute, device as non-root) does: listed, or fails the restore. */
  onNotRestored: 'fail' | 'warn';
  /** Extended attributes to leave out of the restore, by namespace. */
  skipXattrNamespaces: ReadonlySet<string>;
}

/** Reads restore parameters (defaults applied here too, for callers that did not apply the schema's). */
export function parseRestoreParams(resource: Resource, params: Record<string, unknown>): RestoreParams {
  const raw = params.target_path ?? resource.id;
  if (typeof raw !== 'string' || !raw.startsWith('/') || raw.includes('\0')) {
    throw bwkError('BWK_ERR_INVALID_INPUT', {
      reason: `fs.directory restore "target_path" must be an absolute path, got ${JSON.stringify(raw)}`,
    });
  }
  const conflict = params.conflict ?? 'fail';
  if (!CONFLICT_MODES.includes(conflict as ConflictMode)) {
    throw bwkError('BWK_ERR_INVALID_INPUT', {
      reason: `fs.directory restore "conflict" must be one of ${CONFLICT_MODES.join(', ')}, got ${JSON.stringify(conflict)}`,
    });
  }
  const restoreOwner = params.restore_owner ?? true;
  if (typeof restoreOwner !== 'boolean') {
    throw bwkError('BWK_ERR_INVALID_INPUT', { reason: 'fs.directory restore "restore_owner" must be true or false' });
  }
  const onNotRestored = params.on_not_restored ?? 'warn';
  if (onNotRestored !== 'fail' && onNotRestored !== 'warn') {
    throw bwkError('BWK_ERR_INVALID_INPUT', { reason: 'fs.directory restore "on_not_restored" must be "fail" or "warn"' });
  }
  const skip = (params.xattrs as { skip_namespaces?: unknown } | undefined)?.skip_namespaces ?? [];
  if (!Array.isArray(skip) || !skip.every((n) => ['user', 'trusted', 'security', 'system'].includes(n as string))) {
    throw bwkError('BWK_ERR_INVALID_INPUT', {
      reason: 'fs.directory restore "xattrs.skip_namespaces" must list namespaces among user, trusted, security, system',
    });
  }
  return {
    targetPath: posix.resolve(raw),
    conflict: conflict as ConflictMode,
    restoreOwner,
    onNotRestored,
    skipXattrNamespaces: new Set(skip as string[]),
  };
}

/** Kernel file systems: writing there configures the machine (or spins forever), it never restores data. */
const SYSTEM_TREES = ['/proc', '/sys', '/dev'];

/**
 * Throws BWK_ERR_RESTORE_TARGET_DENIED unless `target` (as written) and `real` (where it resolves
 * now) both lie under an allowed path, neither lies inside (or at) a forbidden one, and neither is
 * in /proc, /sys or /dev. Messages never name a forbidden path: callers of the API need not learn
 * where the server keeps its state.
 */
export async function assertTargetAllowed(target: string, real: string, policy: RestorePolicy): Promise<void> {
  const deny = (reason: string): Error => bwkError('BWK_ERR_RESTORE_TARGET_DENIED', { target, reason });
  const resolves = real !== target ? ` (it resolves to ${real})` : '';
  if (SYSTEM_TREES.some((t) => isWithin(target, t) || isWithin(real, t))) {
    throw deny(`it is inside a kernel file system (${SYSTEM_TREES.join(', ')})${resolves}; restore into a real directory`);
  }
  for (const f of policy.forbiddenPaths) {
    const lexical = posix.resolve(f);
    const resolved = await realpathLoose(lexical);
    if ([lexical, resolved].some((base) => isWithin(target, base) || isWithin(real, base))) {
      // Where it resolves is not said: that would name where the server keeps its state.
      throw deny("it is inside Bulwark's own state (its home or a bank directory)");
    }
  }
  if (policy.allowedTargetPaths.length === 0) throw deny('the restore policy allows no target paths');
  for (const a of policy.allowedTargetPaths) {
    const lexical = posix.resolve(a);
    if (isWithin(target, lexical) && isWithin(real, await realpathLoose(lexical))) return;
  }
  throw deny(`it is not under an allowed target path (allowed: ${policy.allowedTargetPaths.join(', ')})${resolves}`);
}

/**
 * checkRestore for fs.directory: the target as it resolves when the request arrives. The restore
 * resolves and checks it again when it writes (restore-root.ts): by then a symlink written by another
 * resource of the same restore may lead elsewhere.
 */
export async function checkRestoreTarget(resource: Resource, params: Record<string, unknown>, policy: RestorePolicy): Promise<void> {
  const { targetPath } = parseRestoreParams(resource, params);
  await assertTargetAllowed(targetPath, await realpathLoose(targetPath), policy);
}
