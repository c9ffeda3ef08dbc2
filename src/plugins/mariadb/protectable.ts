/**
 * Discovery of MariaDB servers and their databases (the shared database protectables). The server's
 * own databases (mysql, sys, information_schema, performance_schema) are not offered.
 */
import type { ProtectablePlugin } from '../api.js';
import type { DatabaseCatalog } from '../db/protectables.js';
import { DatabaseProtectable, databaseIdOf as idOf, ServerProtectable } from '../db/protectables.js';
import type { MariaDbServer } from './options.js';
import type { MariaDbTools } from './mariadb-tools.js';
import { MARIADB_DATABASE, MARIADB_SERVER, SYSTEM_DATABASES } from './schemas.js';

export { parseDatabaseId } from '../db/protectables.js';

/** The id's parts, or BWK_ERR_RESOURCE_NOT_FOUND saying what an id looks like. */
export const databaseIdOf = (id: string) => idOf(MARIADB_DATABASE, id);

export function mariadbProtectables(tools: MariaDbTools): ProtectablePlugin[] {
  const catalog: DatabaseCatalog<MariaDbServer> = {
    serverType: MARIADB_SERVER, databaseType: MARIADB_DATABASE, servers: tools.servers,
    server: (name, type = MARIADB_SERVER, id = name) => tools.server(name, type, id),
    listDatabases: (s, signal) => tools.listDatabases(s, signal),
    databaseExists: async (s, db, signal) => (await tools.databaseCharset(s, db, signal)) !== null,
    reserved: (db) => (SYSTEM_DATABASES.has(db.toLowerCase()) ? `"${db}" is a system database of the server, not protected by this plugin` : null),
  };
  return [new ServerProtectable(catalog), new DatabaseProtectable(catalog)];
}
