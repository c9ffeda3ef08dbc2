/**
 * The `mariadb` plugin's options in a provider file, validated in create():
 *
 *   servers:
 *     main: {host: 127.0.0.1, port: 3306, user: backup, password_env: BULWARK_MARIADB_MAIN_PASSWORD}
 *
 * A host starting with `/` is the server's Unix socket file.
 */
import type { JsonSchema } from '../api.js';
import { parsePluginOptions, serverSchema, serversOf } from '../db/server-config.js';
import type { DbServer } from '../db/server-config.js';

export type MariaDbServer = DbServer;

export interface MariaDbOptions {
  servers: ReadonlyMap<string, MariaDbServer>;
}

export const MARIADB_OPTIONS_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['servers'],
  properties: {
    servers: { type: 'object', minProperties: 1, additionalProperties: serverSchema(3306) },
  },
};

export function parseMariaDbOptions(providerId: string, options: Record<string, unknown>): MariaDbOptions {
  const parsed = parsePluginOptions<{ servers: Record<string, Omit<MariaDbServer, 'name'>> }>(
    'mariadb',
    providerId,
    MARIADB_OPTIONS_SCHEMA,
    options,
  );
  return { servers: serversOf(parsed.servers) };
}
