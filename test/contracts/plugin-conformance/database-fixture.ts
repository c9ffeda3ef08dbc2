/**
 * Conformance fixtures for the database plugins, on the servers of this machine: a populated database
 * of the suite's own name, protected through an account of its own whose password (the configured
 * secret) comes from an environment variable; each restore goes to a new database, compared with the
 * source by the server's own fingerprint.
 */
import { randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { ConformanceFixtures } from '../../../src/plugin-kit/index.js';

export interface DatabaseServer {
  /** `postgres` or `mariadb`: the plugin protects `<plugin>.database` with ids `main/<database>`. */
  plugin: string;
  /** Host, port and whatever else a `servers.main` entry needs besides user and password. */
  server(): Record<string, unknown>;
  uniqueName(label: string): string;
  createDb(name: string): Promise<void>;
  dropDb(name: string): Promise<void>;
  dbExists(name: string): Promise<boolean>;
  populate(name: string, rows: number): Promise<void>;
  fingerprint(name: string): Promise<Record<string, string>>;
  /** An account logging in with `password`, allowed to dump any database and create the suite's. */
  createAccount(password: string): Promise<string>;
  dropAccount(user: string): Promise<void>;
}

export function databaseFixtures(s: DatabaseServer, rows: number): ConformanceFixtures {
  const password = `bwk-secret-${randomBytes(12).toString('hex')}`;
  const passwordEnv = `BWK_CONFORMANCE_${s.plugin.toUpperCase()}_PASSWORD`;
  const databases: string[] = [];
  let source = '';
  let user = '';
  let original: Record<string, string> = {};
  return {
    async source() {
      process.env[passwordEnv] = password;
      user = await s.createAccount(password);
      source = s.uniqueName('conf_src');
      databases.push(source);
      await s.createDb(source);
      await s.populate(source, rows);
      original = await s.fingerprint(source);
      return { type: `${s.plugin}.database`, id: `main/${source}`, name: source };
    },
    get options() {
      return { servers: { main: { ...s.server(), user, password_env: passwordEnv } } };
    },
    listParameters: { server: 'main' },
    missingId: 'main/bwk_conformance_no_such_database',
    secrets: [password],
    async destination(label) {
      const name = s.uniqueName(`conf_${label.replace(/[^a-z0-9]/g, '_')}`).slice(0, 60);
      databases.push(name);
      return {
        parameters: { target_database: name },
        written: () => s.dbExists(name),
        async expectEqualToSource() {
          const got = await s.fingerprint(name);
          if (!isDeepStrictEqual(got, original)) {
            const differing = Object.keys({ ...got, ...original }).filter((k) => got[k] !== original[k]);
            throw new Error(`${name} differs from ${source} in ${differing.join(', ')}`);
          }
        },
      };
    },
    async cleanup() {
      for (const name of databases) await s.dropDb(name);
      if (user !== '') await s.dropAccount(user);
      delete process.env[passwordEnv];
    },
  };
}
