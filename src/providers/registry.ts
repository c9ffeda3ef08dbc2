import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { bwkError } from '../core/errors.js';
import type { Logger } from '../common/logging.js';
import { ajv } from '../common/schema.js';
import type { BankPlugin } from '../bank/port.js';
import { createBank } from '../bank/factory.js';
import { ChunkStore } from '../bank/chunks/store.js';
import type { ProtectablePlugin, ProtectionPlugin, ResourceSchemas } from '../plugins/api.js';
import { loadPluginDefinition } from './plugin-loader.js';
import { BUILTIN_PLUGINS } from '../plugins/builtin.js';
import { readProviderFile } from './provider-file.js';

/** Karbor's `extended_info_schema`: per schema kind, per resource type. */
export interface ExtendedInfoSchema {
  options_schema: Record<string, unknown>;
  restore_schema: Record<string, unknown>;
  saved_info_schema: Record<string, unknown>;
  verify_schema: Record<string, unknown>;
}

export interface Provider {
  id: string;
  name: string;
  description: string;
  file: string;
  bank: BankPlugin;
  /** The bank's chunk store (encryption, deduplication); plugin sections write through it. */
  chunks: ChunkStore;
  /** Protection plugin per resource type. */
  protection: ReadonlyMap<string, ProtectionPlugin>;
  /** Protectables this provider's plugins bring, per resource type. */
  protectables: ReadonlyMap<string, ProtectablePlugin>;
  schemas(type: string): ResourceSchemas;
  extendedInfoSchema(): ExtendedInfoSchema;
}

export interface RegistryOptions {
  home: string;
  logger: Logger;
  /** Directories of provider files, in load order (built-ins first). */
  directories: string[];
}

/** Built-in provider files ship in config/providers at the package root. */
export const BUILTIN_PROVIDER_DIR = new URL('../../../config/providers/', import.meta.url).pathname;

export class ProviderRegistry {
  private constructor(
    readonly providers: ReadonlyMap<string, Provider>,
    /** Every protectable type any provider brings (the last loaded wins: home providers over built-ins), for discovery. */
    readonly protectables: ReadonlyMap<string, ProtectablePlugin>,
    private readonly banks: BankOfProvider[],
  ) {}

  static async load(opts: RegistryOptions): Promise<ProviderRegistry> {
    const providers = new Map<string, Provider>();
    const protectables = new Map<string, ProtectablePlugin>();
    const banks = new Map<string, BankOfProvider>();
    for (const dir of opts.directories) {
      if (!existsSync(dir)) continue;
      for (const name of readdirSync(dir)
        .filter((n) => /\.ya?ml$/.test(n))
        .sort()) {
        const provider = await loadProvider(join(dir, name), opts, banks);
        const clash = providers.get(provider.id);
        if (clash) {
          throw bwkError('BWK_ERR_PROVIDER_INVALID', {
            file: provider.file,
            line: 1,
            reason: `id ${provider.id} is already used by ${clash.file}`,
          });
        }
        providers.set(provider.id, provider);
        // Discovery of a type uses the last provider that brings it: <home>/providers load after the
        // built-ins, so an operator's provider (its servers, its instances) wins over the defaults.
        for (const [type, p] of provider.protectables) protectables.set(type, p);
      }
    }
    return new ProviderRegistry(providers, protectables, [...banks.values()]);
  }

  get(id: string): Provider {
    const p = this.providers.get(id.toLowerCase());
    if (!p)
      throw bwkError('BWK_ERR_PROVIDER_NOT_FOUND', {
        id,
        known: [...this.providers.values()].map((x) => `${x.id} (${x.name})`).join(', ') || 'none',
      });
    return p;
  }

  list(): Provider[] {
    return [...this.providers.values()].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  }

  protectable(type: string): ProtectablePlugin {
    const p = this.protectables.get(type);
    if (!p) throw bwkError('BWK_ERR_PROTECTABLE_TYPE_UNKNOWN', { type, known: [...this.protectables.keys()].sort().join(', ') });
    return p;
  }

  async close(): Promise<void> {
    await Promise.all(
      this.banks.map(async (b) => {
        await b.chunks.close();
        await b.bank.close();
      }),
    );
  }
}

interface BankOfProvider {
  bank: BankPlugin;
  chunks: ChunkStore;
}

/** How messages name a bank: its directory for the fs bank, else its type. */
const bankLabel = (bank: BankPlugin): string => bank.localDirectory ?? bank.kind;

async function loadProvider(file: string, opts: RegistryOptions, banks: Map<string, BankOfProvider>): Promise<Provider> {
  const { provider: spec, source } = readProviderFile(file);
  const protection = new Map<string, ProtectionPlugin>();
  const protectables = new Map<string, ProtectablePlugin>();
  const schemas = new Map<string, ResourceSchemas>();
  for (const [i, entry] of spec.plugins.entries()) {
    const def = await loadPluginDefinition(entry, i, source);
    const logger = opts.logger.child({ provider: spec.id, plugin: def.name });
    const instance = await def.create({ home: opts.home, providerId: spec.id, options: entry.options, logger });
    const line = source.lineOf(`/plugins/${i}`);
    if (instance.protection) {
      for (const type of instance.protection.supportedResourceTypes()) {
        if (protection.has(type))
          throw bwkError('BWK_ERR_PROVIDER_INVALID', { file, line, reason: `two plugins protect resource type "${type}"` });
        protection.set(type, instance.protection);
        // Built-in plugins' schemas are compiled by the test suite (builtin-schemas.test.ts), not on
        // every command: that took ~150 ms of each CLI run. A plugin from elsewhere is checked here.
        const own = instance.protection.schemas(type);
        schemas.set(type, BUILTIN_PLUGINS.get(def.name) === def ? own : checkSchemas(def.name, type, own));
      }
    }
    for (const p of instance.protectables ?? []) if (!protectables.has(p.resourceType())) protectables.set(p.resourceType(), p);
  }
  const bankKey = JSON.stringify(spec.bank);
  let entry = banks.get(bankKey);
  if (!entry) {
    let bank: BankPlugin;
    try {
      bank = createBank(spec.bank, opts.home);
    } catch (err) {
      throw bwkError('BWK_ERR_PROVIDER_INVALID', { file, line: source.lineOf('/bank'), reason: (err as Error).message });
    }
    // A bank that cannot be used safely (an S3 server without conditional writes) stops the start here.
    await bank.open?.();
    const { type: _type, options: _options, ...chunkSpec } = spec.bank;
    entry = { bank, chunks: new ChunkStore(bank, chunkSpec, bankLabel(bank)) };
    banks.set(bankKey, entry);
  }
  const { bank, chunks } = entry;
  const extended = (): ExtendedInfoSchema => {
    const out: ExtendedInfoSchema = { options_schema: {}, restore_schema: {}, saved_info_schema: {}, verify_schema: {} };
    for (const [type, s] of [...schemas.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      if (s.options) out.options_schema[type] = s.options;
      if (s.restore) out.restore_schema[type] = s.restore;
      if (s.saved_info) out.saved_info_schema[type] = s.saved_info;
      if (s.verify) out.verify_schema[type] = s.verify;
    }
    return out;
  };
  return {
    id: spec.id,
    name: spec.name,
    description: spec.description,
    file,
    bank,
    chunks,
    protection,
    protectables,
    schemas: (type) => schemas.get(type) ?? {},
    extendedInfoSchema: extended,
  };
}

/** A plugin's schemas must compile: a broken schema is the plugin's bug, reported at load, not at first use. */
function checkSchemas(plugin: string, type: string, s: ResourceSchemas): ResourceSchemas {
  for (const [kind, schema] of Object.entries(s)) {
    if (schema === undefined) continue;
    try {
      ajv.compile(schema);
    } catch (err) {
      throw bwkError('BWK_ERR_PLUGIN_INVALID', {
        name: plugin,
        reason: `${kind} schema of ${type} does not compile: ${(err as Error).message}`,
      });
    }
  }
  return s;
}
