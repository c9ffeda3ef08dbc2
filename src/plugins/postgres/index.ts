/**
 * The built-in `postgres` plugin: `postgres.server` and `postgres.database` resources, protected with
 * PostgreSQL's own tools (pg_dump custom format, pg_dumpall --globals-only) streamed into the bank,
 * restored with pg_restore. Uses only the public plugin API, like a third-party plugin would.
 * Options: see src/plugins/postgres/options.ts and docs/postgres.md.
 */
import { PLUGIN_API_VERSION } from '../api.js';
import type { PluginDefinition } from '../api.js';
import { parsePgOptions } from './options.js';
import { PgTools } from './pg-tools.js';
import { postgresProtectables } from './protectable.js';
import { postgresProtection } from './protection.js';

export const postgresPlugin: PluginDefinition = {
  apiVersion: PLUGIN_API_VERSION,
  name: 'postgres',
  description:
    'Protects PostgreSQL databases with pg_dump (custom format) streamed into the bank, and restores them with pg_restore; optionally ' +
    "the server's roles (pg_dumpall --globals-only).",
  create: (env) => {
    const options = parsePgOptions(env.providerId, env.options);
    const tools = new PgTools(options.servers);
    return {
      protection: postgresProtection(tools, options.globals),
      protectables: postgresProtectables(tools),
    };
  },
};

export default postgresPlugin;
