import { bwkError } from '../core/errors.js';
import type { BankPlugin } from '../bank/port.js';
import type { CheckpointQuery } from '../checkpoints/collection.js';
import { CheckpointCollection } from '../checkpoints/collection.js';
import type { CheckpointRecord } from '../checkpoints/model.js';
import type { ListPosition } from '../store/port.js';

const order =
  (sort: 'asc' | 'desc') =>
  (a: ListPosition, b: ListPosition): number => {
    const c = a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
    return sort === 'asc' ? c : -c;
  };

/**
 * Lists checkpoints over several banks (providers may use different banks) as one ordered,
 * paginated list. With one bank — the usual case — it is that bank's index listing unchanged.
 * `after`, instead of a marker, starts the page right after a position that need not be a
 * checkpoint's (operation logs merge checkpoints with restores and verifications).
 */
export async function listAcrossBanks(banks: BankPlugin[], q: CheckpointQuery, after?: ListPosition): Promise<CheckpointRecord[]> {
  const collections = banks.map((b) => new CheckpointCollection(b));
  if (collections.length === 1 && after === undefined) return collections[0]!.list(q);
  const sort = q.sort ?? 'desc';
  let marker: ListPosition | null = after ?? null;
  if (q.marker !== undefined) {
    for (const c of collections) marker ??= await c.get(q.marker, q.projectId);
    if (!marker) throw bwkError('BWK_ERR_INVALID_INPUT', { reason: `marker ${q.marker} is not a checkpoint you can see` });
  }
  const bound = marker ? new Date(marker.created_at) : undefined;
  const perBank = await Promise.all(
    collections.map((c) =>
      c.list({
        ...q,
        marker: undefined,
        ...(bound && sort === 'desc' ? { until: q.until && q.until < bound ? q.until : bound } : {}),
        ...(bound && sort === 'asc' ? { since: q.since && q.since > bound ? q.since : bound } : {}),
        // Entries at the marker's own timestamp may precede it: ask one page deeper than needed.
        ...(q.limit !== undefined ? { limit: q.limit + 1000 } : {}),
      }),
    ),
  );
  const cmp = order(sort);
  const merged = perBank
    .flat()
    .sort(cmp)
    .filter((r) => !marker || cmp(marker, r) < 0);
  return q.limit !== undefined ? merged.slice(0, q.limit) : merged;
}
