/**
 * Protect: `mariadb-dump` of one database's objects (tables, views, triggers, routines, events),
 * without CREATE DATABASE or USE so it can be loaded under any name, streamed into the bank by
 * protectDump (hashed on the way, meta.json written last, nothing kept if the tool fails).
 */
import { resourceRef, type ProtectContext } from '../api.js';
import { protectDump } from '../db/dump-to-bank.js';
import { databaseIdOf } from '../db/protectables.js';
import { clientArgs } from './mariadb-tools.js';
import type { MariaDbTools } from './mariadb-tools.js';
import { MARIADB_DATABASE } from './schemas.js';

export const DUMP_OBJECT = 'dump.sql';
export const DUMP_TOOL = 'mariadb-dump';

/**
 * `--single-transaction` gives a consistent snapshot of InnoDB tables without locking writers;
 * `--hex-blob` keeps binary columns intact whatever the connection charset. The database is named
 * after `--` so no name can be read as an option.
 */
export function dumpArgs(tools: MariaDbTools, serverName: string, database: string): string[] {
  const server = tools.server(serverName, MARIADB_DATABASE, `${serverName}/${database}`);
  return [...clientArgs(server), '--single-transaction', '--routines', '--triggers', '--events', '--hex-blob', '--', database];
}

/** Protect `main` of one mariadb.database. */
export async function protectDatabase(tools: MariaDbTools, ctx: ProtectContext): Promise<void> {
  const label = resourceRef({ type: MARIADB_DATABASE, id: ctx.resource.id });
  const parsed = databaseIdOf(MARIADB_DATABASE, ctx.resource.id);
  const server = tools.server(parsed.server, MARIADB_DATABASE, ctx.resource.id);
  const session = await tools.session(server);
  const toolVersion = await tools.toolVersion(DUMP_TOOL, ctx.signal);
  // A database that vanished is left to mariadb-dump, whose own message then explains the failure.
  const charset = await tools.databaseCharset(server, parsed.database, ctx.signal);
  await protectDump(ctx, {
    ...session,
    label,
    object: DUMP_OBJECT,
    command: DUMP_TOOL,
    args: dumpArgs(tools, server.name, parsed.database),
    toolVersion,
    source: { server: server.name, database: parsed.database, format: 'sql', ...(charset ? { charset } : {}) },
  });
}
