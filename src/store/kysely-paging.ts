/** Keyset paging in SQL, shared by the kysely catalog adapters. */
import { sql, type Expression, type RawBuilder, type SqlBool } from 'kysely';
import { bwkError } from '../core/errors.js';
import type { ListPosition } from './paging.js';

/** The columns listings order by; the first is the primary sort key. */
export type OrderColumn = 'created_at' | 'id';

/**
 * Keyset condition "strictly after `p` in (created_at, id) order", spelled out with OR/AND instead of
 * a row-value comparison so every dialect accepts it, and correct for records sharing a created_at.
 * It compares with the same collation the listing orders by, or a page could skip or repeat records.
 */
export function afterPosition(
  p: ListPosition,
  sort: 'asc' | 'desc',
  key: (column: OrderColumn) => RawBuilder<string>,
): Expression<SqlBool> {
  const op = sort === 'asc' ? sql.raw('>') : sql.raw('<');
  const createdAt = key('created_at');
  return sql<SqlBool>`(${createdAt} ${op} ${p.created_at} or (${createdAt} = ${p.created_at} and ${key('id')} ${op} ${p.id}))`;
}

export function checkSort(sort: unknown): 'asc' | 'desc' {
  if (sort === undefined) return 'desc';
  if (sort === 'asc' || sort === 'desc') return sort;
  throw bwkError('BWK_ERR_INVALID_INPUT', { reason: `sort ${JSON.stringify(sort)} is not valid: use "asc" or "desc"` });
}
