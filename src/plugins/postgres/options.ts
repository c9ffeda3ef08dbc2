/** The `postgres` plugin's options in a provider file (see docs/postgres.md), validated in create(). */
import type { JsonSchema } from '../api.js';
import { parsePluginOptions, serverSchema, serversOf } from '../db/server-config.js';
import type { DbServer } from '../db/server-config.js';

export interface PgServer extends DbServer {
  /** Database tools connect to for listing, creating and dropping databases. */
  maintenance_database: string;
}

export interface PgOptions {
  servers: ReadonlyMap<string, PgServer>;
  /** postgres.server protect also stores `pg_dumpall --globals-only` (roles, tablespaces). */
  globals: boolean;
}

export const PG_OPTIONS_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['servers'],
  properties: {
    servers: {
      type: 'object',
      minProperties: 1,
      additionalProperties: serverSchema(5432, {
        maintenance_database: {
          type: 'string',
          minLength: 1,
          default: 'postgres',
          description: 'Database connected to for listing, creating and dropping databases.',
        },
      }),
    },
    globals: { type: 'boolean', default: false, description: 'postgres.server protect also stores pg_dumpall --globals-only.' },
  },
};

export function parsePgOptions(providerId: string, options: Record<string, unknown>): PgOptions {
  const parsed = parsePluginOptions<{ servers: Record<string, Omit<PgServer, 'name'>>; globals: boolean }>(
    'postgres',
    providerId,
    PG_OPTIONS_SCHEMA,
    options,
  );
  return { servers: serversOf(parsed.servers) as ReadonlyMap<string, PgServer>, globals: parsed.globals };
}
