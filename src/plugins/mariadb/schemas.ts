/** Parameter schemas of the mariadb resource types (they become the provider's extended_info_schema). */
import type { ResourceSchemas } from '../api.js';

export const MARIADB_SERVER = 'mariadb.server';
export const MARIADB_DATABASE = 'mariadb.database';

/** Databases the server itself owns: never listed, protected or restored over. */
export const SYSTEM_DATABASES: ReadonlySet<string> = new Set(['information_schema', 'performance_schema', 'mysql', 'sys']);

const EMPTY = { type: 'object', additionalProperties: false, properties: {} };

export const MARIADB_DATABASE_SCHEMAS: ResourceSchemas = {
  options: EMPTY,
  restore: {
    type: 'object',
    additionalProperties: false,
    properties: {
      target_database: { type: 'string', minLength: 1, maxLength: 64, description: 'Database to restore into; default: the original name.' },
      target_server: { type: 'string', minLength: 1, description: 'Configured server to restore to; default: the original server.' },
      conflict: {
        type: 'string',
        enum: ['fail', 'drop'],
        default: 'fail',
        description: 'When the target database exists: fail before touching it, or replace it (only once the dump was proven to load into a temporary database).',
      },
    },
  },
  saved_info: {
    type: 'object',
    additionalProperties: false,
    required: ['size', 'sha256', 'format'],
    properties: {
      size: { type: 'integer', minimum: 0, description: 'Bytes of the stored dump.' },
      sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
      format: { type: 'string', enum: ['sql'], description: 'mariadb-dump SQL of one database, without CREATE DATABASE.' },
    },
  },
  verify: EMPTY,
};

/** A server's data is its databases (dependents with their own hooks): it stores nothing itself. */
export const MARIADB_SERVER_SCHEMAS: ResourceSchemas = {
  options: EMPTY,
  restore: EMPTY,
  verify: EMPTY,
};
