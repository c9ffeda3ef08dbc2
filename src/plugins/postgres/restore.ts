/**
 * Restore `main` of a postgres.database. Order matters for safety:
 *   1. meta.json and the dump's SHA-256 are checked (a full read) before anything is touched;
 *   2. an existing target with conflict "fail" is refused before it is touched;
 *   3. pg_restore fills a new database with a temporary name ("aside"), from the bank stream (or a
 *      private temp file with --jobs), the hash checked again as it streams;
 *   4. only once that succeeded is the target dropped (conflict "drop") and the aside database renamed
 *      into place. A failed restore drops the aside database and leaves the target as it was.
 */
import { randomBytes } from 'node:crypto';
import type { RestoreContext, RestorePolicy, Resource } from '../api.js';
import { PluginError, resourceRef } from '../api.js';
import { bwkError, reasonOf } from '../../core/errors.js';
import { checkDump, dumpToTempFile, runToolOnDump } from '../db/bank-to-tool.js';
import type { StoredDump } from '../db/bank-to-tool.js';
import { checkSavedInfo, corrupt, loadDumpMeta } from '../db/dump-meta.js';
import { abortError } from '../db/dump-to-bank.js';
import { describeExit, runToolCollect, succeeded } from '../db/run-tool.js';
import type { ToolExit } from '../db/run-tool.js';
import type { PgServer } from './options.js';
import { connectionArgs } from './pg-tools.js';
import type { DatabaseProperties, PgTools } from './pg-tools.js';
import { DUMP_OBJECT } from './protect.js';
import { parseDatabaseId } from './protectable.js';
import { PG_DATABASE } from './schemas.js';

interface RestoreTarget {
  server: PgServer;
  database: string;
  conflict: 'fail' | 'drop';
  jobs: number;
}

/** Refuses, before a restore record exists, a target server this provider does not configure. */
export function checkPgRestore(tools: PgTools, resource: Resource, parameters: Record<string, unknown>, _policy: RestorePolicy): void {
  if (resource.type !== PG_DATABASE) return;
  const name = parameters.target_server;
  if (typeof name === 'string' && !tools.servers.has(name)) {
    throw bwkError('BWK_ERR_PARAMETERS_INVALID', {
      kind: 'restore',
      key: resourceRef({ type: PG_DATABASE, id: resource.id }),
      reason: `target_server "${name}" is not configured (configured: ${[...tools.servers.keys()].join(', ')})`,
    });
  }
}

function targetOf(tools: PgTools, ctx: RestoreContext): RestoreTarget {
  const source = parseDatabaseId(ctx.resource.id);
  if (!source)
    throw bwkError('BWK_ERR_RESOURCE_NOT_FOUND', {
      type: PG_DATABASE,
      id: ctx.resource.id,
      reason: 'the id must be "<server>/<database>"',
    });
  const p = ctx.parameters;
  const serverName = typeof p.target_server === 'string' ? p.target_server : source.server;
  return {
    server: tools.server(serverName, PG_DATABASE, ctx.resource.id),
    database: typeof p.target_database === 'string' ? p.target_database : source.database,
    conflict: p.conflict === 'drop' ? 'drop' : 'fail',
    jobs: typeof p.jobs === 'number' ? p.jobs : 1,
  };
}

const describeTarget = (t: { server: PgServer; database: string }): string => `database "${t.database}" on server "${t.server.name}"`;

function restoreFailed(label: string, target: RestoreTarget, reason: string): Error {
  return bwkError('BWK_ERR_RESTORE_FAILED', { resource: label, target: describeTarget(target), reason });
}

function toolReason(exit: ToolExit): string {
  return `pg_restore ${describeExit(exit)}; the target was not changed. Its last output: ${exit.stderr || '(none)'}`;
}

export async function restoreDatabase(tools: PgTools, ctx: RestoreContext): Promise<void> {
  const label = resourceRef({ type: PG_DATABASE, id: ctx.resource.id });
  const target = targetOf(tools, ctx);
  const meta = await loadDumpMeta(ctx.bank, label);
  if (meta.object !== DUMP_OBJECT) throw corrupt(label, `meta.json names object "${meta.object}", expected "${DUMP_OBJECT}"`);
  checkSavedInfo(label, meta, ctx.savedInfo);
  const stored: StoredDump = {
    bank: ctx.bank,
    meta,
    label,
    signal: ctx.signal,
    progress: (p) => ctx.progress({ ...p, message: 'restoring' }),
  };
  const checking: StoredDump = { ...stored, progress: (p) => ctx.progress({ ...p, message: 'checking the dump' }) };
  // --jobs needs a seekable file: copying it there is also the full hash check.
  const file = target.jobs > 1 ? await dumpToTempFile(checking) : null;
  try {
    if (!file) await checkDump(checking);
    const existing = await tools.databaseProperties(target.server, target.database, ctx.signal);
    if (existing && target.conflict === 'fail') {
      throw new PluginError(
        `restore target ${describeTarget(target)} already exists; pass conflict "drop" to replace it, or choose another target_database`,
        { code: 'BWK_ERR_RESTORE_CONFLICT' },
      );
    }
    const props = (meta.source.properties as DatabaseProperties | undefined) ?? existing ?? { encoding: 'UTF8', collate: 'C', ctype: 'C' };
    const aside = `bwk_restore_${randomBytes(8).toString('hex')}`;
    await tools.createDatabase(target.server, aside, props, ctx.signal);
    try {
      await fillDatabase(tools, stored, target, aside, file?.path ?? null);
    } catch (err) {
      await dropQuietly(tools, ctx, target.server, aside);
      throw err;
    }
    await swapIn(tools, ctx, label, target, aside, existing !== null);
  } finally {
    await file?.dispose();
  }
  ctx.progress({ done: meta.size, total: meta.size, unit: 'bytes' });
}

/** pg_restore into `database`, from the checked bank stream or from `file`. */
async function fillDatabase(
  tools: PgTools,
  stored: StoredDump,
  target: RestoreTarget,
  database: string,
  file: string | null,
): Promise<void> {
  const session = await tools.session(target.server);
  const args = ['--no-owner', '--exit-on-error', '--no-password', ...connectionArgs(target.server, database)];
  const { exit } = file
    ? await runToolCollect('pg_restore', [...args, `--jobs=${target.jobs}`, file], {
        env: session.env,
        secrets: session.secrets,
        signal: stored.signal,
      })
    : await runToolOnDump(stored, 'pg_restore', args, { env: session.env, secrets: session.secrets });
  if (succeeded(exit)) return;
  throw abortError(stored.signal) ?? restoreFailed(stored.label, target, toolReason(exit));
}

/** Replaces the target by the restored aside database; on failure says where the data is. */
async function swapIn(
  tools: PgTools,
  ctx: RestoreContext,
  label: string,
  target: RestoreTarget,
  aside: string,
  replace: boolean,
): Promise<void> {
  if (replace) {
    try {
      await tools.dropDatabase(target.server, target.database, ctx.signal);
    } catch (err) {
      await dropQuietly(tools, ctx, target.server, aside);
      throw restoreFailed(
        label,
        target,
        `the existing database could not be dropped (close its sessions and retry); it was not changed: ${reasonOf(err)}`,
      );
    }
  }
  try {
    await tools.renameDatabase(target.server, aside, target.database, ctx.signal);
  } catch (err) {
    // Not dropped: once the target is gone this is the only copy of the restored data.
    throw restoreFailed(
      label,
      target,
      `the restored data is complete in database "${aside}" but could not be renamed to "${target.database}" (rename it yourself): ` +
        `${reasonOf(err)}`,
    );
  }
}

async function dropQuietly(tools: PgTools, ctx: RestoreContext, server: PgServer, database: string): Promise<void> {
  try {
    // Not ctx.signal: cleanup after a cancellation must still run.
    await tools.dropDatabase(server, database, AbortSignal.timeout(60_000));
  } catch (err) {
    ctx.logger.warn('postgres: could not drop the temporary restore database', { database, error: reasonOf(err) });
  }
}
