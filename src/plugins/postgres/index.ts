/**
 * The built-in `postgres` plugin: `postgres.server` and `postgres.database` resources, protected with
 * PostgreSQL's own tools (pg_dump custom format, pg_dumpall --globals-only) streamed into the bank,
 * restored with pg_restore. Uses only the public plugin API, like a third-party plugin would.
 * Options: see src/plugins/postgres/options.ts and docs/postgres.md.
 */
import { PLUGIN_API_VERSION } from '../api.js';
import type {
  DeleteContext, Operation, PluginDefinition, ProtectContext, ProtectionPlugin, Resource, ResourceSchemas,
  RestoreContext, RestorePolicy, VerifyContext,
} from '../api.js';
import { parsePgOptions } from './options.js';
import { PgTools } from './pg-tools.js';
import { clearSection, protectDatabase, protectGlobals } from './protect.js';
import { postgresProtectables } from './protectable.js';
import { checkPgRestore, restoreDatabase } from './restore.js';
import { PG_DATABASE, PG_DATABASE_SCHEMAS, PG_SERVER, PG_SERVER_SCHEMAS } from './schemas.js';
import { verifyDatabase, verifyServer } from './verify.js';
import { ResourceTypes } from '../resource-types.js';

const TYPES = new ResourceTypes('postgres', [[PG_DATABASE, PG_DATABASE_SCHEMAS], [PG_SERVER, PG_SERVER_SCHEMAS]]);

export class PostgresProtection implements ProtectionPlugin {
  constructor(private readonly tools: PgTools, private readonly globals: boolean) {}

  supportedResourceTypes(): string[] {
    return TYPES.names();
  }

  schemas(resourceType: string): ResourceSchemas {
    return TYPES.schemas(resourceType);
  }

  getProtectOperation(resource: Resource): Operation<ProtectContext> {
    if (resource.type === PG_DATABASE) return { main: (ctx) => protectDatabase(this.tools, ctx), revert: (ctx) => clearSection(ctx.bank) };
    // A server's data is its databases (dependents, each with its own hooks), plus roles when asked for.
    return this.globals ? { main: (ctx) => protectGlobals(this.tools, ctx), revert: (ctx) => clearSection(ctx.bank) } : {};
  }

  getRestoreOperation(resource: Resource): Operation<RestoreContext> {
    // Globals (roles) are not replayed automatically: they are cluster-wide; globals.sql is for psql -f by hand.
    if (resource.type !== PG_DATABASE) return {};
    // `phase: prepare` restores in prepare_begin: with Karbor ordering every dependent resource (an
    // app.stack's files) starts its hooks only after that, so the database is back before them.
    const inPhase = (phase: string) => async (ctx: RestoreContext) => {
      if ((ctx.parameters.phase ?? 'main') === phase) await restoreDatabase(this.tools, ctx);
    };
    return { prepareBegin: inPhase('prepare'), main: inPhase('main') };
  }

  getVerifyOperation(resource: Resource): Operation<VerifyContext> {
    return { main: resource.type === PG_DATABASE ? verifyDatabase : verifyServer };
  }

  getDeleteOperation(_resource: Resource): Operation<DeleteContext> {
    return { main: (ctx) => clearSection(ctx.bank) };
  }

  checkRestore(resource: Resource, parameters: Record<string, unknown>, policy: RestorePolicy): void {
    checkPgRestore(this.tools, resource, parameters, policy);
  }
}

export const postgresPlugin: PluginDefinition = {
  apiVersion: PLUGIN_API_VERSION,
  name: 'postgres',
  description: 'Protects PostgreSQL databases with pg_dump (custom format) streamed into the bank, and restores them with pg_restore; optionally the server\'s roles (pg_dumpall --globals-only).',
  create: (env) => {
    const options = parsePgOptions(env.providerId, env.options);
    const tools = new PgTools(options.servers);
    return {
      protection: new PostgresProtection(tools, options.globals),
      protectables: postgresProtectables(tools),
    };
  },
};

export default postgresPlugin;
