/** Discovery of PostgreSQL servers and their databases (the shared database protectables). */
import type { ProtectablePlugin } from '../api.js';
import type { DatabaseCatalog } from '../db/protectables.js';
import { DatabaseProtectable, ServerProtectable } from '../db/protectables.js';
import type { PgServer } from './options.js';
import type { PgTools } from './pg-tools.js';
import { PG_DATABASE, PG_SERVER } from './schemas.js';

export { parseDatabaseId } from '../db/protectables.js';

export function postgresProtectables(tools: PgTools): ProtectablePlugin[] {
  const catalog: DatabaseCatalog<PgServer> = {
    serverType: PG_SERVER, databaseType: PG_DATABASE, servers: tools.servers,
    server: (name, type = PG_SERVER, id = name) => tools.server(name, type, id),
    listDatabases: (s, signal) => tools.listDatabases(s, signal),
    databaseExists: async (s, db, signal) => (await tools.databaseProperties(s, db, signal)) !== null,
  };
  return [new ServerProtectable(catalog), new DatabaseProtectable(catalog)];
}
