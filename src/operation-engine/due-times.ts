/**
 * What a scheduler tick does with a trigger's due times, as pure functions of an injected clock: the
 * operation id each fire gets (the same in every engine instance, so the protection service's
 * duplicate guards refuse a second start), and which due times since the last tick still fire and
 * which are past their window — those are logged `dropped_out_of_window`, never silently lost.
 */
import { createHash } from 'node:crypto';
import type { TimeSchedule } from './time-trigger.js';

/** The namespace of Bulwark's name-based fire ids (a random v4 UUID, fixed forever: ids must not change). */
export const FIRE_NAMESPACE = '3b0a4e6e-2f4c-4d0b-9a51-6f1b7c1e5d20';

/** An RFC 4122 version 5 (SHA-1, name-based) UUID of `name` in `namespace`. */
export function uuidV5(namespace: string, name: string): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  if (ns.length !== 16) throw new Error(`uuidV5: namespace ${namespace} is not a UUID`);
  const h = createHash('sha1').update(ns).update(name, 'utf8').digest().subarray(0, 16);
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** The operation id of the fire of `scheduledOperationId` due at `due` (ms): the same wherever it is computed. */
export const fireOperationId = (scheduledOperationId: string, due: number): string =>
  uuidV5(FIRE_NAMESPACE, `${scheduledOperationId}@${new Date(due).toISOString()}`);

export interface DueTime {
  due: number;
  outcome: 'fire' | 'dropped_out_of_window';
}

/**
 * The due times after `since` up to `now`, oldest first, each to fire (`now` is inside its window)
 * or to be logged dropped. At most `max`: a caller that got `max` continues from the last one at the
 * next tick, so an engine that was down for long catches up without losing a due time.
 */
export function dueSince(schedule: TimeSchedule, since: number, now: number, max = 1000): DueTime[] {
  const out: DueTime[] = [];
  for (let due = schedule.nextDue(since); due !== null && due <= now && out.length < max; due = schedule.nextDue(due)) {
    out.push({ due, outcome: schedule.withinWindow(due, now) ? 'fire' : 'dropped_out_of_window' });
  }
  return out;
}
