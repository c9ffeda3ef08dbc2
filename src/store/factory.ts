import { homePath } from '../common/config.js';
import { bwkError } from '../common/errors.js';
import type { CatalogStore } from './port.js';
import { openSqliteStore, SQLITE_MEMORY } from './sqlite.js';

const SQLITE_SCHEME = 'sqlite:';
const USAGE = 'use "sqlite:<path>" (relative to the Bulwark home, e.g. sqlite:catalog.db) or "sqlite::memory:"';

/**
 * Opens the catalog named by `catalog.url`: `sqlite:<path>` (a relative path is resolved against the
 * Bulwark home) or `sqlite::memory:` (private to this process, gone when it exits — for tests).
 */
export function openCatalogStore(url: string, home: string): Promise<CatalogStore> {
  if (url.startsWith(SQLITE_SCHEME)) {
    const path = url.slice(SQLITE_SCHEME.length);
    if (path === SQLITE_MEMORY) return openSqliteStore(SQLITE_MEMORY);
    if (path.trim() === '') return Promise.reject(invalid(`catalog.url "${url}" names no database file: ${USAGE}`));
    return openSqliteStore(homePath(home, path));
  }
  // Only the scheme is echoed: a future postgres URL may carry a password.
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0] ?? '(none)';
  return Promise.reject(invalid(`catalog.url scheme ${scheme} is not supported: ${USAGE}`));
}

function invalid(reason: string) {
  return bwkError('BWK_ERR_INVALID_INPUT', { reason });
}
