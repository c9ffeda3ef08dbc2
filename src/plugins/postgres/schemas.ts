/** Parameter schemas of the postgres resource types (they become the provider's extended_info_schema). */
import type { ResourceSchemas } from '../api.js';
import { databaseRestoreSchema, dumpSavedInfo } from '../db/dump-schemas.js';
import { NO_PARAMETERS } from '../protection-table.js';

export const PG_SERVER = 'postgres.server';
export const PG_DATABASE = 'postgres.database';

export const PG_DATABASE_SCHEMAS: ResourceSchemas = {
  options: NO_PARAMETERS,
  restore: databaseRestoreSchema(63, 'the restore is built aside and swapped in only once it succeeded', {
    jobs: {
      type: 'integer',
      minimum: 1,
      maximum: 16,
      default: 1,
      description: 'pg_restore --jobs; above 1 the dump is first copied to a private temp file.',
    },
    phase: {
      type: 'string',
      enum: ['main', 'prepare'],
      default: 'main',
      description:
        'prepare: restore in the prepare_begin hook, before any resource that depends on this database (e.g. files in an app.stack) ' +
        'starts restoring.',
    },
  }),
  saved_info: dumpSavedInfo('custom', 'pg_dump --format=custom'),
  verify: NO_PARAMETERS,
};

export const PG_SERVER_SCHEMAS: ResourceSchemas = {
  options: NO_PARAMETERS,
  restore: NO_PARAMETERS,
  saved_info: dumpSavedInfo('sql', 'pg_dumpall --globals-only (SQL)'),
  verify: NO_PARAMETERS,
};
