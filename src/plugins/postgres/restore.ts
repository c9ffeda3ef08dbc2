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
import { resourceRef } from '../api.js';
import { reasonOf } from '../../core/errors.js';
import { checkDump, dumpToTempFile, runToolOnDump, storedDump } from '../db/bank-to-tool.js';
import type { StoredDump } from '../db/bank-to-tool.js';
import { loadSavedDumpMeta } from '../db/dump-meta.js';
import { abortError } from '../db/dump-to-bank.js';
import { checkTargetServer, dropQuietly, restoreFailed, restoreTargetOf, targetExists } from '../db/restore-target.js';
import type { RestoreTarget as DatabaseTarget } from '../db/restore-target.js';
import { describeExit, runToolCollect, succeeded } from '../db/run-tool.js';
import type { ToolExit } from '../db/run-tool.js';
import type { PgServer } from './options.js';
import { connectionArgs } from './pg-tools.js';
import type { DatabaseProperties, PgTools } from './pg-tools.js';
import { DUMP_OBJECT } from './protect.js';
import { PG_DATABASE } from './schemas.js';

interface RestoreTarget extends DatabaseTarget<PgServer> {
  jobs: number;
}

const DROP_WARNING = 'postgres: could not drop the temporary restore database';

/** Refuses, before a restore record exists, a target server this provider does not configure. */
export function checkPgRestore(tools: PgTools, resource: Resource, parameters: Record<string, unknown>, _policy: RestorePolicy): void {
  if (resource.type === PG_DATABASE) checkTargetServer(tools.servers, resource, parameters);
}

function targetOf(tools: PgTools, ctx: RestoreContext): RestoreTarget {
  return { ...restoreTargetOf(tools, ctx, PG_DATABASE), jobs: typeof ctx.parameters.jobs === 'number' ? ctx.parameters.jobs : 1 };
}

function toolReason(exit: ToolExit): string {
  return `pg_restore ${describeExit(exit)}; the target was not changed. Its last output: ${exit.stderr || '(none)'}`;
}

export async function restoreDatabase(tools: PgTools, ctx: RestoreContext): Promise<void> {
  const label = resourceRef({ type: PG_DATABASE, id: ctx.resource.id });
  const target = targetOf(tools, ctx);
  const meta = await loadSavedDumpMeta(ctx.bank, label, DUMP_OBJECT, ctx.savedInfo);
  const stored = storedDump(ctx, meta, label, 'restoring');
  const checking = storedDump(ctx, meta, label, 'checking the dump');
  // --jobs needs a seekable file: copying it there is also the full hash check.
  const file = target.jobs > 1 ? await dumpToTempFile(checking) : null;
  try {
    if (!file) await checkDump(checking);
    const existing = await tools.databaseProperties(target.server, target.database, ctx.signal);
    if (existing && target.conflict === 'fail') throw targetExists(target);
    const props = (meta.source.properties as DatabaseProperties | undefined) ?? existing ?? { encoding: 'UTF8', collate: 'C', ctype: 'C' };
    const aside = `bwk_restore_${randomBytes(8).toString('hex')}`;
    await tools.createDatabase(target.server, aside, props, ctx.signal);
    try {
      await fillDatabase(tools, stored, target, aside, file?.path ?? null);
    } catch (err) {
      await dropQuietly(tools, ctx, target.server, aside, DROP_WARNING);
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
      await dropQuietly(tools, ctx, target.server, aside, DROP_WARNING);
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
