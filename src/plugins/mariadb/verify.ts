/**
 * Verify reads the data back rather than trusting a flag: the dump's size and SHA-256 against
 * meta.json and the checkpoint's saved info, and mariadb-dump's header and trailer around it.
 */
import { resourceRef, type BankSection, type VerifyContext } from '../api.js';
import type { StoredDump } from '../db/bank-to-tool.js';
import { checkSavedInfo, corrupt, loadDumpMeta } from '../db/dump-meta.js';
import type { DumpMeta } from '../db/dump-meta.js';
import { checkSqlDump } from './dump-format.js';
import { DUMP_OBJECT } from './protect.js';
import { MARIADB_DATABASE } from './schemas.js';

/** meta.json of a mariadb.database section, checked against the checkpoint's saved info. */
export async function loadMariaDbMeta(bank: BankSection, label: string, savedInfo: Record<string, unknown> | null): Promise<DumpMeta> {
  const meta = await loadDumpMeta(bank, label);
  if (meta.object !== DUMP_OBJECT) throw corrupt(label, `meta.json names object "${meta.object}", expected "${DUMP_OBJECT}"`);
  checkSavedInfo(label, meta, savedInfo);
  return meta;
}

export async function verifyDatabase(ctx: VerifyContext): Promise<void> {
  const label = resourceRef({ type: MARIADB_DATABASE, id: ctx.resource.id });
  const meta = await loadMariaDbMeta(ctx.bank, label, ctx.savedInfo);
  const stored: StoredDump = { bank: ctx.bank, meta, label, signal: ctx.signal, progress: (p) => ctx.progress(p) };
  await checkSqlDump(stored);
  ctx.logger.info('mariadb: dump verified', { bytes: meta.size });
  ctx.progress({ done: meta.size, total: meta.size, unit: 'bytes' });
}
