import { bwkError } from '../core/errors.js';
import { resourceRef, type Resource } from '../core/resource.js';
import type { Provider, ProviderRegistry } from '../providers/registry.js';

/**
 * The dependents function a resource graph is expanded with: asks every protectable whose type the
 * provider protects and whose parents include the resource's type. The provider's own protectables
 * win over same-typed ones of other providers (their options may differ).
 */
export function dependentsVia(
  registry: ProviderRegistry,
  provider: Provider,
  projectId: string,
): (parent: Resource) => Promise<Resource[]> {
  const protectables = [...new Map([...registry.protectables, ...provider.protectables])].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return async (parent) => {
    const out: Resource[] = [];
    for (const [type, p] of protectables) {
      if (!provider.protection.has(type) || !p.parentResourceTypes().includes(parent.type)) continue;
      for (const dependent of await p.dependentResources({ projectId, parameters: {} }, parent)) {
        // A dependent of another type (app.stack's members) with no protection here would get no tasks: refuse, never skip.
        if (!provider.protection.has(dependent.type)) throw unprotectedDependent(provider, type, parent, dependent);
        out.push(dependent);
      }
    }
    return out;
  };
}

function unprotectedDependent(provider: Provider, protectable: string, parent: Resource, dependent: Resource): Error {
  const supported = [...provider.protection.keys()].sort().join(', ');
  return bwkError('BWK_ERR_PLAN_INVALID', {
    reason:
      `the ${protectable} protectable gives ${resourceRef(dependent)} as a dependent of ${resourceRef(parent)}, but provider ` +
      `${provider.name} (${provider.id}) protects no "${dependent.type}" (supported: ${supported}): add a plugin for that type to the ` +
      `provider, or remove the resource from the ${protectable} options`,
  });
}
