/**
 * How the mariadb plugin talks to a server: MariaDB's own client tools, started with `--no-defaults`
 * (no option file on the host changes what they do or where they connect), a minimal environment with
 * the password in MYSQL_PWD (never in argv), and SQL fed to the `mariadb` client on stdin. Names reach
 * SQL only as backquoted identifiers or hex literals, and results come back hex-encoded, so no database
 * name can break a statement or the parsing of the client's tab-separated output.
 */
import { bwkError } from '../../core/errors.js';
import { describeExit, runToolCollect, succeeded } from '../db/run-tool.js';
import { readPassword, toolEnv } from '../db/server-config.js';
import type { MariaDbServer } from './options.js';
import { MARIADB_SERVER, SYSTEM_DATABASES } from './schemas.js';

/** A database's defaults: a dump without CREATE DATABASE does not carry them, so protect records them. */
export interface DatabaseCharset {
  charset: string;
  collation: string;
}

/** Credentials for one tool run, read at use time. */
export interface MariaDbSession {
  env: Record<string, string>;
  /** Values scrubbed from tool output (the password). */
  secrets: string[];
}

export const PASSWORD_VAR = 'MYSQL_PWD';

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

/**
 * The arguments every MariaDB client tool starts with. `--no-defaults` must come first (the tools
 * only honour it there); a host starting with `/` is a socket file.
 */
export function clientArgs(server: MariaDbServer): string[] {
  const where = server.host.startsWith('/')
    ? ['--protocol=SOCKET', `--socket=${server.host}`]
    : ['--protocol=TCP', `--host=${server.host}`, `--port=${server.port}`];
  return ['--no-defaults', ...where, `--user=${server.user}`, '--default-character-set=utf8mb4'];
}

export class MariaDbTools {
  private readonly versions = new Map<string, Promise<string>>();

  constructor(readonly servers: ReadonlyMap<string, MariaDbServer>) {}

  /** A configured server, or BWK_ERR_RESOURCE_NOT_FOUND listing the configured ones. */
  server(name: string, type = MARIADB_SERVER, id = name): MariaDbServer {
    const s = this.servers.get(name);
    if (!s)
      throw bwkError('BWK_ERR_RESOURCE_NOT_FOUND', {
        type,
        id,
        reason: `server "${name}" is not configured in this provider (configured: ${[...this.servers.keys()].join(', ')})`,
      });
    return s;
  }

  async session(server: MariaDbServer): Promise<MariaDbSession> {
    const password = await readPassword(server);
    return { env: toolEnv(PASSWORD_VAR, password), secrets: password === undefined ? [] : [password] };
  }

  /** `<tool> --version`, once per tool; recorded with each dump. */
  toolVersion(tool: string, signal: AbortSignal): Promise<string> {
    let v = this.versions.get(tool);
    if (!v) {
      v = runToolCollect(tool, ['--no-defaults', '--version'], { env: toolEnv(PASSWORD_VAR, undefined), signal }).then(
        ({ stdout, exit }) => {
          if (!succeeded(exit))
            throw bwkError('BWK_ERR_TOOL_FAILED', {
              target: 'this host',
              tool,
              status: describeExit(exit),
              stderr: exit.stderr || 'is the MariaDB client installed and on PATH?',
            });
          return stdout.toString('utf8').trim();
        },
      );
      v.catch(() => this.versions.delete(tool));
      this.versions.set(tool, v);
    }
    return v;
  }

  /** Runs SQL through the `mariadb` client and returns its rows (tab-separated columns, as printed). */
  async query(server: MariaDbServer, sql: string, signal: AbortSignal): Promise<string[][]> {
    const { env, secrets } = await this.session(server);
    // mariadb-dump has no connect timeout option; the client does.
    const args = [...clientArgs(server), '--batch', '--skip-column-names', `--connect-timeout=${server.connect_timeout}`];
    const { stdout, exit } = await runToolCollect('mariadb', args, { env, signal, secrets, stdin: sql });
    if (!succeeded(exit)) {
      if (exit.aborted && signal.reason instanceof Error) throw signal.reason;
      const where = server.host.startsWith('/') ? server.host : `${server.host}:${server.port}`;
      throw bwkError('BWK_ERR_TOOL_FAILED', {
        target: `mariadb server "${server.name}" (${where})`,
        tool: 'mariadb',
        status: describeExit(exit),
        stderr: exit.stderr || '(none)',
      });
    }
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

  /** CREATE DATABASE (no IF NOT EXISTS: a database someone else just created is never taken over). */
  async createDatabase(server: MariaDbServer, database: string, charset: DatabaseCharset | null, signal: AbortSignal): Promise<void> {
    const defaults = charset && isDatabaseCharset(charset) ? ` CHARACTER SET ${charset.charset} COLLATE ${charset.collation}` : '';
    await this.query(server, `CREATE DATABASE ${quoteIdentifier(database)}${defaults};\n`, signal);
  }

  async dropDatabase(server: MariaDbServer, database: string, signal: AbortSignal): Promise<void> {
    await this.query(server, `DROP DATABASE IF EXISTS ${quoteIdentifier(database)};\n`, signal);
  }
}
