/**
 * Verify `main`: reads every stored record back (no Redis connection needed) and checks each record's
 * hash, the object's size, SHA-256 and record count, and the per-type counts against meta.json.
 */
import type { VerifyContext } from '../api.js';
import { corrupt, loadMeta, readCheckedRecords, resourceLabel } from './meta.js';

const PROGRESS_EVERY = 10_000;

/** Runs the verify `main` hook for one Redis instance; throws BWK_ERR_DATA_CORRUPT on any mismatch. */
export async function verifyInstance(ctx: VerifyContext): Promise<void> {
  const label = resourceLabel(ctx.resource.id);
  const meta = await loadMeta(ctx.bank, label);
  const byType = new Map<string, number>();
  let seen = 0;
  await readCheckedRecords(ctx.bank, meta, label, (r) => {
    ctx.signal.throwIfAborted();
    byType.set(r.type, (byType.get(r.type) ?? 0) + 1);
    if (++seen % PROGRESS_EVERY === 0) ctx.progress({ done: seen, total: meta.records.count, unit: 'items' });
  });
  const recorded = Object.entries(meta.by_type ?? {});
  const mismatch =
    recorded.find(([type, n]) => byType.get(type) !== n) ?? [...byType].find(([type]) => !Object.hasOwn(meta.by_type ?? {}, type));
  if (mismatch !== undefined) {
    const [type] = mismatch;
    throw corrupt(label, `${byType.get(type) ?? 0} records of type ${type} are stored, meta.json says ${meta.by_type?.[type] ?? 0}`);
  }
  ctx.progress({ done: seen, total: meta.records.count, unit: 'items' });
}
