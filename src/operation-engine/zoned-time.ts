/**
 * Wall-clock time in an IANA time zone, and the instant a wall-clock time fires at. Two rules make a
 * schedule well defined across daylight-saving changes (docs/scheduling.md): a local time that does
 * not exist (the hour skipped in spring) fires at the first instant after the gap; a local time that
 * exists twice (the hour repeated in autumn) fires once, at its first occurrence.
 */
import { bwkError } from '../core/errors.js';

export interface LocalTime {
  year: number;
  /** 1-12. */
  month: number;
  day: number;
  hour: number;
  minute: number;
}

const DAY_MS = 86_400_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, f);
  }
  return f;
}

/** Refuses a zone the runtime's time-zone database does not know (BWK_ERR_TRIGGER_INVALID naming the field). */
export function assertTimeZone(zone: string, field = 'timezone'): void {
  try {
    formatter(zone);
  } catch {
    throw bwkError('BWK_ERR_TRIGGER_INVALID', {
      field,
      reason: `unknown time zone ${JSON.stringify(zone)} (an IANA name such as Europe/Berlin)`,
    });
  }
}

/** The wall-clock time of `instant` (ms) in `zone`, with its seconds. */
export function localOf(instant: number, zone: string): LocalTime & { second: number } {
  const v: Record<string, number> = {};
  for (const p of formatter(zone).formatToParts(new Date(instant))) if (p.type !== 'literal') v[p.type] = Number(p.value);
  return { year: v.year!, month: v.month!, day: v.day!, hour: v.hour!, minute: v.minute!, second: v.second! };
}

/** How far `zone`'s wall clock is ahead of UTC at `instant`, in ms. */
export function offsetAt(instant: number, zone: string): number {
  const l = localOf(instant, zone);
  const wall = Date.UTC(l.year, l.month - 1, l.day, l.hour, l.minute, l.second);
  return wall - Math.floor(instant / 1000) * 1000;
}

const sameMinute = (a: LocalTime, b: LocalTime): boolean =>
  a.year === b.year && a.month === b.month && a.day === b.day && a.hour === b.hour && a.minute === b.minute;

/** The instant the wall-clock time `local` fires at in `zone`: its first occurrence, or the end of the gap that skips it. */
export function instantOf(local: LocalTime, zone: string): number {
  const wall = Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute);
  const offsets = [offsetAt(wall - DAY_MS, zone), offsetAt(wall + DAY_MS, zone)];
  const candidates = [...new Set(offsets)].map((o) => wall - o).sort((a, b) => a - b);
  for (const t of candidates) if (sameMinute(localOf(t, zone), local)) return t;
  // Skipped by a gap: the first instant whose offset is the later one is where the wall clock resumes.
  let lo = candidates[0]!;
  let hi = candidates[candidates.length - 1]!;
  const after = offsetAt(hi, zone);
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (offsetAt(mid, zone) === after) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** The civil day after `y-m-d`, and that day's weekday (0 Sunday). */
export function nextDay(y: number, m: number, d: number): { year: number; month: number; day: number; weekday: number } {
  const t = new Date(Date.UTC(y, m - 1, d) + DAY_MS);
  return { year: t.getUTCFullYear(), month: t.getUTCMonth() + 1, day: t.getUTCDate(), weekday: t.getUTCDay() };
}
