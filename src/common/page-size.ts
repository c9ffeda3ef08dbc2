import { bwkError } from '../core/errors.js';

/**
 * How many records one page of a listing holds: `default` when the caller gives no limit, never more
 * than `max`. Every listing (catalog store, ProtectionService, REST, RPC, CLI) applies the same rule,
 * so no request can make a process load a whole table (issue 14: 154 MB answers, 1.8 GB RSS).
 */
export interface PageSizes {
  default: number;
  max: number;
}

/** The defaults of `paging.default_limit` and `paging.max_limit` (OpenStack's osapi_max_limit is 1000 too). */
export const DEFAULT_PAGE_SIZES: PageSizes = Object.freeze({ default: 100, max: 1000 });

/**
 * The number of records to read for a requested `limit`: the default when absent, clamped to the
 * maximum when larger (Karbor clamped too, and its client passes --limit through as given). Anything
 * but a positive integer is BWK_ERR_INVALID_INPUT.
 */
export function pageLimit(limit: unknown, sizes: PageSizes = DEFAULT_PAGE_SIZES): number {
  if (limit === undefined) return Math.min(sizes.default, sizes.max);
  if (typeof limit === 'number' && Number.isSafeInteger(limit) && limit > 0) return Math.min(limit, sizes.max);
  throw bwkError('BWK_ERR_INVALID_INPUT', {
    reason: `limit ${JSON.stringify(limit)} is not valid: use a positive integer (at most ${sizes.max} records come back per page)`,
  });
}
