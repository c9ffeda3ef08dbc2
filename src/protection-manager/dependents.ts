import type { Resource } from '../plugins/api.js';
import type { Provider, ProviderRegistry } from '../providers/registry.js';

/**
 * The dependents function a resource graph is expanded with: asks every protectable whose type the
 * provider protects and whose parents include the resource's type. The provider's own protectables
 * win over same-typed ones of other providers (their options may differ).
 */
export function dependentsVia(registry: ProviderRegistry, provider: Provider, projectId: string): (parent: Resource) => Promise<Resource[]> {
  const protectables = [...new Map([...registry.protectables, ...provider.protectables])].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return async (parent) => {
    const out: Resource[] = [];
    for (const [type, p] of protectables) {
      if (!provider.protection.has(type) || !p.parentResourceTypes().includes(parent.type)) continue;
      out.push(...await p.dependentResources({ projectId, parameters: {} }, parent));
    }
    return out;
  };
}
