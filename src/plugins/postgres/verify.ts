/**
 * Verify reads the data back rather than trusting a flag: the dump's size and SHA-256 against
 * meta.json, then `pg_restore --list`, which parses the archive's table of contents (a dump that
 * hashes right but is not an archive pg_restore can read is no backup either).
 */
import { resourceRef, type VerifyContext } from '../api.js';
import { checkDump, runToolOnDump, storedDump } from '../db/bank-to-tool.js';
import { corrupt, loadSavedDumpMeta, META_OBJECT } from '../db/dump-meta.js';
import { abortError } from '../db/dump-to-bank.js';
import { describeExit, succeeded } from '../db/run-tool.js';
import { toolEnv } from '../db/server-config.js';
import { DUMP_OBJECT, GLOBALS_OBJECT } from './protect.js';
import { PG_DATABASE, PG_SERVER } from './schemas.js';

export async function verifyDatabase(ctx: VerifyContext): Promise<void> {
  const label = resourceRef({ type: PG_DATABASE, id: ctx.resource.id });
  const meta = await loadSavedDumpMeta(ctx.bank, label, DUMP_OBJECT, ctx.savedInfo);
  const stored = storedDump(ctx, meta, label);
  await checkDump(stored);
  // pg_restore --list needs no server: no credentials, nothing but PATH and LANG.
  const { stdout, exit } = await runToolOnDump(stored, 'pg_restore', ['--list'], { env: toolEnv('PGPASSWORD', undefined) });
  if (!succeeded(exit)) {
    throw (
      abortError(ctx.signal) ??
      corrupt(label, `pg_restore --list cannot read the dump (${describeExit(exit)}): ${exit.stderr || '(no output)'}`)
    );
  }
  const entries = stdout
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith(';')).length;
  ctx.logger.info('postgres: dump verified', { bytes: meta.size, toc_entries: entries });
  ctx.progress({ done: meta.size, total: meta.size, unit: 'bytes' });
}

/** A server section holds a globals dump only when `globals: true` was set when it was protected. */
export async function verifyServer(ctx: VerifyContext): Promise<void> {
  const label = resourceRef({ type: PG_SERVER, id: ctx.resource.id });
  const names = await ctx.bank.list();
  if (names.length === 0) return;
  if (!names.includes(META_OBJECT))
    throw corrupt(label, `${names.join(', ')} stored without ${META_OBJECT}: the globals dump never completed`);
  const meta = await loadSavedDumpMeta(ctx.bank, label, GLOBALS_OBJECT, ctx.savedInfo);
  await checkDump({ bank: ctx.bank, meta, label, signal: ctx.signal });
}
