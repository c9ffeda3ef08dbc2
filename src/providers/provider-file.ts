import { readFileSync } from 'node:fs';
import { bwkError } from '../core/errors.js';
import { precompiledValidator } from '../common/precompiled.js';
import { describeSchemaError, errorPointer, sortSchemaErrors } from '../common/schema.js';
import { parseYamlSource, YamlSyntaxError } from '../common/yaml-source.js';
import type { ChunkStoreSpec } from '../bank/chunks/config.js';

/** A provider file as written by an operator (config/providers/*.yaml or <home>/providers/*.yaml). */
export interface ProviderFile {
  id: string;
  name: string;
  description: string;
  plugins: Array<{ name: string; module?: string; options: Record<string, unknown> }>;
  bank: { type: string; options: Record<string, unknown> } & ChunkStoreSpec;
}

/** Where each part of a provider file came from, for error messages. */
export interface ProviderSource {
  file: string;
  lineOf(pointer: string): number;
}

export const PROVIDER_FILE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'name', 'plugins', 'bank'],
  properties: {
    id: { type: 'string', pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' },
    name: { type: 'string', minLength: 1, maxLength: 255 },
    description: { type: 'string', default: '' },
    plugins: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name'],
        properties: {
          name: { type: 'string', minLength: 1 },
          module: { type: 'string', minLength: 1 },
          options: { type: 'object', default: {} },
        },
      },
    },
    bank: {
      type: 'object',
      additionalProperties: false,
      required: ['type'],
      properties: {
        type: { type: 'string', minLength: 1 },
        options: { type: 'object', default: {} },
        // Secrets are named, never written here: an environment variable or a key file (0600).
        encryption: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          maxProperties: 1,
          properties: {
            passphrase_env: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
            key_file: { type: 'string', pattern: '^/' },
          },
        },
        compression: { type: 'object', additionalProperties: false, properties: { level: { type: 'integer', minimum: 0, maximum: 19 } } },
        chunking: {
          type: 'object',
          additionalProperties: false,
          properties: {
            min_size: { type: 'integer', minimum: 64 },
            avg_size: { type: 'integer', minimum: 128 },
            max_size: { type: 'integer', maximum: 67108864 },
          },
        },
        pack_size: { type: 'integer', minimum: 65536, maximum: 1073741824 },
        workers: { type: 'integer', minimum: 1, maximum: 64 },
      },
    },
  },
} as const;

/** Reads and validates one provider file; errors name the file and line. */
export function readProviderFile(file: string): { provider: ProviderFile; source: ProviderSource } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw bwkError('BWK_ERR_PROVIDER_INVALID', { file, line: 1, reason: `cannot read: ${(err as Error).message}` });
  }
  let src;
  try {
    src = parseYamlSource(text, file);
  } catch (err) {
    if (err instanceof YamlSyntaxError)
      throw bwkError('BWK_ERR_PROVIDER_INVALID', { file, line: err.line, reason: `YAML syntax: ${err.reason}` });
    throw err;
  }
  const value = src.value === null || typeof src.value !== 'object' ? src.value : structuredClone(src.value);
  const validate = precompiledValidator('provider-file', PROVIDER_FILE_SCHEMA);
  if (!validate(value)) {
    const e = sortSchemaErrors(validate.errors ?? [])[0]!;
    throw bwkError('BWK_ERR_PROVIDER_INVALID', { file, line: src.lineOf(errorPointer(e)), reason: describeSchemaError(e) });
  }
  const provider = value as ProviderFile;
  provider.id = provider.id.toLowerCase();
  const seen = new Map<string, number>();
  provider.plugins.forEach((p, i) => {
    if (seen.has(p.name)) {
      throw bwkError('BWK_ERR_PROVIDER_INVALID', {
        file,
        line: src.lineOf(`/plugins/${i}/name`),
        reason: `plugin "${p.name}" is listed twice (first at plugins[${seen.get(p.name)}])`,
      });
    }
    seen.set(p.name, i);
  });
  return { provider, source: { file, lineOf: src.lineOf } };
}
