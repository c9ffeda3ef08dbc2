import { bwkError } from '../core/errors.js';
import type { ListOptions } from './port.js';

/*
 * Key and listing rules every adapter applies, kept apart from any one adapter so that all of them
 * refuse exactly the same keys and list in exactly the same order.
 */

/** Names starting with this are an adapter's own scratch files (temp writes, lease tombstones). */
export const TEMP_PREFIX = '.tmp-';
export const MAX_KEY_LENGTH = 1024;

function keyProblem(key: string): string | null {
  if (typeof key !== 'string' || key === '') return 'keys are non-empty strings';
  if (key.length > MAX_KEY_LENGTH) return `keys are at most ${MAX_KEY_LENGTH} characters`;
  if (key.includes('\0') || key.includes('\\')) return 'keys contain no NUL or backslash';
  if (key.startsWith('/') || key.endsWith('/')) return 'keys neither start nor end with "/"';
  for (const segment of key.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') return 'keys have no empty, "." or ".." segments';
    if (segment.startsWith(TEMP_PREFIX)) return `segments starting with "${TEMP_PREFIX}" are reserved for the bank's temp files`;
  }
  return null;
}

/** Throws BWK_ERR_BANK_KEY_INVALID unless `key` is a valid object key; returns it. */
export function assertValidKey(key: string): string {
  const problem = keyProblem(key);
  if (problem !== null) throw bwkError('BWK_ERR_BANK_KEY_INVALID', { key: String(key).slice(0, 200), reason: problem });
  return key;
}

/**
 * A list prefix is a key that may end anywhere: '' and 'a/' are fine, but complete segments obey the
 * key rules so a prefix can never name something outside the bank.
 */
export function assertValidPrefix(prefix: string): string {
  if (typeof prefix !== 'string') throw bwkError('BWK_ERR_BANK_KEY_INVALID', { key: String(prefix), reason: 'prefixes are strings' });
  if (prefix === '') return prefix;
  const slash = prefix.lastIndexOf('/');
  const problem =
    prefix.length > MAX_KEY_LENGTH
      ? `prefixes are at most ${MAX_KEY_LENGTH} characters`
      : prefix.includes('\0') || prefix.includes('\\')
        ? 'prefixes contain no NUL or backslash'
        : slash >= 0
          ? keyProblem(prefix.slice(0, slash))
          : null;
  if (problem !== null) throw bwkError('BWK_ERR_BANK_KEY_INVALID', { key: String(prefix).slice(0, 200), reason: problem });
  return prefix;
}

/** Applies marker, sort and limit to keys already filtered by prefix and sorted ascending. */
export function pageKeys(sortedAsc: string[], options: ListOptions = {}): string[] {
  const desc = options.sort === 'desc';
  const { marker, limit } = options;
  let keys = marker === undefined ? sortedAsc : sortedAsc.filter((k) => (desc ? k < marker : k > marker));
  if (desc) keys = keys.slice().reverse();
  return limit === undefined ? keys : keys.slice(0, Math.max(0, limit));
}

/** JS string order (UTF-16 code units), the order every adapter lists in. */
export const compareKeys = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
