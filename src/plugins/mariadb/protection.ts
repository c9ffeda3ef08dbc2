/** The mariadb ProtectionPlugin: which hooks each of its resource types runs. */
import type { ProtectionPlugin, RestoreContext } from '../api.js';
import { ownSection, ProtectionTable } from '../protection-table.js';
import { databaseRestoreTargets } from '../db/restore-target.js';
import { nameScope } from '../scope-matchers.js';
import type { MariaDbTools } from './mariadb-tools.js';
import { protectDatabase } from './protect.js';
import { checkMariaDbRestore, restoreDatabase } from './restore.js';
import { MARIADB_DATABASE, MARIADB_DATABASE_SCHEMAS, MARIADB_SERVER, MARIADB_SERVER_SCHEMAS } from './schemas.js';
import { verifyDatabase } from './verify.js';

export function mariadbProtection(tools: MariaDbTools): ProtectionPlugin {
  const database = {
    schemas: MARIADB_DATABASE_SCHEMAS,
    ...ownSection((ctx) => protectDatabase(tools, ctx)),
    restore: { main: (ctx: RestoreContext) => restoreDatabase(tools, ctx) },
    verify: { main: verifyDatabase },
    scope: nameScope((resource, parameters) => databaseRestoreTargets(MARIADB_DATABASE, resource, parameters)),
  };
  // A server's data is its databases (dependents, each with its own hooks): the server itself has no hooks.
  const server = { schemas: MARIADB_SERVER_SCHEMAS, ...ownSection(), scope: nameScope(() => []) };
  return new ProtectionTable(
    'mariadb',
    [
      [MARIADB_DATABASE, database],
      [MARIADB_SERVER, server],
    ],
    { checkRestore: (resource, parameters, policy) => checkMariaDbRestore(tools, resource, parameters, policy) },
  );
}
