/**
 * Discovery of MariaDB servers and their databases (the shared database protectables). The server's
 * own databases (mysql, sys, information_schema, performance_schema) are not offered.
 */
import type { ProtectablePlugin } from '../api.js';
import { databaseProtectables } from '../db/protectables.js';
import type { MariaDbTools } from './mariadb-tools.js';
import { MARIADB_DATABASE, MARIADB_SERVER, SYSTEM_DATABASES } from './schemas.js';

export function mariadbProtectables(tools: MariaDbTools): ProtectablePlugin[] {
  return databaseProtectables({
    serverType: MARIADB_SERVER,
    databaseType: MARIADB_DATABASE,
    tools,
    reserved: (db) =>
      SYSTEM_DATABASES.has(db.toLowerCase()) ? `"${db}" is a system database of the server, not protected by this plugin` : null,
  });
}
