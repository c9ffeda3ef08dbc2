import { createRequire } from 'node:module';
import { dirname, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bwkError } from '../core/errors.js';
import type { PluginDefinition } from '../plugins/api.js';
import { SUPPORTED_PLUGIN_API_VERSIONS } from '../plugins/api.js';
import { BUILTIN_PLUGINS } from '../plugins/builtin.js';
import type { ProviderSource } from './provider-file.js';

/**
 * Resolves a provider file's plugin entry to a PluginDefinition: a built-in by name, or a module
 * given as a path (relative to the provider file) or an npm package name (resolved from the provider
 * file's directory, so a package installed beside the file is found).
 */
export async function loadPluginDefinition(
  entry: { name: string; module?: string },
  index: number,
  source: ProviderSource,
): Promise<PluginDefinition> {
  const line = source.lineOf(`/plugins/${index}`);
  if (entry.module === undefined) {
    const builtin = BUILTIN_PLUGINS.get(entry.name);
    if (!builtin) {
      throw bwkError(
        'BWK_ERR_PLUGIN_NOT_INSTALLED',
        {
          file: source.file,
          line: source.lineOf(`/plugins/${index}/name`),
          name: entry.name,
          installed: [...BUILTIN_PLUGINS.keys()].join(', '),
        },
        {
          details: { hint: 'give a `module:` (file path or npm package) for plugins that are not built in' },
        },
      );
    }
    return builtin;
  }
  const module = entry.module;
  const loadFailed = (at: number, reason: string): Error =>
    bwkError('BWK_ERR_PLUGIN_LOAD_FAILED', { file: source.file, line: at, module, reason });
  const moduleLine = source.lineOf(`/plugins/${index}/module`);
  let mod: Record<string, unknown>;
  try {
    const url =
      module.startsWith('.') || isAbsolute(module)
        ? pathToFileURL(resolve(dirname(source.file), module)).href
        : pathToFileURL(createRequire(resolve(source.file)).resolve(module)).href;
    mod = (await import(url)) as Record<string, unknown>;
  } catch (err) {
    // Not found and failing to load are one error: either way the module named is not usable.
    throw loadFailed(moduleLine, (err as Error).message);
  }
  const def = (mod.default ?? mod.plugin) as Partial<PluginDefinition> | undefined;
  if (def && typeof def === 'object' && !SUPPORTED_PLUGIN_API_VERSIONS.includes(def.apiVersion as number)) {
    // Its own code: the fix is a plugin release for this API (or a Bulwark for that one), not a path.
    throw bwkError('BWK_ERR_PLUGIN_API_VERSION', {
      file: source.file,
      line,
      module,
      version: JSON.stringify(def.apiVersion ?? null),
      supported: SUPPORTED_PLUGIN_API_VERSIONS.join(', '),
    });
  }
  const problem =
    !def || typeof def !== 'object'
      ? 'it exports no plugin (expected a default or `plugin` export)'
      : typeof def.create !== 'function'
        ? 'its create() is missing'
        : def.name !== entry.name
          ? `it is named "${String(def.name)}", not "${entry.name}"`
          : null;
  if (problem) throw loadFailed(line, problem);
  return def as PluginDefinition;
}
