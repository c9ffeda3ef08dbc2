/**
 * The PostgreSQL catalog adapter: connection setup only. Queries live in kysely-store.ts and the
 * schema in migrations.ts, both shared with SQLite, so the two adapters cannot drift apart.
 */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { bwkError, isBulwarkError } from '../core/errors.js';
import { KyselyCatalogStore, type Database } from './kysely-store.js';
import { migrateCatalog } from './migrations.js';
import type { CatalogOptions, CatalogStore } from './port.js';

/**
 * How long opening a connection (or waiting for a free pooled one) may take. pg's default is to
 * wait forever, which would hang start-up on a host that drops packets instead of refusing them.
 */
const CONNECT_TIMEOUT_MS = 30_000;

const HINT =
  'check that the server is running and the host, port, user and database in catalog.url ' +
  '(give the password through PGPASSWORD or ~/.pgpass rather than in the URL)';

/**
 * Opens the catalog in the PostgreSQL database named by `url` (postgres:// or postgresql://, as
 * libpq and pg read it; a missing password comes from PGPASSWORD or ~/.pgpass) and brings its
 * schema up to date. Several processes may open the same database at once: kysely's migrator
 * serializes them with an advisory lock.
 */
export async function openPostgresStore(url: string, options: CatalogOptions = {}): Promise<CatalogStore> {
  const secrets = passwordsIn(url);
  const location = redactPostgresUrl(url);
  const pool = new pg.Pool({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  // A pooled connection the server drops while idle (restart, idle timeout, pg_terminate_backend)
  // is reported as an 'error' event on the pool; unhandled, that event would kill the process. The
  // pool has already discarded that connection, and the next query opens a fresh one and reports
  // any lasting failure itself, so there is nothing more to do here.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    // Connect first, apart from the migration, so an unreachable server gets an error that says so.
    await pool.query('select 1');
    await migrateCatalog(db, location);
  } catch (err) {
    await db.destroy().catch(() => undefined);
    throw unusable(location, err, secrets);
  }
  return new KyselyCatalogStore(db, { ...options, bytewiseCollation: 'C' });
}

/**
 * `url` as it may be shown in errors and logs: any password, in the user info or as a `password`
 * query parameter, becomes `***` (postgres://user:***@host/db). A URL that does not parse is not
 * shown at all: there is no telling which part of it is the password.
 */
export function redactPostgresUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'postgres://(URL not shown: it does not parse as a URL)';
  }
  if (u.password !== '') u.password = '***';
  if (u.searchParams.has('password')) u.searchParams.set('password', '***');
  u.hash = '';
  return u.toString();
}

/** Every spelling of the URL's password(s) a driver message could echo; null when the URL does not parse. */
function passwordsIn(url: string): string[] | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  const found = [u.password, ...u.searchParams.getAll('password')];
  try {
    found.push(decodeURIComponent(u.password));
  } catch {
    // A malformed %-escape: the raw form above is all a driver could have seen.
  }
  return [...new Set(found)].filter((p) => p !== '');
}

function unusable(location: string, err: unknown, secrets: readonly string[] | null) {
  const scrub = (text: string) => (secrets ?? []).reduce((t, s) => t.split(s).join('***'), text);
  // migrateCatalog already says what failed and what to do; other errors come from the connection.
  const reason =
    isBulwarkError(err, 'BWK_ERR_CATALOG_UNUSABLE') && typeof err.details?.reason === 'string'
      ? err.details.reason
      : `cannot connect: ${errorText(err)}: ${HINT}`;
  // The cause is dropped when it may carry the password (pg's "Invalid URL" error keeps the whole
  // URL in its `input`): whoever logs the error may print its cause.
  const seen = `${String((err as Error)?.stack ?? err)} ${String((err as { input?: unknown })?.input ?? '')}`;
  const leaks = secrets === null || secrets.some((s) => seen.includes(s));
  return bwkError('BWK_ERR_CATALOG_UNUSABLE', { location, reason: scrub(reason) }, leaks ? {} : { cause: err });
}

/** A driver error as one line; a refused dual-stack connect is an AggregateError with no message. */
function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.message !== '') return err.message;
  const inner = err instanceof AggregateError ? err.errors.map((e: unknown) => errorText(e)).join('; ') : '';
  return inner || ((err as { code?: string }).code ?? err.name);
}
