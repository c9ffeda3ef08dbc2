/**
 * A time trigger's schedule: its pattern in its time zone, bounded by `start_time` and `end_time`,
 * with a `window` (seconds) after each due time within which a fire may still start. Validated as a
 * whole when a trigger is created or changed, with coded errors that name the field.
 */
import { bwkError } from '../core/errors.js';
import { nextCalendarFire, parseCalendar } from './calendar.js';
import { nextCronFire, parseCron } from './cron.js';
import { assertTimeZone } from './zoned-time.js';

export interface TimeTriggerProperties {
  /** crontab: five cron fields; calendar: an RFC 5545 VEVENT with an RRULE (docs/scheduling.md). */
  format: 'crontab' | 'calendar';
  pattern: string;
  /** IANA name; default UTC. */
  timezone?: string;
  start_time?: string;
  end_time?: string;
  /** Seconds after a due time within which its fire may still start. */
  window?: number;
}

export interface TriggerLimits {
  /** Two fires closer than this are refused (Karbor's minimum interval; one hour by default). */
  minIntervalMs: number;
  windowMinSeconds: number;
  windowMaxSeconds: number;
}

export interface TimeSchedule {
  /** The first due time after `after` (ms), or null when the trigger has ended or never fires again. */
  nextDue(after: number): number | null;
  /** Whether a fire due at `due` may still start at `now`. */
  withinWindow(due: number, now: number): boolean;
}

/** The next-fire function of the trigger's format; `anchor` starts a calendar rule without DTSTART. */
function nextFireOf(props: TimeTriggerProperties, zone: string, anchor: number): (after: number) => number | null {
  if (props.format === 'calendar') {
    const cal = parseCalendar(props.pattern, zone, anchor);
    return (after) => nextCalendarFire(cal, zone, after);
  }
  const spec = parseCron(props.pattern);
  return (after) => nextCronFire(spec, zone, after);
}

const invalid = (field: string, reason: string): Error => bwkError('BWK_ERR_TRIGGER_INVALID', { field, reason });

/** How many fires the minimum-interval check looks at: enough to meet every hour and weekday of a pattern. */
const INTERVAL_SAMPLE = 200;

function instant(field: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const t = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(t)) throw invalid(field, `${JSON.stringify(value)} is not an ISO 8601 date-time`);
  return t;
}

/** Checks `props` against `limits` and returns its schedule; BWK_ERR_TRIGGER_INVALID names the first bad field. */
export function timeSchedule(props: TimeTriggerProperties, limits: TriggerLimits, now = Date.now()): TimeSchedule {
  if (props.format !== 'crontab' && props.format !== 'calendar') {
    throw invalid('format', `${JSON.stringify(props.format)} is neither crontab nor calendar`);
  }
  if (typeof props.pattern !== 'string' || props.pattern.trim() === '') throw invalid('pattern', 'it is empty');
  const zone = props.timezone ?? 'UTC';
  assertTimeZone(zone);
  const start = instant('start_time', props.start_time);
  const end = instant('end_time', props.end_time);
  if (start !== undefined && end !== undefined && end <= start) throw invalid('end_time', 'it is not after start_time');
  const windowSeconds = props.window ?? limits.windowMinSeconds;
  if (!Number.isInteger(windowSeconds) || windowSeconds < limits.windowMinSeconds || windowSeconds > limits.windowMaxSeconds) {
    throw invalid('window', `${windowSeconds} is outside ${limits.windowMinSeconds}-${limits.windowMaxSeconds} seconds`);
  }
  const schedule = scheduleFor({ ...props, window: windowSeconds }, now);
  let previous = schedule.nextDue(Math.max(now, start ?? now));
  if (previous === null) throw invalid('pattern', 'it never fires between start_time and end_time');
  // The pattern's own spacing, read in UTC: a daylight-saving change can bring two fires closer (the
  // skipped 02:05 fires at 03:00, five minutes before 03:05), and whether the sample met one would
  // make the same trigger valid or not depending on the day it was made.
  const nominal = zone === 'UTC' ? schedule : scheduleFor({ ...props, timezone: 'UTC', window: windowSeconds }, now);
  previous = nominal.nextDue(Math.max(now, start ?? now));
  for (let i = 0; i < INTERVAL_SAMPLE && previous !== null; i++) {
    const following = nominal.nextDue(previous);
    if (following === null) break;
    if (following - previous < limits.minIntervalMs) {
      const [apart, least] = [(following - previous) / 60_000, limits.minIntervalMs / 60_000];
      throw invalid('pattern', `it fires ${apart} minute(s) apart, closer than the minimum interval of ${least} minute(s)`);
    }
    previous = following;
  }
  return schedule;
}

/**
 * The schedule of properties already validated (a stored trigger), without checking them again:
 * cheap enough to build for every trigger at every start, and never refused by limits lowered or
 * raised since. `anchor` starts a calendar rule that has neither DTSTART nor start_time.
 */
export function scheduleFor(props: TimeTriggerProperties, anchor: number): TimeSchedule {
  const zone = props.timezone ?? 'UTC';
  const start = props.start_time === undefined ? undefined : Date.parse(props.start_time);
  const end = props.end_time === undefined ? undefined : Date.parse(props.end_time);
  const windowMs = (props.window ?? 0) * 1000;
  const next = nextFireOf(props, zone, start ?? anchor);
  return {
    nextDue(after) {
      const from = start !== undefined && after < start ? start - 1 : after;
      const due = next(from);
      return due === null || (end !== undefined && due > end) ? null : due;
    },
    withinWindow: (due, at) => at >= due && at - due <= windowMs,
  };
}
