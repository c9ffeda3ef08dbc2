/**
 * A fresh PostgreSQL database per test run on the server of pgUrl(), so runs (and engineers sharing
 * the server) never see each other's rows; `drop()` removes it.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface TempDatabase {
  /** The server URL with this database in its path (user, password and options kept). */
  url: string;
  name: string;
  /** Drops the database, closing any connection still open on it. Safe to call twice. */
  drop(): Promise<void>;
}

/** Runs `fn` on one connection to the server's maintenance database (the one `serverUrl` names). */
export async function withServer<T>(serverUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Creates `bulwark_test_<random>`. `icuLocale` makes an ICU collation (PostgreSQL 15+) the database
 * default, as on servers whose locale sorts text linguistically rather than byte by byte.
 */
export async function createTempDatabase(serverUrl: string, options: { icuLocale?: string } = {}): Promise<TempDatabase> {
  const name = `bulwark_test_${randomBytes(8).toString('hex')}`;
  await withServer(serverUrl, (c) => {
    const locale =
      options.icuLocale === undefined ? '' : ` template template0 locale_provider icu icu_locale ${c.escapeLiteral(options.icuLocale)}`;
    return c.query(`create database ${c.escapeIdentifier(name)}${locale}`);
  });
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      await withServer(serverUrl, (c) => c.query(`drop database if exists ${c.escapeIdentifier(name)} with (force)`));
    },
  };
}

/** Whether the server can create a database with an ICU default collation (PostgreSQL 15+ built with ICU). */
export async function supportsIcuDatabases(serverUrl: string): Promise<boolean> {
  return withServer(serverUrl, async (c) => {
    const r = await c.query<{ ok: boolean }>(
      "select current_setting('server_version_num')::int >= 150000 and exists (select 1 from pg_collation where collprovider = 'i') as ok",
    );
    return r.rows[0]?.ok === true;
  });
}
