/**
 * PostgreSQL fixtures for the postgres plugin tests: databases with unique names on the server of
 * pgUrl(), a schema with data worth restoring, a fingerprint computed without Bulwark (md5 of every
 * row in id order, sequence state, view and index definitions), and a provider file for the server.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { withServer } from './pg-database.js';
import { pgUrl } from './services.js';

export const PG_PROVIDER_ID = '7a1c0de5-0000-4000-8000-00000000b0b0';

/** A connection URL to `database` on the test server (user and password kept). */
export function urlFor(database: string): string {
  const url = new URL(pgUrl());
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

export const withDb = <T>(database: string, fn: (c: pg.Client) => Promise<T>): Promise<T> => withServer(urlFor(database), fn);

/** Runs SQL on the server's `postgres` database. */
export const admin = <T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, values: unknown[] = []): Promise<pg.QueryResult<T>> =>
  withDb('postgres', (c) => c.query<T>(sql, values));

export const uniqueName = (prefix: string): string => `${prefix}_${randomBytes(6).toString('hex')}`;

export async function createDb(name: string): Promise<void> {
  await admin(`create database ${pg.escapeIdentifier(name)}`);
}

export async function dropDb(name: string): Promise<void> {
  await admin(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
}

export async function dbExists(name: string): Promise<boolean> {
  return (await admin('select 1 from pg_database where datname = $1', [name])).rowCount === 1;
}

/** Tables, an index, a view, a sequence and `rows` generated rows. */
export async function populate(database: string, rows = 100_000): Promise<void> {
  await withDb(database, (c) =>
    c.query(`
    create sequence order_no start 1000;
    create table customers (id int primary key, name text not null, email text unique);
    insert into customers select g, 'customer ' || g, 'c' || g || '@example.com' from generate_series(1, 1000) g;
    create table orders (
      id bigint primary key, customer_id int not null references customers(id), no bigint not null default nextval('order_no'),
      amount numeric(10, 2), created timestamptz, note text);
    insert into orders (id, customer_id, amount, created, note)
      select g, 1 + g % 1000, (g * 37 % 100000) / 100.0, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute', md5(g::text)
      from generate_series(1, ${rows}) g;
    create index orders_by_customer on orders (customer_id, created);
    create view big_orders as select o.id, c.name, o.amount from orders o join customers c on c.id = o.customer_id where o.amount > 900;
    create table settings (id int primary key, payload jsonb);
    insert into settings values (1, '{"a": [1, 2, {"b": null}]}'), (2, '"x"');
  `),
  );
}

/** Adds one table of `rows` wide rows: enough for a dump to take a while. */
export async function addBigTable(database: string, rows: number): Promise<void> {
  await withDb(database, (c) =>
    c.query(`create table big as select g as id, md5(g::text) || md5((g * 7)::text) as v from generate_series(1, ${rows}) g`),
  );
}

/** Everything a restore must bring back, computed by PostgreSQL itself. */
export async function fingerprint(database: string): Promise<Record<string, string>> {
  return withDb(database, async (c) => {
    const out: Record<string, string> = {};
    const tables = await c.query<{ name: string }>(
      "select table_name as name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by 1",
    );
    for (const { name } of tables.rows) {
      const t = pg.escapeIdentifier(name);
      const r = await c.query<{ n: string; md5: string | null }>(
        `select count(*)::text as n, md5(string_agg(t::text, '|' order by id)) as md5 from ${t} t`,
      );
      out[`table ${name}`] = `${r.rows[0]!.n} rows, md5 ${r.rows[0]!.md5}`;
    }
    const seqs = await c.query<{ name: string; last_value: string | null }>(
      "select sequencename as name, last_value::text from pg_sequences where schemaname = 'public' order by 1",
    );
    for (const s of seqs.rows) out[`sequence ${s.name}`] = String(s.last_value);
    const views = await c.query<{ name: string; def: string }>(
      "select viewname as name, definition as def from pg_views where schemaname = 'public' order by 1",
    );
    for (const v of views.rows) out[`view ${v.name}`] = v.def;
    const indexes = await c.query<{ name: string; def: string }>(
      "select indexname as name, indexdef as def from pg_indexes where schemaname = 'public' order by 1",
    );
    for (const i of indexes.rows) out[`index ${i.name}`] = i.def;
    return out;
  });
}

/**
 * Writes `<home>/providers/pg.yaml` with server `main` = the test server. The password, if the URL has
 * one or `passwordEnv` is given, is named by its environment variable, never written.
 */
export function writePgProvider(home: string, options: { passwordEnv?: string; user?: string; globals?: boolean } = {}): void {
  const url = new URL(pgUrl());
  const server: Record<string, unknown> = {
    host: url.hostname,
    port: Number(url.port || 5432),
    user: options.user ?? decodeURIComponent(url.username || 'postgres'),
  };
  if (options.passwordEnv) server.password_env = options.passwordEnv;
  else if (url.password) {
    process.env.BULWARK_TEST_PG_PASSWORD = decodeURIComponent(url.password);
    server.password_env = 'BULWARK_TEST_PG_PASSWORD';
  }
  mkdirSync(join(home, 'providers'), { recursive: true });
  writeFileSync(
    join(home, 'providers', 'pg.yaml'),
    [
      `id: ${PG_PROVIDER_ID}`,
      'name: pg-test',
      'plugins:',
      '  - name: postgres',
      `    options: ${JSON.stringify({ servers: { main: server }, ...(options.globals ? { globals: true } : {}) })}`,
      'bank:',
      '  type: fs',
      '  options: {path: bank}',
      '',
    ].join('\n'),
  );
}
