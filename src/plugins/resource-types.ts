/**
 * A plugin's resource types and their parameter schemas: what its ProtectionPlugin answers for
 * supportedResourceTypes() and schemas(). Any other type is BWK_ERR_RESOURCE_TYPE_UNKNOWN naming the
 * plugin and what it supports.
 */
import type { ResourceSchemas } from './api.js';
import { bwkError } from '../core/errors.js';

export class ResourceTypes {
  private readonly byType: ReadonlyMap<string, ResourceSchemas>;

  /** `plugin` names the plugin in errors; `types` come in the order supportedResourceTypes() lists them. */
  constructor(
    private readonly plugin: string,
    types: Iterable<readonly [string, ResourceSchemas]>,
  ) {
    this.byType = new Map(types);
  }

  names(): string[] {
    return [...this.byType.keys()];
  }

  schemas(resourceType: string): ResourceSchemas {
    const schemas = this.byType.get(resourceType);
    if (schemas === undefined) {
      throw bwkError('BWK_ERR_RESOURCE_TYPE_UNKNOWN', {
        type: resourceType,
        provider: `${this.plugin} plugin`,
        supported: this.names().join(', '),
      });
    }
    return schemas;
  }
}
