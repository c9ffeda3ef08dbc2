/**
 * The schemas the build compiles to code (scripts/gen-validators.ts): by name, the ones every command
 * checks at start-up; by content hash, the built-in plugins' and the CLI's. Shared with the test that
 * holds each generated validator to Ajv's own verdicts.
 */
import { PLAN_FILE_SCHEMA } from '../src/cli/plan-file.js';
import { CONFIG_SCHEMA } from '../src/common/config.js';
import type { ResourceSchemas } from '../src/plugins/api.js';
import { APP_STACK_OPTIONS_SCHEMA } from '../src/plugins/app-stack/options.js';
import { FS_DIRECTORY_SCHEMAS } from '../src/plugins/fs/schemas.js';
import { MARIADB_OPTIONS_SCHEMA } from '../src/plugins/mariadb/options.js';
import { MARIADB_DATABASE_SCHEMAS, MARIADB_SERVER_SCHEMAS } from '../src/plugins/mariadb/schemas.js';
import { NO_PARAMETERS } from '../src/plugins/protection-table.js';
import { PG_OPTIONS_SCHEMA } from '../src/plugins/postgres/options.js';
import { PG_DATABASE_SCHEMAS, PG_SERVER_SCHEMAS } from '../src/plugins/postgres/schemas.js';
import { OPTIONS_SCHEMA as REDIS_OPTIONS_SCHEMA } from '../src/plugins/redis/config.js';
import { REDIS_INSTANCE_SCHEMAS } from '../src/plugins/redis/schemas.js';
import { CONSISTENCY_SCHEMA } from '../src/protection-manager/consistency.js';
import { PROVIDER_FILE_SCHEMA } from '../src/providers/provider-file.js';

export const NAMED: Record<string, object> = { config: CONFIG_SCHEMA, 'provider-file': PROVIDER_FILE_SCHEMA };

const resourceSchemas = (s: ResourceSchemas): object[] => Object.values(s).filter((v): v is object => v !== undefined);
export const BY_HASH: readonly object[] = [
  MARIADB_OPTIONS_SCHEMA,
  PG_OPTIONS_SCHEMA,
  REDIS_OPTIONS_SCHEMA,
  APP_STACK_OPTIONS_SCHEMA,
  NO_PARAMETERS,
  PLAN_FILE_SCHEMA,
  CONSISTENCY_SCHEMA,
  ...[
    FS_DIRECTORY_SCHEMAS,
    MARIADB_DATABASE_SCHEMAS,
    MARIADB_SERVER_SCHEMAS,
    PG_DATABASE_SCHEMAS,
    PG_SERVER_SCHEMAS,
    REDIS_INSTANCE_SCHEMAS,
  ].flatMap(resourceSchemas),
];
