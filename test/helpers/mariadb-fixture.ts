/**
 * MariaDB fixtures for the mariadb plugin tests, driven through the `mariadb` command-line client (no
 * MariaDB driver is installed): databases named `bwk_test_<random>` on the server of mariadbUrl(), a
 * schema with data worth restoring, a fingerprint computed without Bulwark (CHECKSUM TABLE, SHOW CREATE
 * of every table, view, trigger and procedure), and a provider file naming the server `main`.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mariadbUrl } from './services.js';
import { waitFor } from './wait.js';

export const MARIADB_PROVIDER_ID = '7a1c0de5-0000-4000-8000-00000000db0b';

const server = (): URL => new URL(mariadbUrl());

/** Client arguments for the test server (the password, if any, goes in MYSQL_PWD). */
function clientArgs(database?: string): string[] {
  const url = server();
  return [
    '--no-defaults',
    '--protocol=TCP',
    `--host=${url.hostname}`,
    `--port=${url.port || 3306}`,
    `--user=${decodeURIComponent(url.username || 'root')}`,
    '--default-character-set=utf8mb4',
    '--batch',
    '--skip-column-names',
    '--unbuffered',
    ...(database ? [`--database=${database}`] : []),
  ];
}

function clientEnv(): Record<string, string> {
  const password = decodeURIComponent(server().password);
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', ...(password ? { MYSQL_PWD: password } : {}) };
}

/**
 * Starts the client with SQL to come on stdin (for a session that must stay open, e.g. holding a lock);
 * `--unbuffered` makes each result readable as soon as its statement ran.
 */
export function startClient(database?: string): ChildProcess {
  return spawn('mariadb', clientArgs(database), { env: clientEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Runs SQL (any number of statements, DELIMITER allowed) and returns the rows, columns split on tabs. */
export async function sql(text: string, database?: string): Promise<string[][]> {
  const child = startClient(database);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString('utf8');
  });
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString('utf8');
  });
  child.stdin!.end(text);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0) throw new Error(`mariadb exited ${code}: ${err.trim()}\nSQL: ${text.slice(0, 500)}`);
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t'));
}

export const quote = (name: string): string => `\`${name.replaceAll('`', '``')}\``;
export const literal = (text: string): string => `X'${Buffer.from(text, 'utf8').toString('hex')}'`;
export const uniqueName = (prefix = 'bwk_test'): string => `${prefix}_${randomBytes(6).toString('hex')}`;

export async function createDb(name: string): Promise<void> {
  await sql(`CREATE DATABASE ${quote(name)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;`);
}

export async function dropDb(name: string): Promise<void> {
  await sql(`DROP DATABASE IF EXISTS ${quote(name)};`);
}

export async function dbExists(name: string): Promise<boolean> {
  return (await sql(`SELECT 1 FROM information_schema.SCHEMATA WHERE CAST(SCHEMA_NAME AS BINARY) = ${literal(name)};`)).length === 1;
}

/** Databases whose name starts with `prefix` (to find leftovers such as bwk_restore_*). */
export async function databasesLike(prefix: string): Promise<string[]> {
  return (await sql(`SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '${prefix.replaceAll('_', '\\_')}%';`)).map(
    (r) => r[0]!,
  );
}

/** InnoDB tables (one with a BLOB), an index, a view, a trigger, a stored procedure and `rows` orders. */
export async function populate(database: string, rows = 100_000): Promise<void> {
  await sql(
    `
    SET SESSION max_recursive_iterations = ${rows + 10};
    CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL, email VARCHAR(100) UNIQUE) ENGINE=InnoDB;
    INSERT INTO customers WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 1000)
      SELECT n, CONCAT('customer ', n, ' ünïcödé'), CONCAT('c', n, '@example.com') FROM s;
    CREATE TABLE orders (
      id BIGINT PRIMARY KEY AUTO_INCREMENT, customer_id INT NOT NULL, amount DECIMAL(10, 2), created DATETIME, note CHAR(32),
      FOREIGN KEY (customer_id) REFERENCES customers (id)) ENGINE=InnoDB;
    INSERT INTO orders (id, customer_id, amount, created, note)
    WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < ${rows})
      SELECT n, 1 + n % 1000, (n * 37 % 100000) / 100, '2024-01-01 00:00:00' + INTERVAL n MINUTE, MD5(n) FROM s;
    CREATE INDEX orders_by_customer ON orders (customer_id, created);
    CREATE TABLE blobs (id INT PRIMARY KEY, data BLOB) ENGINE=InnoDB;
    INSERT INTO blobs VALUES (1, UNHEX('00FF0A0D275C22')), (2, UNHEX(REPEAT(SHA2('bulwark', 512), 16)));
    CREATE TABLE audit (id INT PRIMARY KEY AUTO_INCREMENT, order_id BIGINT, at_amount DECIMAL(10, 2)) ENGINE=InnoDB;
    CREATE VIEW big_orders AS SELECT o.id, c.name, o.amount FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.amount > 900;
    CREATE TRIGGER orders_audit AFTER INSERT ON orders FOR EACH ROW INSERT INTO audit (order_id, at_amount) VALUES (NEW.id, NEW.amount);
    DELIMITER //
    CREATE PROCEDURE customer_total(IN c INT, OUT total DECIMAL(14, 2))
    BEGIN
      SELECT SUM(amount) INTO total FROM orders WHERE customer_id = c;
    END //
    DELIMITER ;
    INSERT INTO orders (customer_id, amount, created, note) VALUES (7, 12.34, '2025-01-01 00:00:00', 'fired the trigger');
  `,
    database,
  );
}

/** Everything a restore must bring back, computed by MariaDB itself. */
export async function fingerprint(database: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const objects = await sql(
    `SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ${literal(database)} ORDER BY TABLE_NAME;`,
  );
  for (const [name, type] of objects) {
    if (type === 'VIEW') {
      out[`view ${name}`] = (await sql(`SHOW CREATE VIEW ${quote(name!)};`, database))[0]![1]!;
      continue;
    }
    const [count] = await sql(`SELECT COUNT(*) FROM ${quote(name!)};`, database);
    const [checksum] = await sql(`CHECKSUM TABLE ${quote(name!)};`, database);
    out[`table ${name}`] = `${count![0]} rows, checksum ${checksum![1]}`;
    out[`create table ${name}`] = (await sql(`SHOW CREATE TABLE ${quote(name!)};`, database))[0]![1]!;
  }
  for (const [name] of await sql(
    `SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ${literal(database)} ORDER BY 1;`,
  )) {
    out[`trigger ${name}`] = (await sql(`SHOW CREATE TRIGGER ${quote(name!)};`, database))[0]![2]!;
  }
  for (const [name] of await sql(
    `SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ${literal(database)} AND ROUTINE_TYPE = 'PROCEDURE' ` +
      `ORDER BY 1;`,
  )) {
    out[`procedure ${name}`] = (await sql(`SHOW CREATE PROCEDURE ${quote(name!)};`, database))[0]![2]!;
  }
  const [charset] = await sql(
    `SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ${literal(database)};`,
  );
  out.charset = charset!.join(' ');
  return out;
}

/**
 * Writes `<home>/providers/mariadb.yaml` with server `main` = the test server. A password (the URL's,
 * or `passwordEnv`'s) is named by its environment variable, never written.
 */
export function writeMariaDbProvider(home: string, options: { user?: string; passwordEnv?: string } = {}): void {
  const url = server();
  const entry: Record<string, unknown> = {
    host: url.hostname,
    port: Number(url.port || 3306),
    user: options.user ?? decodeURIComponent(url.username || 'root'),
  };
  if (options.passwordEnv) entry.password_env = options.passwordEnv;
  else if (url.password) {
    process.env.BULWARK_TEST_MARIADB_PASSWORD = decodeURIComponent(url.password);
    entry.password_env = 'BULWARK_TEST_MARIADB_PASSWORD';
  }
  mkdirSync(join(home, 'providers'), { recursive: true });
  writeFileSync(
    join(home, 'providers', 'mariadb.yaml'),
    [
      `id: ${MARIADB_PROVIDER_ID}`,
      'name: mariadb-test',
      'plugins:',
      '  - name: mariadb',
      `    options: ${JSON.stringify({ servers: { main: entry } })}`,
      'bank:',
      '  type: fs',
      '  options: {path: bank}',
      '',
    ].join('\n'),
  );
}

/** Two tables for dump timing: `a_first` is dumped whole (and flushed into the bank) before mariadb-dump reaches `big`. */
export async function addDumpTables(database: string, rows: number): Promise<void> {
  await sql(
    `SET SESSION max_recursive_iterations = ${rows + 10};
    CREATE TABLE a_first (id INT PRIMARY KEY) ENGINE=InnoDB;
    INSERT INTO a_first VALUES (1), (2), (3);
    CREATE TABLE big (id INT PRIMARY KEY, v CHAR(64)) ENGINE=InnoDB;
    INSERT INTO big WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < ${rows}) SELECT n, SHA2(n, 256) FROM s;`,
    database,
  );
}

/**
 * Holds `LOCK TABLES <table> WRITE` in a client session: mariadb-dump, even with --single-transaction,
 * then waits on the table's metadata lock when it reads the rows, so it stays running (its header
 * already written) until release() — no timing involved. release() may be called more than once.
 */
export async function holdWriteLock(database: string, table: string): Promise<{ release(): Promise<void> }> {
  const client = startClient(database);
  let out = '';
  client.stdout!.on('data', (d: Buffer) => {
    out += d.toString('utf8');
  });
  const closed = new Promise<void>((resolve) => client.on('close', () => resolve()));
  client.stdin!.write(`LOCK TABLES ${quote(table)} WRITE;\nSELECT 'locked';\n`);
  try {
    await waitFor('the write lock', () => (out.includes('locked') ? true : undefined));
  } catch (err) {
    client.kill();
    throw err;
  }
  let released = false;
  return {
    release: async () => {
      if (released) return;
      released = true;
      client.stdin!.end('UNLOCK TABLES;\n');
      await closed;
    },
  };
}

/** The connection id of `user`'s mariadb-dump of `database` once it waits on a table lock. */
export const dumpWaitingOnLock = (user: string, database: string): Promise<string> =>
  waitFor('mariadb-dump to wait on the table lock', async () => {
    const rows = await sql(
      `SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ${literal(database)} AND USER = ${literal(user)} AND STATE = 'Waiting ` +
        `for table metadata lock';`,
    );
    return rows[0]?.[0];
  });
