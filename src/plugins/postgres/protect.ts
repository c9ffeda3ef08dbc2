/**
 * Protect: `pg_dump --format=custom` of a database, or `pg_dumpall --globals-only` of a server,
 * streamed into the bank by protectDump (hashed on the way, meta.json written last).
 */
import { resourceRef, type ProtectContext } from '../api.js';
import { databaseIdOf } from '../db/protectables.js';
import { protectDump } from '../db/dump-to-bank.js';
import { connectionArgs } from './pg-tools.js';
import type { PgTools } from './pg-tools.js';
import { PG_DATABASE, PG_SERVER } from './schemas.js';

export const DUMP_OBJECT = 'dump';
export const GLOBALS_OBJECT = 'globals.sql';

/** Protect `main` of one postgres.database. */
export async function protectDatabase(tools: PgTools, ctx: ProtectContext): Promise<void> {
  const label = resourceRef({ type: PG_DATABASE, id: ctx.resource.id });
  const parsed = databaseIdOf(PG_DATABASE, ctx.resource.id);
  const server = tools.server(parsed.server, PG_DATABASE, ctx.resource.id);
  const session = await tools.session(server);
  const toolVersion = await tools.toolVersion('pg_dump', ctx.signal);
  // Recorded so restore recreates the database with the same encoding and locale (pg_dump without --create has neither).
  const props = await tools.databaseProperties(server, parsed.database, ctx.signal);
  await protectDump(ctx, {
    ...session,
    label,
    object: DUMP_OBJECT,
    command: 'pg_dump',
    args: ['--format=custom', '--no-password', ...connectionArgs(server, parsed.database)],
    toolVersion,
    source: { server: server.name, database: parsed.database, format: 'custom', ...(props ? { properties: props } : {}) },
  });
}

/** Protect `main` of one postgres.server when `globals: true`: roles and tablespaces as SQL. */
export async function protectGlobals(tools: PgTools, ctx: ProtectContext): Promise<void> {
  const server = tools.server(ctx.resource.id);
  const session = await tools.session(server);
  const toolVersion = await tools.toolVersion('pg_dumpall', ctx.signal);
  await protectDump(ctx, {
    ...session,
    label: resourceRef({ type: PG_SERVER, id: server.name }),
    object: GLOBALS_OBJECT,
    command: 'pg_dumpall',
    args: ['--globals-only', '--no-password', ...connectionArgs(server, server.maintenance_database)],
    toolVersion,
    source: { server: server.name, format: 'sql' },
  });
}
