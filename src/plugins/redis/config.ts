/**
 * The `redis` plugin's provider options: named Redis instances. Passwords never appear here, only
 * where to read them (an environment variable or a file), and they are read when a connection opens,
 * so a rotated secret is picked up without a restart and never sits in a long-lived object.
 */
import { isAbsolute, resolve } from 'node:path';
import { bwkError } from '../../core/errors.js';
import { compileSchema, describeSchemaError, pointerToPath, sortSchemaErrors } from '../../common/schema.js';
import type { JsonSchema } from '../api.js';
import { readPasswordFrom } from '../password.js';

export const PLUGIN_NAME = 'redis';

/** One configured Redis instance, as the provider file describes it. */
export interface InstanceConfig {
  name: string;
  host: string;
  port: number;
  db: number;
  username?: string;
  password_env?: string;
  /** Absolute (relative paths in the provider file are taken from the Bulwark home). */
  password_file?: string;
  connect_timeout_ms: number;
}

const INSTANCE_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['host'],
  properties: {
    host: { type: 'string', minLength: 1 },
    port: { type: 'integer', minimum: 1, maximum: 65535, default: 6379 },
    db: { type: 'integer', minimum: 0, maximum: 15, default: 0 },
    username: { type: 'string', minLength: 1, description: 'ACL user; default: the "default" user.' },
    password_env: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'Environment variable holding the password.' },
    password_file: { type: 'string', minLength: 1, description: 'File holding the password (relative paths: from the Bulwark home).' },
    connect_timeout_ms: { type: 'integer', minimum: 100, maximum: 600_000, default: 10_000 },
  },
  not: { required: ['password_env', 'password_file'] },
};

export const OPTIONS_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['instances'],
  properties: {
    instances: {
      type: 'object',
      minProperties: 1,
      propertyNames: { pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$' },
      additionalProperties: INSTANCE_SCHEMA,
    },
  },
};

/** Names a secret-looking field the operator may have tried, to point at the supported way. */
function passwordFieldMisuse(options: Record<string, unknown>): string | null {
  const instances = options.instances;
  if (typeof instances !== 'object' || instances === null) return null;
  for (const [name, inst] of Object.entries(instances)) {
    if (typeof inst === 'object' && inst !== null && ('password' in inst || 'pass' in inst)) {
      return (
        `instances.${name}: a password cannot be written in the provider file; put it in an environment variable or a file and name ` +
        `that with "password_env" or "password_file"`
      );
    }
  }
  return null;
}

/** Validates the plugin options (once, in create()) and returns the instances by name. */
export function parseOptions(raw: Record<string, unknown>, home: string, providerId: string): ReadonlyMap<string, InstanceConfig> {
  const options = structuredClone(raw ?? {});
  const misuse = passwordFieldMisuse(options);
  const invalid = (reason: string) =>
    bwkError('BWK_ERR_PLUGIN_INVALID', { name: PLUGIN_NAME, reason: `options of provider ${providerId}: ${reason}` });
  if (misuse !== null) throw invalid(misuse);
  const validate = compileSchema(OPTIONS_SCHEMA);
  if (!validate(options)) {
    const first = sortSchemaErrors(validate.errors ?? [])[0];
    const reason =
      first === undefined
        ? 'invalid'
        : first.keyword === 'not'
          ? `${pointerToPath(first.instancePath)}: give either "password_env" or "password_file", not both`
          : describeSchemaError(first);
    throw invalid(`${reason} (expected {instances: {<name>: {host, port?, db?, username?, password_env? | password_file?}}})`);
  }
  const out = new Map<string, InstanceConfig>();
  const instances = options.instances as Record<string, Omit<InstanceConfig, 'name'>>;
  for (const [name, inst] of Object.entries(instances)) {
    const file = inst.password_file;
    out.set(name, { ...inst, name, ...(file === undefined ? {} : { password_file: isAbsolute(file) ? file : resolve(home, file) }) });
  }
  return out;
}

/**
 * The instance's password, read now from where the options point, or undefined when none is
 * configured. Errors name the variable or file, never what it holds.
 */
export function readPassword(inst: InstanceConfig): Promise<string | undefined> {
  const fail = (reason: string): Error => bwkError('BWK_ERR_CONFIG_INVALID', { file: `redis instance "${inst.name}"`, reason });
  return readPasswordFrom(inst, {
    envUnset: (variable) => fail(`environment variable ${variable} (its password_env) is not set`),
    fileUnreadable: (path, code) => fail(`password_file ${path} cannot be read (${code})`),
  });
}

/** `cache (127.0.0.1:6379 db 0)` — how messages name an instance. */
export const describeInstance = (inst: InstanceConfig, db = inst.db): string => `${inst.name} (${inst.host}:${inst.port} db ${db})`;

/** The configured instance named `name`, or BWK_ERR_RESOURCE_NOT_FOUND listing the configured ones. */
export function requireInstance(instances: ReadonlyMap<string, InstanceConfig>, name: string): InstanceConfig {
  const inst = instances.get(name);
  if (inst === undefined) {
    throw bwkError('BWK_ERR_RESOURCE_NOT_FOUND', {
      type: 'redis.instance',
      id: name,
      reason: `no Redis instance "${name}" is configured in this provider (configured: ${[...instances.keys()].join(', ')})`,
    });
  }
  return inst;
}
