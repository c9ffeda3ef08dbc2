/**
 * Restore `main` of a mariadb.database. MariaDB has no RENAME DATABASE, RENAME TABLE cannot move views
 * or tables with triggers to another database, and routines and events cannot be moved at all, so the
 * postgres plugin's "build aside, then rename into place" is not available. Instead:
 *   1. meta.json, the dump's SHA-256 and its header and trailer are checked (a full read) first;
 *   2. an existing target with conflict "fail" is refused before it is touched;
 *   3. a target that does not exist is created and loaded directly; on failure it is dropped again, so
 *      it is absent as before (CREATE DATABASE without IF NOT EXISTS: a database someone else created
 *      meanwhile makes the restore fail and is never ours to drop);
 *   4. an existing target with conflict "drop" is replaced only once the dump has been proven to load
 *      into a temporary database (`bwk_restore_<hex>`, always dropped): then the target is dropped,
 *      created and loaded again. Should that second load fail, the partial target is dropped too: the
 *      checkpoint still holds the data and the restore can simply be run again.
 * Loading is the `mariadb` client with the dump on stdin, hash-checked again as it streams.
 */
import { randomBytes } from 'node:crypto';
import type { RestoreContext, RestorePolicy, Resource } from '../api.js';
import { resourceRef } from '../api.js';
import { reasonOf } from '../../core/errors.js';
import { runToolOnDump, storedDump } from '../db/bank-to-tool.js';
import type { StoredDump } from '../db/bank-to-tool.js';
import { loadSavedDumpMeta } from '../db/dump-meta.js';
import { abortError } from '../db/dump-to-bank.js';
import { parseDatabaseId } from '../db/protectables.js';
import { checkTargetServer, dropQuietly, invalidRestore, restoreFailed, restoreTargetOf, targetExists } from '../db/restore-target.js';
import type { RestoreTarget } from '../db/restore-target.js';
import { describeExit, succeeded } from '../db/run-tool.js';
import { checkSqlDump } from './dump-format.js';
import { clientArgs, isDatabaseCharset } from './mariadb-tools.js';
import type { DatabaseCharset, MariaDbTools } from './mariadb-tools.js';
import type { MariaDbServer } from './options.js';
import { DUMP_OBJECT } from './protect.js';
import { MARIADB_DATABASE, SYSTEM_DATABASES } from './schemas.js';

const DROP_WARNING = 'mariadb: could not drop a database left by a failed restore';

/** A system database of the server is never a restore target. */
function refuseSystemDatabase(resource: Resource, database: string): void {
  if (SYSTEM_DATABASES.has(database.toLowerCase()))
    throw invalidRestore(resource, `"${database}" is a system database of the server and cannot be a restore target`);
}

/** Refuses, before a restore record exists, an unconfigured target server or a system database as target. */
export function checkMariaDbRestore(
  tools: MariaDbTools,
  resource: Resource,
  parameters: Record<string, unknown>,
  _policy: RestorePolicy,
): void {
  if (resource.type !== MARIADB_DATABASE) return;
  checkTargetServer(tools.servers, resource, parameters);
  const database =
    typeof parameters.target_database === 'string' ? parameters.target_database : (parseDatabaseId(resource.id)?.database ?? null);
  if (database !== null) refuseSystemDatabase(resource, database);
}

export async function restoreDatabase(tools: MariaDbTools, ctx: RestoreContext): Promise<void> {
  const label = resourceRef({ type: MARIADB_DATABASE, id: ctx.resource.id });
  // Checked again here: checkRestore is advisory for callers that skip it.
  const target = restoreTargetOf(tools, ctx, MARIADB_DATABASE, (database) => refuseSystemDatabase(ctx.resource, database));
  const meta = await loadSavedDumpMeta(ctx.bank, label, DUMP_OBJECT, ctx.savedInfo);
  const stored = storedDump(ctx, meta, label, 'restoring');
  await checkSqlDump(storedDump(ctx, meta, label, 'checking the dump'));
  const existing = await tools.databaseCharset(target.server, target.database, ctx.signal);
  if (existing && target.conflict === 'fail') throw targetExists(target);
  const recorded = meta.source.charset;
  const charset: DatabaseCharset | null = isDatabaseCharset(recorded) ? recorded : existing;
  if (existing) {
    const aside = `bwk_restore_${randomBytes(8).toString('hex')}`;
    try {
      await tools.createDatabase(target.server, aside, charset, ctx.signal);
    } catch (err) {
      throw restoreFailed(
        label,
        target,
        `the temporary database "${aside}" the dump is first loaded into could not be created, so the existing target was not changed ` +
          `(the user needs CREATE and DROP on bwk_restore_%): ${reasonOf(err)}`,
      );
    }
    try {
      await load(tools, stored, target, aside, 'the dump did not load into a temporary database, so the existing target was not changed');
    } finally {
      await dropQuietly(tools, ctx, target.server, aside, DROP_WARNING);
    }
    try {
      await tools.dropDatabase(target.server, target.database, ctx.signal);
    } catch (err) {
      throw restoreFailed(
        label,
        target,
        `the existing database could not be dropped (it may be partly dropped; the checkpoint is intact, retry): ${reasonOf(err)}`,
      );
    }
  }
  try {
    await tools.createDatabase(target.server, target.database, charset, ctx.signal);
  } catch (err) {
    // Without an existing target this is usually someone else's database appearing meanwhile: left alone.
    if (!existing) throw err;
    throw restoreFailed(
      label,
      target,
      `the existing database was dropped but could not be created again (the checkpoint is intact, retry): ${reasonOf(err)}`,
    );
  }
  try {
    await load(
      tools,
      stored,
      target,
      target.database,
      existing
        ? 'the existing database had been replaced; the partial restore was dropped, retry the restore'
        : 'the partial restore was dropped, so the target is absent as before',
    );
  } catch (err) {
    await dropQuietly(tools, ctx, target.server, target.database, DROP_WARNING);
    throw err;
  }
  ctx.progress({ done: meta.size, total: meta.size, unit: 'bytes' });
}

/**
 * Feeds the dump to the `mariadb` client connected to `database`. `--binary-mode` keeps data bytes as
 * they are and turns off the client's own commands (`\!` runs a shell) except DELIMITER, which the
 * dump needs for triggers and routines; a large max-allowed-packet leaves the server's the only limit.
 */
async function load(
  tools: MariaDbTools,
  stored: StoredDump,
  target: RestoreTarget<MariaDbServer>,
  database: string,
  outcome: string,
): Promise<void> {
  const { server } = target;
  const args = [
    ...clientArgs(server),
    '--batch',
    '--binary-mode',
    `--connect-timeout=${server.connect_timeout}`,
    '--max-allowed-packet=1073741824',
    `--database=${database}`,
  ];
  const { exit } = await runToolOnDump(stored, 'mariadb', args, await tools.session(server));
  if (succeeded(exit)) return;
  throw (
    abortError(stored.signal) ??
    restoreFailed(stored.label, target, `mariadb ${describeExit(exit)}; ${outcome}. Its last output: ${exit.stderr || '(none)'}`)
  );
}
