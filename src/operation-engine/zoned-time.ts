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

/** The wall-clock time of `instant` (ms) in `zone`, read through Intl (slow: the offset table below uses it). */
function intlLocalOf(instant: number, zone: string): LocalTime & { second: number } {
  const v: Record<string, number> = {};
  for (const p of formatter(zone).formatToParts(new Date(instant))) if (p.type !== 'literal') v[p.type] = Number(p.value);
  return { year: v.year!, month: v.month!, day: v.day!, hour: v.hour!, minute: v.minute!, second: v.second! };
}

function intlOffsetAt(instant: number, zone: string): number {
  const l = intlLocalOf(instant, zone);
  return Date.UTC(l.year, l.month - 1, l.day, l.hour, l.minute, l.second) - Math.floor(instant / 1000) * 1000;
}

/**
 * A zone's offset changes in one UTC year, found once: the offset read daily through Intl, and each
 * change between two days pinned to the millisecond. No zone changes its offset twice within a day,
 * so daily reads miss none. After this, offsets and wall-clock times are arithmetic — a scheduler
 * recomputing many triggers would otherwise spend its time in Intl.
 */
interface YearOffsets {
  initial: number;
  changes: Array<{ at: number; offset: number }>;
}

const offsetTables = new Map<string, YearOffsets>();

function yearOffsets(zone: string, year: number): YearOffsets {
  const key = `${zone}|${year}`;
  let table = offsetTables.get(key);
  if (table) return table;
  const start = Date.UTC(year, 0, 1);
  const end = Date.UTC(year + 1, 0, 1);
  table = { initial: intlOffsetAt(start, zone), changes: [] };
  let [t, offset] = [start, table.initial];
  while (t < end) {
    const next = Math.min(t + DAY_MS, end);
    const o = intlOffsetAt(next, zone);
    if (o !== offset) {
      let [lo, hi] = [t, next];
      while (hi - lo > 1) {
        const mid = lo + Math.floor((hi - lo) / 2);
        if (intlOffsetAt(mid, zone) === o) hi = mid;
        else lo = mid;
      }
      table.changes.push({ at: hi, offset: o });
      offset = o;
    }
    t = next;
  }
  if (offsetTables.size > 2000) offsetTables.clear();
  offsetTables.set(key, table);
  return table;
}

/** How far `zone`'s wall clock is ahead of UTC at `instant`, in ms. */
export function offsetAt(instant: number, zone: string): number {
  const table = yearOffsets(zone, new Date(instant).getUTCFullYear());
  let offset = table.initial;
  for (const c of table.changes) {
    if (c.at > instant) break;
    offset = c.offset;
  }
  return offset;
}

/** The wall-clock time of `instant` (ms) in `zone`, with its seconds. */
export function localOf(instant: number, zone: string): LocalTime & { second: number } {
  const d = new Date(instant + offsetAt(instant, zone));
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
  };
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
