/**
 * A trigger's properties as stored: checked field by field, with the coercions Karbor's client needs
 * (it sends `window` as an integer or a string of digits, and date-times as "YYYY-MM-DD HH:MM:SS",
 * which Karbor read as UTC). Nothing else is coerced; unknown properties are refused.
 */
import { bwkError } from '../core/errors.js';
import type { TriggerType } from '../store/scheduling-records.js';
import { scheduleFor, timeSchedule, type TimeSchedule, type TimeTriggerProperties, type TriggerLimits } from './time-trigger.js';

/** The events an event trigger may name. */
export const TRIGGER_EVENTS = ['checkpoint.available'] as const;

const TIME_KEYS = ['format', 'pattern', 'timezone', 'start_time', 'end_time', 'window'] as const;
const invalid = (field: string, reason: string): Error => bwkError('BWK_ERR_TRIGGER_INVALID', { field, reason });

function dateTime(field: string, v: unknown): string {
  if (typeof v !== 'string') throw invalid(field, 'it must be an ISO 8601 date-time string');
  // Karbor's "2026-12-06 03:00:00" and a zone-less ISO time are UTC, never the server's local time.
  const iso = v.replace(/^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2})/, '$1T$2');
  const zoned = /(Z|[+-]\d{2}:?\d{2})$/i.test(iso) ? iso : `${iso}Z`;
  const t = Date.parse(zoned);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(iso) || Number.isNaN(t))
    throw invalid(field, `${JSON.stringify(v)} is not an ISO 8601 date-time`);
  return new Date(t).toISOString();
}

export function checkTriggerType(type: unknown): TriggerType {
  if (type !== 'time' && type !== 'event') throw invalid('type', `${JSON.stringify(type)} is neither time nor event`);
  return type;
}

/** The stored properties of a trigger of `type`; a time trigger's schedule is validated against `limits`. */
export function checkTriggerProperties(
  type: TriggerType,
  properties: unknown,
  limits: TriggerLimits,
  now = Date.now(),
): Record<string, unknown> {
  if (properties === null || typeof properties !== 'object' || Array.isArray(properties))
    throw invalid('properties', 'it must be an object');
  const given = properties as Record<string, unknown>;
  if (type === 'event') {
    for (const key of Object.keys(given)) if (key !== 'event') throw invalid(`properties.${key}`, 'an event trigger takes only "event"');
    if (!(TRIGGER_EVENTS as readonly unknown[]).includes(given.event))
      throw invalid('properties.event', `${JSON.stringify(given.event)} is not one of ${TRIGGER_EVENTS.join(', ')}`);
    return { event: given.event };
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(given)) {
    if (!(TIME_KEYS as readonly string[]).includes(key)) throw invalid(`properties.${key}`, `a time trigger takes ${TIME_KEYS.join(', ')}`);
    if (key === 'start_time' || key === 'end_time') out[key] = dateTime(key, value);
    else if (key === 'window') {
      const n = typeof value === 'string' && /^\d{1,9}$/.test(value) ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isInteger(n))
        throw invalid('window', `${JSON.stringify(value)} is not a whole number of seconds`);
      out.window = n;
    } else {
      if (typeof value !== 'string') throw invalid(key, 'it must be a string');
      out[key] = value;
    }
  }
  if (out.format === undefined) out.format = 'crontab';
  // Stored resolved, so a later change of the configured bounds does not change this trigger.
  if (out.window === undefined) out.window = limits.windowMinSeconds;
  if (typeof out.pattern !== 'string') throw invalid('pattern', 'a time trigger needs one');
  timeSchedule(out as unknown as TimeTriggerProperties, limits, now);
  return out;
}

/** The schedule of a stored time trigger (validated when stored); `createdAt` anchors a calendar rule without a start. */
export function scheduleOf(properties: Record<string, unknown>, createdAt: number): TimeSchedule {
  return scheduleFor(properties as unknown as TimeTriggerProperties, createdAt);
}
