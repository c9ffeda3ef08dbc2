/** The mariadb ProtectionPlugin: which hooks each of its resource types runs (the rest is shared). */
import type { ProtectionPlugin } from '../api.js';
import { DatabaseProtection } from '../db/database-protection.js';
import type { MariaDbTools } from './mariadb-tools.js';
import { protectDatabase } from './protect.js';
import { checkMariaDbRestore, restoreDatabase } from './restore.js';
import { MARIADB_DATABASE, MARIADB_DATABASE_SCHEMAS, MARIADB_SERVER, MARIADB_SERVER_SCHEMAS } from './schemas.js';
import { verifyDatabase } from './verify.js';

export function mariadbProtection(tools: MariaDbTools): ProtectionPlugin {
  return new DatabaseProtection({
    plugin: 'mariadb',
    database: {
      type: MARIADB_DATABASE,
      schemas: MARIADB_DATABASE_SCHEMAS,
      protect: (ctx) => protectDatabase(tools, ctx),
      restore: { main: (ctx) => restoreDatabase(tools, ctx) },
      verify: verifyDatabase,
    },
    // A server's data is its databases (dependents, each with its own hooks): the server itself has no hooks.
    server: { type: MARIADB_SERVER, schemas: MARIADB_SERVER_SCHEMAS },
    checkRestore: (resource, parameters, policy) => checkMariaDbRestore(tools, resource, parameters, policy),
  });
}
