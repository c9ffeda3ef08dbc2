/**
 * How the postgres plugin talks to a server: PostgreSQL's own client tools run with a minimal
 * environment, the password in PGPASSWORD (never in argv), `--no-password` so nothing ever prompts,
 * and SQL fed to psql on stdin with values passed as psql variables (`:'name'`, `:"name"`), so no
 * database name is ever spliced into SQL text.
 */
import { DbTools } from '../db/db-tools.js';
import type { PgServer } from './options.js';
import { PG_SERVER } from './schemas.js';

/** What CREATE DATABASE needs to recreate a database like the one dumped. */
export interface DatabaseProperties {
  encoding: string;
  collate: string;
  ctype: string;
  /** Locale provider: `c` libc, `i` ICU (PostgreSQL 15+), `b` builtin (17+). */
  provider?: string;
  /** The ICU or builtin locale, when the provider is not libc. */
  locale?: string;
  icu_rules?: string;
}

/** Reads pg_database's row as JSON: its columns differ across versions (daticulocale became datlocale in 17). */
function propertiesOf(row: { encoding: string; db: Record<string, unknown> }): DatabaseProperties {
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  const provider = str(row.db.datlocprovider);
  const locale = str(row.db.datlocale) ?? str(row.db.daticulocale);
  const rules = str(row.db.daticurules);
  return {
    encoding: row.encoding,
    collate: String(row.db.datcollate),
    ctype: String(row.db.datctype),
    ...(provider && provider !== 'c' ? { provider, ...(locale ? { locale } : {}), ...(rules ? { icu_rules: rules } : {}) } : {}),
  };
}

/** A libpq connection string naming only the database: quoting keeps `=` or spaces in a name inert. */
export function dbnameConninfo(database: string): string {
  return `dbname='${database.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}

/** `--host/--port/--username/--dbname` for any PostgreSQL client tool. */
export function connectionArgs(server: PgServer, database: string): string[] {
  return [`--host=${server.host}`, `--port=${server.port}`, `--username=${server.user}`, `--dbname=${dbnameConninfo(database)}`];
}

export class PgTools extends DbTools<PgServer> {
  constructor(servers: ReadonlyMap<string, PgServer>) {
    super(servers, {
      name: 'postgres',
      serverType: PG_SERVER,
      passwordVar: 'PGPASSWORD',
      versionArgs: ['--version'],
      versionHint: 'is the PostgreSQL client installed and on PATH?',
      address: (server) => `${server.host}:${server.port}`,
      env: (server) => ({ PGCONNECT_TIMEOUT: String(server.connect_timeout) }),
    });
  }

  /**
   * Runs SQL through psql on the server's maintenance database, `vars` bound as psql variables, and
   * returns the trimmed unaligned output (one JSON value per query here).
   */
  async psql(server: PgServer, sql: string, vars: Record<string, string>, signal: AbortSignal): Promise<string> {
    const args = [
      '--no-psqlrc',
      '--no-password',
      '--quiet',
      '--no-align',
      '--tuples-only',
      '--set=ON_ERROR_STOP=1',
      ...Object.entries(vars).map(([k, v]) => `--set=${k}=${v}`),
      ...connectionArgs(server, server.maintenance_database),
    ];
    return (await this.runSql(server, 'psql', args, sql, signal)).toString('utf8').trim();
  }

  /** Databases that can be dumped: not templates, accepting connections; sorted. */
  async listDatabases(server: PgServer, signal: AbortSignal): Promise<string[]> {
    const out = await this.psql(
      server,
      "select coalesce(json_agg(datname order by datname), '[]'::json) from pg_database where not datistemplate and datallowconn;\n",
      {},
      signal,
    );
    return JSON.parse(out) as string[];
  }

  /** A database's encoding and locale, or null when it does not exist. */
  async databaseProperties(server: PgServer, database: string, signal: AbortSignal): Promise<DatabaseProperties | null> {
    const out = await this.psql(
      server,
      "select json_build_object('encoding', pg_encoding_to_char(d.encoding), 'db', to_jsonb(d) - 'datacl') from pg_database d where " +
        "datname = :'db';\n",
      { db: database },
      signal,
    );
    return out === '' ? null : propertiesOf(JSON.parse(out) as { encoding: string; db: Record<string, unknown> });
  }

  async databaseExists(server: PgServer, database: string, signal: AbortSignal): Promise<boolean> {
    return (await this.databaseProperties(server, database, signal)) !== null;
  }

  /** Creates an empty database from template0 (nothing of template1 leaks in) with the given properties. */
  async createDatabase(server: PgServer, database: string, props: DatabaseProperties, signal: AbortSignal): Promise<void> {
    const provider =
      props.provider === 'i'
        ? " locale_provider icu icu_locale :'locale'" + (props.icu_rules ? " icu_rules :'rules'" : '')
        : props.provider === 'b'
          ? " locale_provider builtin builtin_locale :'locale'"
          : '';
    await this.psql(
      server,
      `create database :"db" template template0 encoding :'enc' lc_collate :'collate' lc_ctype :'ctype'${provider};\n`,
      {
        db: database,
        enc: props.encoding,
        collate: props.collate,
        ctype: props.ctype,
        ...(props.locale ? { locale: props.locale } : {}),
        ...(props.icu_rules ? { rules: props.icu_rules } : {}),
      },
      signal,
    );
  }

  async dropDatabase(server: PgServer, database: string, signal: AbortSignal): Promise<void> {
    await this.psql(server, 'drop database if exists :"db";\n', { db: database }, signal);
  }

  async renameDatabase(server: PgServer, from: string, to: string, signal: AbortSignal): Promise<void> {
    await this.psql(server, 'alter database :"from" rename to :"to";\n', { from, to }, signal);
  }
}
