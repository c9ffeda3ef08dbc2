import { bwkError } from '../core/errors.js';
import { compileSchema, describeSchemaError, sortSchemaErrors } from '../common/schema.js';
import type { Resource } from '../plugins/api.js';
import { isObject } from '../providers/parameters.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { RequestContext } from './request.js';
import type { ProtectableInstance } from './service.js';

/** Discovery: which resource types exist, and which resources of a type are there to protect. */
export class ProtectableService {
  constructor(private readonly providers: ProviderRegistry) {}

  types(): string[] {
    return [...this.providers.protectables.keys()].sort();
  }

  /** A type and the types that can depend on it (Karbor's `dependent_types`). */
  showType(type: string): { name: string; dependent_types: string[] } {
    this.providers.protectable(type);
    const dependent = [...this.providers.protectables]
      .filter(([, p]) => p.parentResourceTypes().includes(type))
      .map(([t]) => t)
      .sort();
    return { name: type, dependent_types: dependent };
  }

  async instances(ctx: RequestContext, type: string, parameters: unknown = {}): Promise<ProtectableInstance[]> {
    const p = this.providers.protectable(type);
    if (!isObject(parameters)) throw bwkError('BWK_ERR_INVALID_INPUT', { reason: 'protectable parameters must be a JSON object' });
    const schema = p.listParametersSchema?.();
    const params = structuredClone(parameters);
    if (schema) {
      const validate = compileSchema(schema);
      if (!validate(params)) {
        const e = sortSchemaErrors(validate.errors ?? [])[0]!;
        throw bwkError('BWK_ERR_INVALID_INPUT', { reason: `parameters for listing ${type}: ${describeSchemaError(e)}` });
      }
    } else if (Object.keys(params).length > 0) {
      throw bwkError('BWK_ERR_INVALID_INPUT', { reason: `listing ${type} takes no parameters` });
    }
    const list = await p.listResources({ projectId: ctx.projectId, parameters: params });
    return Promise.all(list.map((r) => this.withDependents(ctx, r)));
  }

  async instance(ctx: RequestContext, type: string, id: string): Promise<ProtectableInstance> {
    const r = await this.providers.protectable(type).showResource({ projectId: ctx.projectId, parameters: {} }, id);
    return this.withDependents(ctx, r);
  }

  private async withDependents(ctx: RequestContext, r: Resource): Promise<ProtectableInstance> {
    const deps: Resource[] = [];
    for (const [, p] of [...this.providers.protectables].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (p.parentResourceTypes().includes(r.type))
        deps.push(...(await p.dependentResources({ projectId: ctx.projectId, parameters: {} }, r)));
    }
    return { ...r, dependent_resources: deps };
  }
}
