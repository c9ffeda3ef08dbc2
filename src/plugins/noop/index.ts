import { nameScope } from '../scope-matchers.js';
import type { BankSection, HookContext, Operation, PluginDefinition, ProtectablePlugin, ProtectionPlugin, Resource } from '../api.js';
import { PLUGIN_API_VERSION, PluginError, resourceRef } from '../api.js';
import { clearSection } from '../clear-section.js';
import { NO_PARAMETERS } from '../protection-table.js';
import { readSealedMeta, sealMeta } from '../sealed-meta.js';

/**
 * `noop`: protects nothing but exercises every hook, so flows, providers and engines can be tested
 * without data. Its resources come from the provider options:
 *   options: { resources: [a, b], dependents: { a: [b] } }   # b is a dependent of a
 * Protect records a marker object per hook, sealed with its own SHA-256, so verify (and restore,
 * which has nothing else to do) can prove each hook ran and nothing stored was changed since.
 */
const TYPE = 'noop';
const HOOKS = ['prepare_begin', 'prepare_finish', 'main', 'complete'];
const MARKER = { name: 'bulwark.noop.marker', version: 1 };

async function marker(ctx: HookContext, hook: string): Promise<void> {
  await ctx.bank.put(`${hook}.json`, sealMeta({ format: MARKER.name, version: MARKER.version, hook, at: new Date().toISOString() }));
  ctx.signal.throwIfAborted();
}

/** Markers written before they were sealed hold exactly `{hook, at}`; there is nothing else they could be checked against. */
async function isLegacyMarker(bank: BankSection, name: string, hook: string): Promise<boolean> {
  const raw = (await bank.get(name)).toString('utf8');
  try {
    const parsed = JSON.parse(raw) as Record<string, unknown>;
    const keys = Object.keys(parsed);
    return JSON.stringify(parsed) === raw && keys.length === 2 && parsed.hook === hook && typeof parsed.at === 'string';
  } catch {
    return false;
  }
}

async function checkMarkers(ctx: HookContext): Promise<void> {
  const present = await ctx.bank.list();
  for (const hook of HOOKS) {
    const name = `${hook}.json`;
    if (!present.includes(name)) {
      throw new PluginError(`${resourceRef(ctx.resource)}: marker of hook ${hook} is missing from the bank`, {
        code: 'BWK_ERR_DATA_CORRUPT',
      });
    }
    if (await isLegacyMarker(ctx.bank, name, hook)) continue;
    const body = await readSealedMeta(ctx.bank, name, resourceRef(ctx.resource), MARKER);
    if (body.hook !== hook)
      throw new PluginError(`${resourceRef(ctx.resource)}: ${name} is the marker of hook ${String(body.hook)}`, {
        code: 'BWK_ERR_DATA_CORRUPT',
      });
  }
}

function protectOperation(): Operation {
  return {
    prepareBegin: (ctx) => marker(ctx, 'prepare_begin'),
    prepareFinish: (ctx) => marker(ctx, 'prepare_finish'),
    main: (ctx) => marker(ctx, 'main'),
    complete: (ctx) => marker(ctx, 'complete'),
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
      // Nothing to write back, but a restore of a changed checkpoint fails as a real plugin's would.
      getRestoreOperation: () => ({ main: checkMarkers }),
      getVerifyOperation: () => ({ main: checkMarkers }),
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
