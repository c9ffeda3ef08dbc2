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
import type {
  DeleteContext,
  Operation,
  PluginDefinition,
  ProtectContext,
  ProtectionPlugin,
  Resource,
  ResourceSchemas,
  RestoreContext,
  VerifyContext,
} from '../api.js';
import { clearSection } from '../clear-section.js';
import { ResourceTypes } from '../resource-types.js';
import { PLUGIN_NAME, parseOptions } from './config.js';
import type { InstanceConfig } from './config.js';
import { RESOURCE_TYPE } from './meta.js';
import { protectInstance } from './protect.js';
import { RedisInstanceProtectable } from './protectable.js';
import { restoreInstance, restoreTarget } from './restore.js';
import { REDIS_INSTANCE_SCHEMAS } from './schemas.js';
import { verifyInstance } from './verify.js';

const TYPES = new ResourceTypes(PLUGIN_NAME, [[RESOURCE_TYPE, REDIS_INSTANCE_SCHEMAS]]);

export class RedisInstanceProtection implements ProtectionPlugin {
  constructor(private readonly instances: ReadonlyMap<string, InstanceConfig>) {}

  supportedResourceTypes(): string[] {
    return TYPES.names();
  }

  schemas(resourceType: string): ResourceSchemas {
    return TYPES.schemas(resourceType);
  }

  getProtectOperation(_resource: Resource): Operation<ProtectContext> {
    return {
      main: (ctx) => protectInstance(ctx, this.instances),
      revert: (ctx) => clearSection(ctx.bank),
    };
  }

  getRestoreOperation(_resource: Resource): Operation<RestoreContext> {
    return { main: (ctx) => restoreInstance(ctx, this.instances) };
  }

  getVerifyOperation(_resource: Resource): Operation<VerifyContext> {
    return { main: verifyInstance };
  }

  getDeleteOperation(_resource: Resource): Operation<DeleteContext> {
    return { main: (ctx) => clearSection(ctx.bank) };
  }

  /** Refuses a restore into an instance this provider does not configure, before anything runs. */
  checkRestore(resource: Resource, parameters: Record<string, unknown>): void {
    restoreTarget(parameters, resource.id, this.instances);
  }
}

export const redisPlugin: PluginDefinition = {
  apiVersion: PLUGIN_API_VERSION,
  name: PLUGIN_NAME,
  description: 'Protects the keys of a Redis database (every type, with TTLs) via SCAN and DUMP, and restores them with RESTORE.',
  create(env) {
    // Validated once here, so a bad provider file fails at start-up, not at the first checkpoint.
    const instances = parseOptions(env.options, env.home, env.providerId);
    return {
      protection: new RedisInstanceProtection(instances),
      protectables: [new RedisInstanceProtectable(instances)],
    };
  },
};

export default redisPlugin;
