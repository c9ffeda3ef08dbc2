/**
 * Database servers as dump-based plugins (postgres, mariadb...) configure them in a provider file:
 *
 *   servers:
 *     main: {host: 127.0.0.1, port: 5432, user: postgres, password_env: BULWARK_PG_MAIN_PASSWORD}
 *
 * A password is never written in the provider file: it is named by `password_env` (an environment
 * variable of the Bulwark process) or `password_file` (a file holding it), and read only when a tool
 * is about to run, so rotating it needs no restart and it never sits in a config object.
 */
import { isAbsolute } from 'node:path';
import type { JsonSchema } from '../api.js';
import { bwkError } from '../../core/errors.js';
import { compileSchema, describeSchemaError, sortSchemaErrors } from '../../common/schema.js';
import { readPasswordFrom } from '../password.js';

export interface DbServer {
  /** The name in `servers:`, used in resource ids. */
  name: string;
  host: string;
  port: number;
  user: string;
  password_env?: string;
  password_file?: string;
  /** Seconds a tool waits for a connection. */
  connect_timeout: number;
}

/** Server names appear in resource ids (`<server>/<database>`), so they cannot hold a `/`. */
export const SERVER_NAME = /^[A-Za-z0-9_.-]{1,63}$/;

/** The JSON Schema of one server entry; `extra` adds plugin-specific fields. */
export function serverSchema(defaultPort: number, extra: Record<string, JsonSchema> = {}): JsonSchema {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['host', 'user'],
    properties: {
      host: { type: 'string', minLength: 1, description: 'Host name, IP address or Unix socket directory.' },
      port: { type: 'integer', minimum: 1, maximum: 65535, default: defaultPort },
      user: { type: 'string', minLength: 1 },
      password_env: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'Environment variable holding the password.' },
      password_file: {
        type: 'string',
        minLength: 1,
        description: 'Absolute path of a file holding the password (a trailing newline is ignored).',
      },
      connect_timeout: { type: 'integer', minimum: 1, maximum: 600, default: 10, description: 'Seconds to wait for a connection.' },
      ...extra,
    },
  };
}

/**
 * Validates a plugin's `options` against `schema` (which must have a `servers` map of serverSchema
 * entries) and returns them with defaults filled in. Errors name the provider and the field.
 */
export function parsePluginOptions<T extends { servers: Record<string, Omit<DbServer, 'name'>> }>(
  plugin: string,
  providerId: string,
  schema: JsonSchema,
  options: Record<string, unknown>,
): T {
  const fail = (reason: string): Error =>
    bwkError('BWK_ERR_CONFIG_INVALID', { file: `provider ${providerId}, plugin "${plugin}" options`, reason });
  const copy = structuredClone(options);
  const servers = (copy as { servers?: unknown }).servers;
  if (servers !== null && typeof servers === 'object' && Object.keys(servers).length === 0)
    throw fail('servers: configure at least one server, e.g. {main: {host: 127.0.0.1, user: postgres}}');
  const validate = compileSchema(schema);
  if (!validate(copy)) throw fail(describeSchemaError(sortSchemaErrors(validate.errors ?? [])[0]!));
  const parsed = copy as unknown as T;
  for (const [name, s] of Object.entries(parsed.servers)) {
    if (!SERVER_NAME.test(name)) throw fail(`servers: "${name}" is not a valid server name (1-63 letters, digits, "_", "." or "-")`);
    if (s.password_env !== undefined && s.password_file !== undefined)
      throw fail(`servers.${name}: give password_env or password_file, not both`);
    if (s.password_file !== undefined && !isAbsolute(s.password_file))
      throw fail(`servers.${name}.password_file: must be an absolute path`);
  }
  return parsed;
}

/** The servers of parsed options, by name. */
export function serversOf(servers: Record<string, Omit<DbServer, 'name'>>): ReadonlyMap<string, DbServer> {
  return new Map(Object.entries(servers).map(([name, s]) => [name, Object.freeze({ ...s, name })]));
}

/**
 * Reads a server's password now (env var or file), or undefined when none is configured. Errors say
 * which variable or file is missing, never what it holds.
 */
export async function readPassword(server: DbServer): Promise<string | undefined> {
  const fail = (reason: string): Error => bwkError('BWK_ERR_CONFIG_INVALID', { file: `server "${server.name}"`, reason });
  const value = await readPasswordFrom(server, {
    envUnset: (variable) =>
      fail(`password_env names ${variable}, which is not set in Bulwark's environment: set it, or remove password_env`),
    fileUnreadable: (path, code) => fail(`password_file ${path} cannot be read (${code}): check the path and that Bulwark may read it`),
  });
  if (value === '') throw fail(`password_file ${server.password_file} is empty`);
  return value;
}

/**
 * The whole environment a tool gets: PATH, LANG, the password under `passwordVar` (PGPASSWORD,
 * MYSQL_PWD...) and `extra` — not Bulwark's environment, which may hold other secrets.
 */
export function toolEnv(passwordVar: string, password: string | undefined, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    LANG: process.env.LANG ?? 'C.UTF-8',
    ...extra,
    ...(password !== undefined ? { [passwordVar]: password } : {}),
  };
}
