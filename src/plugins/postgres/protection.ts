/** The postgres ProtectionPlugin: which hooks each of its resource types runs (the rest is shared). */
import type { ProtectionPlugin, RestoreContext } from '../api.js';
import { DatabaseProtection } from '../db/database-protection.js';
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
  return new DatabaseProtection({
    plugin: 'postgres',
    database: {
      type: PG_DATABASE,
      schemas: PG_DATABASE_SCHEMAS,
      protect: (ctx) => protectDatabase(tools, ctx),
      restore: { prepareBegin: inPhase('prepare'), main: inPhase('main') },
      verify: verifyDatabase,
    },
    // A server's data is its databases (dependents, each with its own hooks), plus roles when asked for.
    // Globals (roles) are not replayed automatically: they are cluster-wide; globals.sql is for psql -f by hand.
    server: {
      type: PG_SERVER,
      schemas: PG_SERVER_SCHEMAS,
      protect: globals ? (ctx) => protectGlobals(tools, ctx) : undefined,
      verify: verifyServer,
    },
    checkRestore: (resource, parameters, policy) => checkPgRestore(tools, resource, parameters, policy),
  });
}
