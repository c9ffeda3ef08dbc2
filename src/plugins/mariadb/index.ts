/**
 * The built-in `mariadb` plugin: `mariadb.server` and `mariadb.database` resources, protected with
 * MariaDB's own tools (mariadb-dump of one database's objects, streamed into the bank) and restored
 * with the `mariadb` client. Uses only the public plugin API, like a third-party plugin would.
 * Options: see src/plugins/mariadb/options.ts.
 */
import { PLUGIN_API_VERSION } from '../api.js';
import type { PluginDefinition } from '../api.js';
import { MariaDbTools } from './mariadb-tools.js';
import { parseMariaDbOptions } from './options.js';
import { mariadbProtectables } from './protectable.js';
import { mariadbProtection } from './protection.js';

export const mariadbPlugin: PluginDefinition = {
  apiVersion: PLUGIN_API_VERSION,
  name: 'mariadb',
  description:
    "Protects MariaDB databases with mariadb-dump (one database's tables, views, triggers, routines and events, as SQL) streamed into " +
    'the bank, and restores them with the mariadb client.',
  create: (env) => {
    const tools = new MariaDbTools(parseMariaDbOptions(env.providerId, env.options).servers);
    return {
      protection: mariadbProtection(tools),
      protectables: mariadbProtectables(tools),
    };
  },
};

export default mariadbPlugin;
