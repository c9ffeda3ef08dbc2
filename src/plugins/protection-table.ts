/**
 * A ProtectionPlugin written as a table: each resource type with its parameter schemas and its
 * operations. An operation a type leaves out is empty (no hook, so no task). Any other type is
 * BWK_ERR_RESOURCE_TYPE_UNKNOWN naming the plugin and what it supports.
 */
import type {
  DeleteContext,
  JsonSchema,
  Operation,
  ProtectContext,
  ProtectionPlugin,
  Resource,
  ResourceSchemas,
  ResourceScope,
  RestoreContext,
  RestorePolicy,
  VerifyContext,
} from './api.js';
import { bwkError } from '../core/errors.js';
import { clearSection } from './clear-section.js';

/** No parameters: an unknown field is refused rather than ignored. */
export const NO_PARAMETERS: JsonSchema = { type: 'object', additionalProperties: false, properties: {} };

export interface TypeOperations {
  schemas: ResourceSchemas;
  protect?: Operation<ProtectContext>;
  restore?: Operation<RestoreContext>;
  verify?: Operation<VerifyContext>;
  delete?: Operation<DeleteContext>;
  /** How its resources are matched against a project's resource scope; without one, admins only. */
  scope?: ResourceScope;
}

/**
 * The protect and delete of a type whose section holds nothing but what its protect wrote: a failed
 * protect is reverted, and a checkpoint deleted, by clearing the section. Without a protect hook the
 * type stores nothing, but a delete still clears its section.
 */
export function ownSection(protect?: (ctx: ProtectContext) => Promise<void>): Pick<TypeOperations, 'protect' | 'delete'> {
  return {
    protect: protect ? { main: protect, revert: (ctx) => clearSection(ctx.bank) } : {},
    delete: { main: (ctx) => clearSection(ctx.bank) },
  };
}

export class ProtectionTable implements ProtectionPlugin {
  private readonly types: ReadonlyMap<string, TypeOperations>;

  /**
   * `plugin` names the plugin in errors; `types` come in the order supportedResourceTypes() lists them;
   * `checks` are the plugin's own parameter checks beyond its schemas.
   */
  constructor(
    private readonly plugin: string,
    types: Iterable<readonly [string, TypeOperations]>,
    private readonly checks: Pick<ProtectionPlugin, 'checkRestore' | 'checkOptions'> = {},
  ) {
    this.types = new Map(types);
  }

  supportedResourceTypes(): string[] {
    return [...this.types.keys()];
  }

  schemas(resourceType: string): ResourceSchemas {
    const type = this.types.get(resourceType);
    if (type === undefined) {
      throw bwkError('BWK_ERR_RESOURCE_TYPE_UNKNOWN', {
        type: resourceType,
        provider: `${this.plugin} plugin`,
        supported: this.supportedResourceTypes().join(', '),
      });
    }
    return type.schemas;
  }

  getProtectOperation(resource: Resource): Operation<ProtectContext> {
    return this.types.get(resource.type)?.protect ?? {};
  }

  getRestoreOperation(resource: Resource): Operation<RestoreContext> {
    return this.types.get(resource.type)?.restore ?? {};
  }

  getVerifyOperation(resource: Resource): Operation<VerifyContext> {
    return this.types.get(resource.type)?.verify ?? {};
  }

  getDeleteOperation(resource: Resource): Operation<DeleteContext> {
    return this.types.get(resource.type)?.delete ?? {};
  }

  checkRestore(resource: Resource, parameters: Record<string, unknown>, policy: RestorePolicy): void | Promise<void> {
    return this.checks.checkRestore?.(resource, parameters, policy);
  }

  scope(type: string): ResourceScope | undefined {
    return this.types.get(type)?.scope;
  }

  checkOptions(resource: Resource, parameters: Record<string, unknown>): void | Promise<void> {
    return this.checks.checkOptions?.(resource, parameters);
  }
}
