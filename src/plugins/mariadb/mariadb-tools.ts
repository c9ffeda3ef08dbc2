/**
 * How the mariadb plugin talks to a server: MariaDB's own client tools, started with `--no-defaults`
 * (no option file on the host changes what they do or where they connect), a minimal environment with
 * the password in MYSQL_PWD (never in argv), and SQL fed to the `mariadb` client on stdin. Names reach
 * SQL only as backquoted identifiers or hex literals, and results come back hex-encoded, so no database
 * name can break a statement or the parsing of the client's tab-separated output.
 */
import { DbTools } from '../db/db-tools.js';
import type { MariaDbServer } from './options.js';
import { MARIADB_SERVER, SYSTEM_DATABASES } from './schemas.js';

/** A database's defaults: a dump without CREATE DATABASE does not carry them, so protect records them. */
export interface DatabaseCharset {
  charset: string;
  collation: string;
}

/** Character set and collation names are spliced into CREATE DATABASE: only plain words pass. */
const CHARSET_NAME = /^[A-Za-z0-9_]{1,64}$/;

export const quoteIdentifier = (name: string): string => `\`${name.replaceAll('`', '``')}\``;
const hexLiteral = (text: string): string => `X'${Buffer.from(text, 'utf8').toString('hex')}'`;
const fromHex = (hex: string): string => Buffer.from(hex, 'hex').toString('utf8');

/** Whether a recorded charset is one CREATE DATABASE may be given. */
export function isDatabaseCharset(v: unknown): v is DatabaseCharset {
  const c = v as Partial<DatabaseCharset> | null;
  return c !== null && typeof c === 'object' && CHARSET_NAME.test(String(c.charset)) && CHARSET_NAME.test(String(c.collation));
}

/** A host starting with `/` is the server's Unix socket file. */
const isSocket = (server: MariaDbServer): boolean => server.host.startsWith('/');

/** The arguments every MariaDB client tool starts with. `--no-defaults` must come first (the tools only honour it there). */
export function clientArgs(server: MariaDbServer): string[] {
  const where = isSocket(server)
    ? ['--protocol=SOCKET', `--socket=${server.host}`]
    : ['--protocol=TCP', `--host=${server.host}`, `--port=${server.port}`];
  return ['--no-defaults', ...where, `--user=${server.user}`, '--default-character-set=utf8mb4'];
}

export class MariaDbTools extends DbTools<MariaDbServer> {
  constructor(servers: ReadonlyMap<string, MariaDbServer>) {
    super(servers, {
      name: 'mariadb',
      serverType: MARIADB_SERVER,
      passwordVar: 'MYSQL_PWD',
      versionArgs: ['--no-defaults', '--version'],
      versionHint: 'is the MariaDB client installed and on PATH?',
      address: (server) => (isSocket(server) ? server.host : `${server.host}:${server.port}`),
    });
  }

  /** Runs SQL through the `mariadb` client and returns its rows (tab-separated columns, as printed). */
  async query(server: MariaDbServer, sql: string, signal: AbortSignal): Promise<string[][]> {
    // mariadb-dump has no connect timeout option; the client does.
    const args = [...clientArgs(server), '--batch', '--skip-column-names', `--connect-timeout=${server.connect_timeout}`];
    const stdout = await this.runSql(server, 'mariadb', args, sql, signal);
    return stdout
      .toString('utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.split('\t'));
  }

  /** The server's own databases (not the system ones), sorted. */
  async listDatabases(server: MariaDbServer, signal: AbortSignal): Promise<string[]> {
    const rows = await this.query(server, 'SELECT HEX(SCHEMA_NAME) FROM information_schema.SCHEMATA;\n', signal);
    return rows
      .map(([hex]) => fromHex(hex ?? ''))
      .filter((db) => !SYSTEM_DATABASES.has(db.toLowerCase()))
      .sort();
  }

  /** A database's default character set and collation, or null when it does not exist. */
  async databaseCharset(server: MariaDbServer, database: string, signal: AbortSignal): Promise<DatabaseCharset | null> {
    // Compared as bytes: with lower_case_table_names=0, `App` and `app` are different databases.
    const rows = await this.query(
      server,
      'SELECT HEX(DEFAULT_CHARACTER_SET_NAME), HEX(DEFAULT_COLLATION_NAME) FROM information_schema.SCHEMATA ' +
        `WHERE CAST(SCHEMA_NAME AS BINARY) = ${hexLiteral(database)};\n`,
      signal,
    );
    const [row] = rows;
    return row ? { charset: fromHex(row[0] ?? ''), collation: fromHex(row[1] ?? '') } : null;
  }

  async databaseExists(server: MariaDbServer, database: string, signal: AbortSignal): Promise<boolean> {
    return (await this.databaseCharset(server, database, signal)) !== null;
  }

  /** CREATE DATABASE (no IF NOT EXISTS: a database someone else just created is never taken over). */
  async createDatabase(server: MariaDbServer, database: string, charset: DatabaseCharset | null, signal: AbortSignal): Promise<void> {
    const defaults = charset && isDatabaseCharset(charset) ? ` CHARACTER SET ${charset.charset} COLLATE ${charset.collation}` : '';
    await this.query(server, `CREATE DATABASE ${quoteIdentifier(database)}${defaults};\n`, signal);
  }

  async dropDatabase(server: MariaDbServer, database: string, signal: AbortSignal): Promise<void> {
    await this.query(server, `DROP DATABASE IF EXISTS ${quoteIdentifier(database)};\n`, signal);
  }
}
