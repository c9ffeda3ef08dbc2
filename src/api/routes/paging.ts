import { bwkError } from '../../core/errors.js';

/** Karbor's `limit`, `marker` and `sort=created_at:desc` as a store query. */
export function pageOf(query: unknown): { limit?: number; marker?: string; sort?: 'asc' | 'desc' } {
  const q = query as { limit?: number; marker?: string; sort?: string };
  let sort: 'asc' | 'desc' | undefined;
  if (q.sort !== undefined) {
    const [key, dir = 'desc'] = q.sort.split(':');
    if (key !== 'created_at') throw bwkError('BWK_ERR_INVALID_INPUT', { reason: `sort key must be created_at, not "${key}"` });
    sort = dir as 'asc' | 'desc';
  }
  return {
    ...(q.limit !== undefined ? { limit: q.limit } : {}),
    ...(q.marker !== undefined ? { marker: q.marker } : {}),
    ...(sort ? { sort } : {}),
  };
}

export function dateOf(name: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const d = new Date(value);
  if (Number.isNaN(d.getTime()))
    throw bwkError('BWK_ERR_INVALID_INPUT', { reason: `${name} must be an ISO-8601 date or time, not "${value}"` });
  return d;
}
