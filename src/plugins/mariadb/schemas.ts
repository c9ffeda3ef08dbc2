/** Parameter schemas of the mariadb resource types (they become the provider's extended_info_schema). */
import type { ResourceSchemas } from '../api.js';
import { databaseRestoreSchema, dumpSavedInfo } from '../db/dump-schemas.js';
import { NO_PARAMETERS } from '../protection-table.js';

export const MARIADB_SERVER = 'mariadb.server';
export const MARIADB_DATABASE = 'mariadb.database';

/** Databases the server itself owns: never listed, protected or restored over. */
export const SYSTEM_DATABASES: ReadonlySet<string> = new Set(['information_schema', 'performance_schema', 'mysql', 'sys']);

export const MARIADB_DATABASE_SCHEMAS: ResourceSchemas = {
  options: NO_PARAMETERS,
  restore: databaseRestoreSchema(64, 'only once the dump was proven to load into a temporary database'),
  saved_info: dumpSavedInfo('sql', 'mariadb-dump SQL of one database, without CREATE DATABASE.'),
  verify: NO_PARAMETERS,
};

/** A server's data is its databases (dependents with their own hooks): it stores nothing itself. */
export const MARIADB_SERVER_SCHEMAS: ResourceSchemas = {
  options: NO_PARAMETERS,
  restore: NO_PARAMETERS,
  verify: NO_PARAMETERS,
};
