import type { PluginDefinition } from './api.js';
import { appStackPlugin } from './app-stack/index.js';
import { fsDirectoryPlugin } from './fs/index.js';
import { mariadbPlugin } from './mariadb/index.js';
import { noopPlugin } from './noop/index.js';
import { postgresPlugin } from './postgres/index.js';
import { redisPlugin } from './redis/index.js';

/** Plugins shipped with Bulwark, by the name provider files use. */
export const BUILTIN_PLUGINS: ReadonlyMap<string, PluginDefinition> = new Map(
  [fsDirectoryPlugin, noopPlugin, redisPlugin, postgresPlugin, mariadbPlugin, appStackPlugin].map((p) => [p.name, p]),
);
