/** Parameter schemas of the postgres resource types (they become the provider's extended_info_schema). */
import type { ResourceSchemas } from '../api.js';

export const PG_SERVER = 'postgres.server';
export const PG_DATABASE = 'postgres.database';

const EMPTY = { type: 'object', additionalProperties: false, properties: {} };

const dumpInfo = (format: string) => ({
  type: 'object',
  additionalProperties: false,
  required: ['size', 'sha256', 'format'],
  properties: {
    size: { type: 'integer', minimum: 0, description: 'Bytes of the stored dump.' },
    sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    format: { type: 'string', enum: [format], description: format === 'custom' ? 'pg_dump --format=custom' : 'pg_dumpall --globals-only (SQL)' },
  },
});

export const PG_DATABASE_SCHEMAS: ResourceSchemas = {
  options: EMPTY,
  restore: {
    type: 'object',
    additionalProperties: false,
    properties: {
      target_database: { type: 'string', minLength: 1, maxLength: 63, description: 'Database to restore into; default: the original name.' },
      target_server: { type: 'string', minLength: 1, description: 'Configured server to restore to; default: the original server.' },
      conflict: {
        type: 'string',
        enum: ['fail', 'drop'],
        default: 'fail',
        description: 'When the target database exists: fail before touching it, or replace it (the restore is built aside and swapped in only once it succeeded).',
      },
      jobs: { type: 'integer', minimum: 1, maximum: 16, default: 1, description: 'pg_restore --jobs; above 1 the dump is first copied to a private temp file.' },
      phase: {
        type: 'string', enum: ['main', 'prepare'], default: 'main',
        description: 'prepare: restore in the prepare_begin hook, before any resource that depends on this database (e.g. files in an app.stack) starts restoring.',
      },
    },
  },
  saved_info: dumpInfo('custom'),
  verify: EMPTY,
};

export const PG_SERVER_SCHEMAS: ResourceSchemas = {
  options: EMPTY,
  restore: EMPTY,
  saved_info: dumpInfo('sql'),
  verify: EMPTY,
};
