/** The postgres ProtectionPlugin: which hooks each of its resource types runs. */
import type { ProtectionPlugin, RestoreContext } from '../api.js';
import { ownSection, ProtectionTable } from '../protection-table.js';
import { databaseRestoreTargets } from '../db/restore-target.js';
import { nameScope } from '../scope-matchers.js';
import type { PgTools } from './pg-tools.js';
import { protectDatabase, protectGlobals } from './protect.js';
import { checkPgRestore, restoreDatabase } from './restore.js';
import { PG_DATABASE, PG_DATABASE_SCHEMAS, PG_SERVER, PG_SERVER_SCHEMAS } from './schemas.js';
import { verifyDatabase, verifyServer } from './verify.js';

/** `globals`: postgres.server protect also stores the server's roles and tablespaces. */
export function postgresProtection(tools: PgTools, globals: boolean): ProtectionPlugin {
  // `phase: prepare` restores in prepare_begin: with Karbor ordering every dependent resource (an
  // app.stack's files) starts its hooks only after that, so the database is back before them.
  const inPhase = (phase: string) => async (ctx: RestoreContext) => {
    if ((ctx.parameters.phase ?? 'main') === phase) await restoreDatabase(tools, ctx);
  };
  const database = {
    schemas: PG_DATABASE_SCHEMAS,
    ...ownSection((ctx) => protectDatabase(tools, ctx)),
    restore: { prepareBegin: inPhase('prepare'), main: inPhase('main') },
    verify: { main: verifyDatabase },
    scope: nameScope((resource, parameters) => databaseRestoreTargets(PG_DATABASE, resource, parameters)),
  };
  // A server's data is its databases (dependents, each with its own hooks), plus roles when asked for.
  // Globals (roles) are not replayed automatically: they are cluster-wide; globals.sql is for psql -f by hand.
  const server = {
    schemas: PG_SERVER_SCHEMAS,
    ...ownSection(globals ? (ctx) => protectGlobals(tools, ctx) : undefined),
    verify: { main: verifyServer },
    scope: nameScope(() => []), // a server restores nothing itself: its databases do
  };
  return new ProtectionTable(
    'postgres',
    [
      [PG_DATABASE, database],
      [PG_SERVER, server],
    ],
    { checkRestore: (resource, parameters, policy) => checkPgRestore(tools, resource, parameters, policy) },
  );
}
