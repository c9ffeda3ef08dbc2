/**
 * Five-field cron patterns (`minute hour day-of-month month day-of-week`), parsed into the sets of
 * values each field allows. Vixie cron's rules: `*`, values, ranges `a-b`, steps (`*`, `a-b` or `a`
 * followed by `/n`), lists with commas, month and weekday names, 7 as Sunday; when both day fields
 * are restricted a day matches either. Errors name the field and the column of the offending text.
 */
import { bwkError } from '../core/errors.js';
import { instantOf, localOf, nextDay } from './zoned-time.js';

export interface CronSpec {
  minutes: ReadonlySet<number>;
  hours: ReadonlySet<number>;
  days: ReadonlySet<number>;
  months: ReadonlySet<number>;
  /** 0 (Sunday) to 6. */
  weekdays: ReadonlySet<number>;
  /** Whether day-of-month / day-of-week were `*` (Vixie: a restricted one alone decides). */
  anyDay: boolean;
  anyWeekday: boolean;
}

interface Field {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const FIELDS: readonly Field[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] },
  { name: 'day of week', min: 0, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] },
];

const invalid = (pattern: string, column: number, reason: string): Error =>
  bwkError('BWK_ERR_TRIGGER_INVALID', {
    field: 'pattern',
    reason: `cron pattern ${JSON.stringify(pattern)} at column ${column + 1}: ${reason}`,
  });

/** Parses `pattern`; throws BWK_ERR_TRIGGER_INVALID naming the field and the column. */
export function parseCron(pattern: string): CronSpec {
  const parts: Array<{ text: string; at: number }> = [];
  for (const m of pattern.matchAll(/\S+/g)) parts.push({ text: m[0], at: m.index });
  if (parts.length !== 5) {
    throw invalid(
      pattern,
      parts[5]?.at ?? pattern.length,
      `expected 5 fields (minute hour day-of-month month day-of-week), got ${parts.length}`,
    );
  }
  const sets = parts.map((p, i) => parseField(pattern, p.text, p.at, FIELDS[i]!));
  const weekdays = new Set([...sets[4]!].map((d) => d % 7));
  return {
    minutes: sets[0]!,
    hours: sets[1]!,
    days: sets[2]!,
    months: sets[3]!,
    weekdays,
    anyDay: parts[2]!.text === '*' || parts[2]!.text === '?',
    anyWeekday: parts[4]!.text === '*' || parts[4]!.text === '?',
  };
}

function parseField(pattern: string, text: string, at: number, f: Field): Set<number> {
  const out = new Set<number>();
  let offset = at;
  for (const item of text.split(',')) {
    const bad = (reason: string, delta = 0): Error => invalid(pattern, offset + delta, `${f.name}: ${reason}`);
    if (item === '') throw bad('an empty list item');
    const [range, stepText, extra] = item.split('/');
    if (extra !== undefined) throw bad(`"${item}" has more than one "/"`);
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) < 1)
        throw bad(`step "${stepText}" is not a whole number of at least 1`, range!.length + 1);
      step = Number(stepText);
    }
    let lo: number;
    let hi: number;
    if (range === '*' || range === '?') {
      [lo, hi] = [f.min, f.max];
    } else {
      const dash = range!.indexOf('-');
      lo = valueOf(range!.slice(0, dash < 0 ? undefined : dash), f, bad);
      hi = dash < 0 ? (stepText !== undefined ? f.max : lo) : valueOf(range!.slice(dash + 1), f, (r) => bad(r, dash + 1));
      if (hi < lo) throw bad(`range ${range} runs backwards`);
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
    offset += item.length + 1;
  }
  return out;
}

function valueOf(text: string, f: Field, bad: (reason: string) => Error): number {
  const named = f.names?.indexOf(text.toUpperCase()) ?? -1;
  const v = named >= 0 ? named + (f.min === 1 ? 1 : 0) : /^\d+$/.test(text) ? Number(text) : NaN;
  if (Number.isNaN(v)) throw bad(`"${text}" is not a number${f.names ? ' or a name' : ''}`);
  if (v < f.min || v > f.max) throw bad(`${v} is outside ${f.min}-${f.max}`);
  return v;
}

/** Whether a local calendar day matches the day fields (month, day of month, day of week). */
export function dayMatches(spec: CronSpec, month: number, day: number, weekday: number): boolean {
  if (!spec.months.has(month)) return false;
  const byDay = spec.days.has(day);
  const byWeekday = spec.weekdays.has(weekday);
  if (spec.anyDay && spec.anyWeekday) return true;
  if (spec.anyDay) return byWeekday;
  if (spec.anyWeekday) return byDay;
  return byDay || byWeekday;
}

/** How far ahead a pattern is searched: enough for a 29 February that skips a non-leap century year. */
const HORIZON_DAYS = 366 * 9;

/**
 * The first instant after `after` (ms) at which `spec` fires in `zone`, or null when it never fires
 * within nine years (a 31 February). Local times are visited in order; under the gap and repeat rules
 * of zoned-time.ts they map to instants in the same order, so the first one past `after` is the next.
 */
export function nextCronFire(spec: CronSpec, zone: string, after: number): number | null {
  const hours = [...spec.hours].sort((a, b) => a - b);
  const minutes = [...spec.minutes].sort((a, b) => a - b);
  // From the day before: a repeated hour can put `after` on a local day whose times fire later.
  const start = localOf(after - 86_400_000, zone);
  let day = {
    year: start.year,
    month: start.month,
    day: start.day,
    weekday: new Date(Date.UTC(start.year, start.month - 1, start.day)).getUTCDay(),
  };
  for (let i = 0; i < HORIZON_DAYS; i++, day = nextDay(day.year, day.month, day.day)) {
    if (!dayMatches(spec, day.month, day.day, day.weekday)) continue;
    if (instantOf({ ...day, hour: 23, minute: 59 }, zone) <= after) continue; // the whole day is past
    for (const hour of hours) {
      const last = instantOf({ ...day, hour, minute: 59 }, zone);
      if (last <= after) continue; // the whole hour is past
      const first = instantOf({ ...day, hour, minute: 0 }, zone);
      // An hour no offset change touches is plain arithmetic; only one a change touches needs each minute placed.
      const plain = last - first === 59 * 60_000;
      for (const minute of minutes) {
        const t = plain ? first + minute * 60_000 : instantOf({ year: day.year, month: day.month, day: day.day, hour, minute }, zone);
        if (t > after) return t;
      }
    }
  }
  return null;
}
