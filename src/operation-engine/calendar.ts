/**
 * `format: calendar` patterns, as Karbor wrote them: an RFC 5545 VEVENT whose RRULE says when to
 * fire (`BEGIN:VEVENT\nRRULE:FREQ=WEEKLY;BYDAY=MO;BYHOUR=3\nEND:VEVENT`), optionally with its own
 * DTSTART. The rule is expanded in wall-clock time (rrule's "floating" dates) and every wall-clock
 * time is placed with the same daylight-saving rules as cron (zoned-time.ts), so both formats agree.
 * rrule: the maintained RFC 5545 recurrence expander for JavaScript (BSD-3, no runtime dependencies
 * but tslib); it knows the rule grammar, but its own time-zone handling follows the host's rules for
 * gaps and repeats, which is why it only ever sees floating times here.
 */
import rrule from 'rrule';
import type { RRule as RRuleType } from 'rrule';
import { bwkError } from '../core/errors.js';
import { instantOf, localOf, type LocalTime } from './zoned-time.js';

const { RRule } = rrule;

const invalid = (reason: string): Error => bwkError('BWK_ERR_TRIGGER_INVALID', { field: 'pattern', reason });

/**
 * A floating date: the wall-clock time `l` written as if it were UTC, with `second` (wall-clock
 * arithmetic is by the minute; every zone's offset is whole minutes, so seconds ride along as they are).
 */
const floating = (l: LocalTime, second = 0): Date => new Date(Date.UTC(l.year, l.month - 1, l.day, l.hour, l.minute, second));
const secondOf = (t: number): number => new Date(t).getUTCSeconds();
const wallOf = (d: Date): LocalTime => ({
  year: d.getUTCFullYear(),
  month: d.getUTCMonth() + 1,
  day: d.getUTCDate(),
  hour: d.getUTCHours(),
  minute: d.getUTCMinutes(),
});

export interface CalendarRule {
  rule: RRuleType;
  /**
   * Consecutive occurrences from `from` (floating ms) on, read in one walk: rrule walks every
   * occurrence from the rule's start on each call, so answering fire after fire from a batch turns
   * the 200 fires validation looks at (and a tick's catch-up) from quadratic into one walk.
   */
  batch?: { from: number; occurrences: Date[]; ended: boolean };
}

/** Occurrences read by a schedule's first walk, by later walks at most, and kept at most. */
const FIRST_BATCH = 4;
const BATCH = 256;
const MAX_KEPT = 4096;

/**
 * Parses a VEVENT (or a bare RRULE line). `defaultStart` (ms; the trigger's start_time, or when it
 * was created) anchors a rule without DTSTART, read as wall-clock time in `zone`.
 */
export function parseCalendar(pattern: string, zone: string, defaultStart: number): CalendarRule {
  const lines = pattern
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const rrules = lines.map((l, i) => ({ l, i })).filter(({ l }) => /^RRULE:/i.test(l));
  if (rrules.length !== 1) throw invalid(`a calendar pattern needs exactly one RRULE line, found ${rrules.length}`);
  const { l: line, i: lineIndex } = rrules[0]!;
  let options: ReturnType<typeof RRule.parseString>;
  try {
    options = RRule.parseString(line.replace(/;+$/, ''));
  } catch (err) {
    throw invalid(`line ${lineIndex + 1}: ${(err as Error).message}`);
  }
  if (options.freq === undefined) throw invalid(`line ${lineIndex + 1}: the RRULE has no FREQ`);
  const dtstart = lines.find((l) => /^DTSTART/i.test(l));
  const start = dtstart ? parseDtstart(dtstart, lines.indexOf(dtstart) + 1) : floating(localOf(defaultStart, zone), secondOf(defaultStart));
  if (options.until) options.until = floating(localOf(options.until.getTime(), zone));
  try {
    return { rule: new RRule({ ...options, dtstart: start, tzid: null }) };
  } catch (err) {
    throw invalid(`line ${lineIndex + 1}: ${(err as Error).message}`);
  }
}

/** DTSTART as a wall-clock time (its TZID, if any, is the trigger's own `timezone`'s business). */
function parseDtstart(line: string, lineNumber: number): Date {
  const m = /:(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})?Z?)?$/.exec(line);
  if (!m) throw invalid(`line ${lineNumber}: DTSTART is not a date or date-time (YYYYMMDD[THHMMSS])`);
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0)));
}

/** Occurrences looked at per call before giving up: a rule whose every occurrence is past `after` ends sooner. */
const MAX_STEPS = 100_000;

/** The first instant after `after` at which the rule fires in `zone`, or null when it has ended. */
export function nextCalendarFire(cal: CalendarRule, zone: string, after: number): number | null {
  // From three hours early: a repeated hour (at most two, anywhere) can put `after` before a wall-clock
  // time already passed.
  const from = floating(localOf(after - 3 * 3_600_000, zone)).getTime();
  // Set once this call has looked at every occurrence from `from` up to the batch it slid to.
  let slid = false;
  for (let walks = 0; walks <= MAX_STEPS / FIRST_BATCH; walks++) {
    const batch = cal.batch;
    const covers = batch !== undefined && (slid || batch.from <= from);
    if (covers) {
      for (const occurrence of batch.occurrences) {
        if (occurrence.getTime() < from) continue;
        const t = instantOf(wallOf(occurrence), zone) + occurrence.getUTCSeconds() * 1000;
        if (t > after) return t;
      }
      if (batch.ended) return null;
    }
    const last = covers ? batch.occurrences.at(-1) : undefined;
    // Few at first (most callers want the next fire only), doubling as a caller keeps asking.
    const want = last ? Math.min(BATCH, batch!.occurrences.length) : FIRST_BATCH;
    const read: Date[] = [];
    cal.rule.between(last ?? new Date(from), new Date(8.64e15), last === undefined, (d) => read.push(d) < want);
    const ended = read.length < want;
    if (!last) cal.batch = { from, occurrences: read, ended };
    else if (batch!.occurrences.length + read.length <= MAX_KEPT)
      cal.batch = { from: batch!.from, occurrences: [...batch!.occurrences, ...read], ended };
    else {
      // Full: go on from the last occurrence read (kept, so the batch still starts where it says).
      cal.batch = { from: last.getTime(), occurrences: [last, ...read], ended };
      slid = true;
    }
  }
  return null;
}
