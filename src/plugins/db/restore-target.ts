/**
 * Where a `<family>.database` is restored to, decided and reported alike by every family: a target
 * database and server (by default the original ones), and what to do when that database exists.
 */
import type { HookContext, Resource, RestoreContext } from '../api.js';
import { PluginError, resourceRef } from '../api.js';
import { bwkError, reasonOf } from '../../core/errors.js';
import type { DbTools } from './db-tools.js';
import { databaseIdOf } from './protectables.js';
import type { DbServer } from './server-config.js';

export interface RestoreTarget<S extends DbServer> {
  server: S;
  database: string;
  conflict: 'fail' | 'drop';
}

const describeTarget = (t: { server: DbServer; database: string }): string => `database "${t.database}" on server "${t.server.name}"`;

/** BWK_ERR_PARAMETERS_INVALID for the restore parameters of `resource`. */
export const invalidRestore = (resource: Resource, reason: string): Error =>
  bwkError('BWK_ERR_PARAMETERS_INVALID', { kind: 'restore', key: resourceRef(resource), reason });

/** Refuses, before a restore record exists, a target server the provider does not configure. */
export function checkTargetServer(servers: ReadonlyMap<string, DbServer>, resource: Resource, parameters: Record<string, unknown>): void {
  const name = parameters.target_server;
  if (typeof name === 'string' && !servers.has(name)) {
    throw invalidRestore(resource, `target_server "${name}" is not configured (configured: ${[...servers.keys()].join(', ')})`);
  }
}

/**
 * The target of the restore of `ctx.resource`, a `type` database; `checkDatabase` may refuse the
 * target database's name before the server is looked up.
 */
/**
 * The `<server>/<database>` a restore of a database resource writes into (its resource scope's
 * restoreTargets): target_server and target_database when given, else where it came from.
 */
export function databaseRestoreTargets(type: string, resource: { id: string }, p: Record<string, unknown>): string[] {
  const source = databaseIdOf(type, resource.id);
  const server = typeof p.target_server === 'string' ? p.target_server : source.server;
  const database = typeof p.target_database === 'string' ? p.target_database : source.database;
  return [`${server}/${database}`];
}

export function restoreTargetOf<S extends DbServer>(
  tools: DbTools<S>,
  ctx: RestoreContext,
  type: string,
  checkDatabase: (database: string) => void = () => undefined,
): RestoreTarget<S> {
  const source = databaseIdOf(type, ctx.resource.id);
  const p = ctx.parameters;
  const database = typeof p.target_database === 'string' ? p.target_database : source.database;
  checkDatabase(database);
  return {
    server: tools.server(typeof p.target_server === 'string' ? p.target_server : source.server, type, ctx.resource.id),
    database,
    conflict: p.conflict === 'drop' ? 'drop' : 'fail',
  };
}

/** Conflict "fail" with an existing target: refused before the target is touched. */
export function targetExists(target: RestoreTarget<DbServer>): Error {
  return new PluginError(
    `restore target ${describeTarget(target)} already exists; pass conflict "drop" to replace it, or choose another target_database`,
    { code: 'BWK_ERR_RESTORE_CONFLICT' },
  );
}

export function restoreFailed(label: string, target: RestoreTarget<DbServer>, reason: string): Error {
  return bwkError('BWK_ERR_RESTORE_FAILED', { resource: label, target: describeTarget(target), reason });
}

/** Drops a database a failed restore leaves behind; a failure to drop is only logged, as `warning`. */
export async function dropQuietly<S extends DbServer>(
  tools: { dropDatabase(server: S, database: string, signal: AbortSignal): Promise<void> },
  ctx: HookContext,
  server: S,
  database: string,
  warning: string,
): Promise<void> {
  try {
    // Not ctx.signal: cleanup after a cancellation must still run.
    await tools.dropDatabase(server, database, AbortSignal.timeout(60_000));
  } catch (err) {
    ctx.logger.warn(warning, { database, error: reasonOf(err) });
  }
}
