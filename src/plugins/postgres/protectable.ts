/** Discovery of PostgreSQL servers and their databases (the shared database protectables). */
import type { ProtectablePlugin } from '../api.js';
import { databaseProtectables } from '../db/protectables.js';
import type { PgTools } from './pg-tools.js';
import { PG_DATABASE, PG_SERVER } from './schemas.js';

export function postgresProtectables(tools: PgTools): ProtectablePlugin[] {
  return databaseProtectables({ serverType: PG_SERVER, databaseType: PG_DATABASE, tools });
}
