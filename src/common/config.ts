import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { bwkError } from './errors.js';
import type { LogLevel } from './logging.js';
import { compileSchema, describeSchemaError, errorPointer, sortSchemaErrors } from './schema.js';
import { parseYamlSource, YamlSyntaxError } from './yaml-source.js';

/**
 * `<home>/bulwark.yaml`: the one configuration file. Every option, its default and its meaning is
 * listed in docs/configuration.md; this schema is the single source of those defaults.
 */
export interface BulwarkConfig {
  project: string;
  engine: 'local';
  local_engine: {
    max_parallel: number;
    task_timeout_ms: number;
    retry: { max_attempts: number; initial_delay_ms: number; max_delay_ms: number };
  };
  lease: { ttl_ms: number; renew_interval_ms: number };
  catalog: { url: string };
  restore: { allowed_target_paths: string[] };
  log: { level: LogLevel; file: string };
}

export const CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    project: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$', default: 'default' },
    engine: { enum: ['local'], default: 'local' },
    local_engine: {
      type: 'object', additionalProperties: false, default: {},
      properties: {
        max_parallel: { type: 'integer', minimum: 1, maximum: 256, default: 4 },
        task_timeout_ms: { type: 'integer', minimum: 100, default: 6 * 3600 * 1000 },
        retry: {
          type: 'object', additionalProperties: false, default: {},
          properties: {
            max_attempts: { type: 'integer', minimum: 1, maximum: 100, default: 3 },
            initial_delay_ms: { type: 'integer', minimum: 0, default: 1000 },
            max_delay_ms: { type: 'integer', minimum: 0, default: 30000 },
          },
        },
      },
    },
    lease: {
      type: 'object', additionalProperties: false, default: {},
      properties: {
        ttl_ms: { type: 'integer', minimum: 500, default: 60000 },
        renew_interval_ms: { type: 'integer', minimum: 100, default: 20000 },
      },
    },
    catalog: {
      type: 'object', additionalProperties: false, default: {},
      properties: { url: { type: 'string', pattern: '^sqlite:', default: 'sqlite:catalog.db' } },
    },
    restore: {
      type: 'object', additionalProperties: false, default: {},
      properties: {
        allowed_target_paths: { type: 'array', items: { type: 'string', pattern: '^/' }, default: ['/'] },
      },
    },
    log: {
      type: 'object', additionalProperties: false, default: {},
      properties: {
        level: { enum: ['debug', 'info', 'warn', 'error'], default: 'info' },
        file: { type: 'string', minLength: 1, default: 'logs/bulwark.log' },
      },
    },
  },
} as const;

/** Validates raw config (already parsed) and returns it frozen with defaults filled in. */
export function validateConfig(raw: unknown, file: string, lineOf: (pointer: string) => number = () => 1): BulwarkConfig {
  const value = raw === null || raw === undefined ? {} : structuredClone(raw);
  const validate = compileSchema(CONFIG_SCHEMA);
  if (!validate(value)) {
    const e = sortSchemaErrors(validate.errors ?? [])[0]!;
    throw bwkError('BWK_ERR_CONFIG_INVALID', { file: `${file}:${lineOf(errorPointer(e))}`, reason: describeSchemaError(e) });
  }
  const cfg = value as BulwarkConfig;
  if (cfg.lease.renew_interval_ms >= cfg.lease.ttl_ms) {
    throw bwkError('BWK_ERR_CONFIG_INVALID', { file: `${file}:${lineOf('/lease/renew_interval_ms')}`, reason: `lease.renew_interval_ms (${cfg.lease.renew_interval_ms}) must be shorter than lease.ttl_ms (${cfg.lease.ttl_ms})` });
  }
  return deepFreeze(cfg);
}

export function loadConfig(home: string): BulwarkConfig {
  const file = join(home, 'bulwark.yaml');
  if (!existsSync(file)) return validateConfig({}, file);
  try {
    const src = parseYamlSource(readFileSync(file, 'utf8'), file);
    return validateConfig(src.value, file, src.lineOf);
  } catch (err) {
    if (err instanceof YamlSyntaxError) throw bwkError('BWK_ERR_CONFIG_INVALID', { file: `${file}:${err.line}`, reason: err.reason });
    throw err;
  }
}

/** Resolves a path option relative to the Bulwark home, as every relative path in the config is. */
export function homePath(home: string, p: string): string {
  return isAbsolute(p) ? p : resolve(home, p);
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
