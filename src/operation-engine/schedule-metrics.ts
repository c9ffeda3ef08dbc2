/**
 * `bulwark_scheduled_operation_last_success_timestamp_seconds`, read from the operation logs in the
 * catalog rather than counted in memory: an operation engine that restarts (or a standby that takes
 * over) reports the same times at once, and a deleted scheduled operation's series goes away.
 */
import { scheduledInterval, scheduledLastSuccess } from '../common/metrics.js';
import type { CatalogStore } from '../store/port.js';
import type { ScheduledOperationRecord } from '../store/scheduling-records.js';
import { scheduleOf } from './trigger-properties.js';

/** Scheduled operations read per catalog page. */
const PAGE = 200;

/** The time between the next two due times of an enabled operation's time trigger; undefined for the others. */
async function intervalOf(store: CatalogStore, op: ScheduledOperationRecord, now: number): Promise<number | undefined> {
  if (op.status !== 'enabled') return undefined;
  const trigger = await store.scheduling.getTrigger(null, op.trigger_id);
  if (trigger?.type !== 'time') return undefined;
  const schedule = scheduleOf(trigger.properties, Date.parse(trigger.created_at));
  const next = schedule.nextDue(now);
  const after = next === null ? null : schedule.nextDue(next);
  return next === null || after === null ? undefined : (after - next) / 1000;
}

/**
 * Sets the gauges of every scheduled operation: when a run last succeeded (operations that never
 * succeeded have none) and its trigger's interval; drops the series of deleted operations.
 */
export async function refreshLastSuccess(store: CatalogStore, now: number = Date.now()): Promise<void> {
  const times = new Map<string, number>();
  const intervals = new Map<string, number>();
  let marker: string | undefined;
  for (;;) {
    const page = await store.scheduling.listScheduledOperations({ projectId: null, limit: PAGE, ...(marker ? { marker } : {}) });
    for (const op of page) {
      const [last] = await store.scheduling.listLogs({ projectId: null, scheduledOperationId: op.id, status: 'success', limit: 1 });
      const at = last ? Date.parse(last.ended_at ?? last.created_at) : NaN;
      if (Number.isFinite(at)) times.set(op.id, at / 1000);
      const interval = await intervalOf(store, op, now).catch(() => undefined);
      if (interval !== undefined) intervals.set(op.id, interval);
    }
    if (page.length < PAGE) break;
    marker = page.at(-1)!.id;
  }
  scheduledLastSuccess.reset();
  for (const [id, seconds] of times) scheduledLastSuccess.set({ scheduled_operation: id }, seconds);
  scheduledInterval.reset();
  for (const [id, seconds] of intervals) scheduledInterval.set({ scheduled_operation: id }, seconds);
}
