/**
 * Verify reads the data back rather than trusting a flag: the dump's size and SHA-256 against
 * meta.json and the checkpoint's saved info, and mariadb-dump's header and trailer around it.
 */
import { resourceRef, type VerifyContext } from '../api.js';
import { storedDump } from '../db/bank-to-tool.js';
import { loadSavedDumpMeta } from '../db/dump-meta.js';
import { checkSqlDump } from './dump-format.js';
import { DUMP_OBJECT } from './protect.js';
import { MARIADB_DATABASE } from './schemas.js';

export async function verifyDatabase(ctx: VerifyContext): Promise<void> {
  const label = resourceRef({ type: MARIADB_DATABASE, id: ctx.resource.id });
  const meta = await loadSavedDumpMeta(ctx.bank, label, DUMP_OBJECT, ctx.savedInfo);
  await checkSqlDump(storedDump(ctx, meta, label));
  ctx.logger.info('mariadb: dump verified', { bytes: meta.size });
  ctx.progress({ done: meta.size, total: meta.size, unit: 'bytes' });
}
