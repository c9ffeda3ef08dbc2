import { nameScope } from '../scope-matchers.js';
import type { BankSection, Operation, PluginDefinition, ProtectablePlugin, ProtectionPlugin, Resource } from '../api.js';
import { PLUGIN_API_VERSION, PluginError, resourceRef } from '../api.js';
import { clearSection } from '../clear-section.js';
import { NO_PARAMETERS } from '../protection-table.js';

/**
 * `noop`: protects nothing but exercises every hook, so flows, providers and engines can be tested
 * without data. Its resources come from the provider options:
 *   options: { resources: [a, b], dependents: { a: [b] } }   # b is a dependent of a
 * Protect records a marker object per hook so verify can prove each hook ran.
 */
const TYPE = 'noop';

const marker = (bank: BankSection, hook: string) => bank.put(`${hook}.json`, JSON.stringify({ hook, at: new Date().toISOString() }));

function protectOperation(): Operation {
  return {
    prepareBegin: async (ctx) => marker(ctx.bank, 'prepare_begin'),
    prepareFinish: async (ctx) => marker(ctx.bank, 'prepare_finish'),
    main: async (ctx) => marker(ctx.bank, 'main'),
    complete: async (ctx) => marker(ctx.bank, 'complete'),
  };
}

function verifyOperation(): Operation {
  return {
    main: async (ctx) => {
      const present = await ctx.bank.list();
      for (const hook of ['prepare_begin', 'prepare_finish', 'main', 'complete']) {
        if (!present.includes(`${hook}.json`)) {
          throw new PluginError(`${resourceRef(ctx.resource)}: marker of hook ${hook} is missing from the bank`, {
            code: 'BWK_ERR_DATA_CORRUPT',
          });
        }
      }
    },
  };
}

function deleteOperation(): Operation {
  return { main: (ctx) => clearSection(ctx.bank) };
}

export const noopPlugin: PluginDefinition = {
  apiVersion: PLUGIN_API_VERSION,
  name: 'noop',
  description: 'Protects nothing; runs every hook. For testing flows and providers.',
  create(env) {
    const ids = Array.isArray(env.options.resources) ? env.options.resources.map(String) : [];
    const dependents = (env.options.dependents ?? {}) as Record<string, string[]>;
    const asResource = (id: string): Resource => ({ type: TYPE, id, name: id });
    const protection: ProtectionPlugin = {
      supportedResourceTypes: () => [TYPE],
      schemas: () => ({ options: NO_PARAMETERS, restore: NO_PARAMETERS, verify: NO_PARAMETERS }),
      getProtectOperation: protectOperation,
      getRestoreOperation: () => ({ main: async () => undefined }),
      getVerifyOperation: verifyOperation,
      getDeleteOperation: deleteOperation,
      // Matched by id; its restore writes nothing anywhere.
      scope: () => nameScope(() => []),
    };
    const protectable: ProtectablePlugin = {
      resourceType: () => TYPE,
      parentResourceTypes: () => [TYPE],
      listResources: async () => ids.map(asResource),
      async showResource(_ctx, id) {
        if (!ids.includes(id))
          throw new PluginError(`resource noop#${id} not found: not listed in the provider options (known: ${ids.join(', ') || 'none'})`, {
            code: 'BWK_ERR_RESOURCE_NOT_FOUND',
          });
        return asResource(id);
      },
      dependentResources: async (_ctx, parent) => (parent.type === TYPE ? (dependents[parent.id] ?? []).map(String).map(asResource) : []),
    };
    return { protection, protectables: [protectable] };
  },
};
