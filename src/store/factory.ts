import { homePath } from '../common/config.js';
import { bwkError } from '../core/errors.js';
import type { CatalogOptions, CatalogStore } from './port.js';
import { openSqliteStore, SQLITE_MEMORY } from './sqlite.js';

const SQLITE_SCHEME = 'sqlite:';
const POSTGRES_URL = /^postgres(ql)?:\/\//;
const USAGE =
  'use "sqlite:<path>" (relative to the Bulwark home, e.g. sqlite:catalog.db), "sqlite::memory:" ' +
  'or "postgres://<user>@<host>[:<port>]/<database>"';

/**
 * Opens the catalog named by `catalog.url`: `sqlite:<path>` (a relative path is resolved against the
 * Bulwark home), `sqlite::memory:` (private to this process, gone when it exits — for tests), or a
 * PostgreSQL URL, `postgres://...` or `postgresql://...` (shared by every process of a deployment).
 */
export function openCatalogStore(url: string, home: string, options: CatalogOptions = {}): Promise<CatalogStore> {
  if (url.startsWith(SQLITE_SCHEME)) {
    const path = url.slice(SQLITE_SCHEME.length);
    if (path === SQLITE_MEMORY) return openSqliteStore(SQLITE_MEMORY, options);
    if (path.trim() === '') return Promise.reject(invalid(`catalog.url "${url}" names no database file: ${USAGE}`));
    return openSqliteStore(homePath(home, path), options);
  }
  // pg is loaded only for a PostgreSQL catalog.
  if (POSTGRES_URL.test(url)) return import('./postgres.js').then(({ openPostgresStore }) => openPostgresStore(url, options));
  // Only the scheme is echoed: the URL may carry a password.
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0] ?? '(none)';
  return Promise.reject(invalid(`catalog.url scheme ${scheme} is not supported: ${USAGE}`));
}

function invalid(reason: string) {
  return bwkError('BWK_ERR_INVALID_INPUT', { reason });
}
