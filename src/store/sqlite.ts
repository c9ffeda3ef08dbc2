/**
 * The SQLite catalog adapter: connection setup only; every query lives in kysely-store.ts so the
 * PostgreSQL adapter shares it.
 */
import { closeSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Sqlite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { bwkError, isBulwarkError } from '../core/errors.js';
import { makeFilePrivate, makePrivateDir, PRIVATE_FILE_MODE } from '../common/private-files.js';
import { KyselyCatalogStore, type Database } from './kysely-store.js';
import { migrateCatalog } from './migrations.js';
import type { CatalogOptions, CatalogStore } from './port.js';

export const SQLITE_MEMORY = ':memory:';

/**
 * Opens (creating when needed) the catalog database at `path`, or a private in-memory one for
 * `':memory:'`, and brings its schema up to date.
 */
export async function openSqliteStore(path: string, options: CatalogOptions = {}): Promise<CatalogStore> {
  let raw: Sqlite.Database;
  try {
    if (path !== SQLITE_MEMORY) createPrivately(path);
    raw = new Sqlite(path);
  } catch (err) {
    throw unusable(path, err);
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: raw }) });
  try {
    // WAL lets readers (the API) proceed while the engine writes; busy_timeout makes a second process
    // wait for the write lock instead of failing at once with SQLITE_BUSY.
    raw.pragma('journal_mode = WAL');
    // SQLite gives -wal and -shm the database file's mode; these were made with the umask before.
    if (path !== SQLITE_MEMORY) for (const suffix of ['-wal', '-shm']) makeFilePrivate(path + suffix);
    raw.pragma('busy_timeout = 5000');
    raw.pragma('foreign_keys = ON');
    await migrateCatalog(db, path);
  } catch (err) {
    await db.destroy();
    // destroy() only closes a database kysely has used; a pragma may have failed before that.
    if (raw.open) raw.close();
    throw isBulwarkError(err) ? err : unusable(path, err);
  }
  return new KyselyCatalogStore(db, options);
}

/**
 * better-sqlite3 creates a missing database with the umask (0644 under the usual 022): create it
 * first as 0600 (an empty file is a new database to SQLite), and tighten one an earlier version made.
 */
function createPrivately(path: string): void {
  makePrivateDir(dirname(path));
  closeSync(openSync(path, 'a', PRIVATE_FILE_MODE));
  makeFilePrivate(path);
}

function unusable(path: string, err: unknown) {
  const reason = err instanceof Error ? err.message : String(err);
  return bwkError(
    'BWK_ERR_CATALOG_UNUSABLE',
    { location: path, reason: `${reason}: check the path and its permissions, or set catalog.url` },
    { cause: err },
  );
}
