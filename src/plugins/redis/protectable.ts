/**
 * The `redis.instance` protectable: one resource per instance configured in the provider options,
 * id = the instance name. Showing one pings it, so a plan cannot name an instance Bulwark cannot reach.
 */
import type { JsonSchema, ProtectableContext, ProtectablePlugin, Resource } from '../api.js';
import { bwkError, isBulwarkError } from '../../core/errors.js';
import { NO_PARAMETERS } from '../protection-table.js';
import { requireInstance } from './config.js';
import type { InstanceConfig } from './config.js';
import { serverVersion, withSession } from './connection.js';
import { RESOURCE_TYPE, resourceLabel } from './meta.js';

function instanceResource(inst: InstanceConfig, extra: Record<string, unknown> = {}): Resource {
  return { type: RESOURCE_TYPE, id: inst.name, name: inst.name, extra_info: { host: inst.host, port: inst.port, db: inst.db, ...extra } };
}

export class RedisInstanceProtectable implements ProtectablePlugin {
  constructor(private readonly instances: ReadonlyMap<string, InstanceConfig>) {}

  resourceType(): string {
    return RESOURCE_TYPE;
  }

  parentResourceTypes(): string[] {
    return [];
  }

  listParametersSchema(): JsonSchema {
    return NO_PARAMETERS;
  }

  /** The configured instances, without connecting (a listing must not hang on one unreachable server). */
  async listResources(_ctx: ProtectableContext): Promise<Resource[]> {
    return [...this.instances.values()].map((inst) => instanceResource(inst)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async showResource(_ctx: ProtectableContext, id: string): Promise<Resource> {
    const inst = requireInstance(this.instances, id);
    try {
      return await withSession(inst, inst.db, resourceLabel(id), undefined, async (s) => {
        await s.client.ping().catch((err: unknown) => {
          throw s.failure('PING', err);
        });
        return instanceResource(inst, { redis_version: await serverVersion(s) });
      });
    } catch (err) {
      if (isBulwarkError(err)) throw err;
      // Reachable but unusable (no permission for PING or INFO): the plan could not be protected either.
      throw bwkError('BWK_ERR_RESOURCE_NOT_FOUND', { type: RESOURCE_TYPE, id, reason: (err as Error).message });
    }
  }

  async dependentResources(_ctx: ProtectableContext, _parent: Resource): Promise<Resource[]> {
    return [];
  }
}
