/**
 * The built-in `redis` plugin: protects the keys of one database of a configured Redis instance
 * (`redis.instance`) with SCAN + DUMP into a bank section, and restores, verifies and deletes them.
 * Uses only the public plugin API, like a third-party plugin would.
 *
 *   plugins:
 *     - name: redis
 *       options:
 *         instances:
 *           cache: {host: 127.0.0.1, port: 6379, db: 0, username: backup, password_env: BULWARK_REDIS_CACHE_PASSWORD}
 */
import { PLUGIN_API_VERSION } from '../api.js';
import type { PluginDefinition, ProtectionPlugin, ResourceScope, RestoreContext } from '../api.js';
import { ownSection, ProtectionTable } from '../protection-table.js';
import { PLUGIN_NAME, parseOptions } from './config.js';
import type { InstanceConfig } from './config.js';
import { RESOURCE_TYPE } from './meta.js';
import { protectInstance } from './protect.js';
import { RedisInstanceProtectable } from './protectable.js';
import { restoreInstance, restoreTarget } from './restore.js';
import { REDIS_INSTANCE_SCHEMAS } from './schemas.js';
import { verifyInstance } from './verify.js';
import { globMatches } from '../scope-matchers.js';

/**
 * Scopes name instances (`cache`: any of its databases) or an instance's database (`cache/3`). A
 * resource is its instance at the database the provider configures; a restore writes into
 * target_instance at target_db.
 */
function redisScope(instances: ReadonlyMap<string, InstanceConfig>): ResourceScope {
  const withDb = (id: string): string => (id.includes('/') ? id : `${id}/${instances.get(id)?.db ?? 0}`);
  return {
    matches: (id, patterns) => {
      const [instance, db] = withDb(id).split('/');
      return patterns.some((p) => (p.includes('/') ? globMatches(p, `${instance}/${db}`) : globMatches(p, instance!)));
    },
    // Without target_db the restore writes into the database the checkpoint came from, which the
    // request does not say: only a scope that allows the whole instance allows it.
    restoreTargets: (resource, p) => {
      const instance = typeof p.target_instance === 'string' ? p.target_instance : resource.id;
      return [typeof p.target_db === 'number' ? `${instance}/${p.target_db}` : `${instance}/*`];
    },
  };
}

function redisProtection(instances: ReadonlyMap<string, InstanceConfig>): ProtectionPlugin {
  const operations = {
    schemas: REDIS_INSTANCE_SCHEMAS,
    ...ownSection((ctx) => protectInstance(ctx, instances)),
    restore: { main: (ctx: RestoreContext) => restoreInstance(ctx, instances) },
    verify: { main: verifyInstance },
    scope: redisScope(instances),
  };
  // Refuses a restore into an instance this provider does not configure, before anything runs.
  return new ProtectionTable(PLUGIN_NAME, [[RESOURCE_TYPE, operations]], {
    checkRestore: (resource, parameters) => {
      restoreTarget(parameters, resource.id, instances);
    },
  });
}

export const redisPlugin: PluginDefinition = {
  apiVersion: PLUGIN_API_VERSION,
  name: PLUGIN_NAME,
  description: 'Protects the keys of a Redis database (every type, with TTLs) via SCAN and DUMP, and restores them with RESTORE.',
  create(env) {
    // Validated once here, so a bad provider file fails at start-up, not at the first checkpoint.
    const instances = parseOptions(env.options, env.home, env.providerId);
    return {
      protection: redisProtection(instances),
      protectables: [new RedisInstanceProtectable(instances)],
    };
  },
};

export default redisPlugin;
