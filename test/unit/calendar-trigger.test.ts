import { expect } from 'chai';
import fc from 'fast-check';
import { timeSchedule, type TimeTriggerProperties } from '../../src/operation-engine/time-trigger.js';

const LIMITS = { minIntervalMs: 3_600_000, windowMinSeconds: 60, windowMaxSeconds: 86_400 };
const NOW = Date.parse('2026-03-01T12:00:00Z');
const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());
const vevent = (rrule: string, extra = ''): string => `BEGIN:VEVENT\n${extra}RRULE:${rrule}\nEND:VEVENT`;

function dues(props: TimeTriggerProperties, from: string, n: number): Array<string | null> {
  const s = timeSchedule(props, LIMITS, NOW);
  const out: Array<string | null> = [];
  let t: number | null = Date.parse(from);
  for (let i = 0; i < n && t !== null; i++) out.push(iso((t = s.nextDue(t))));
  return out;
}

describe('calendar (RFC 5545 RRULE) time triggers', () => {
  it("reads Karbor's VEVENT, anchored at start_time when it has no DTSTART", () => {
    const props: TimeTriggerProperties = {
      format: 'calendar',
      pattern: vevent('FREQ=HOURLY;INTERVAL=2;'),
      start_time: '2026-03-02T10:15:00Z',
    };
    expect(dues(props, '2026-03-01T00:00:00Z', 3)).to.deep.equal([
      '2026-03-02T10:15:00.000Z',
      '2026-03-02T12:15:00.000Z',
      '2026-03-02T14:15:00.000Z',
    ]);
  });

  it('keeps the seconds of its anchor: FREQ=SECONDLY every 2 s from 10:15:07 (where a deployment lowers the minimum interval)', () => {
    const props: TimeTriggerProperties = {
      format: 'calendar',
      timezone: 'Europe/Berlin',
      pattern: vevent('FREQ=SECONDLY;INTERVAL=2'),
      start_time: '2026-03-02T10:15:07Z',
      end_time: '2026-03-02T10:15:11Z',
    };
    const s = timeSchedule(props, { ...LIMITS, minIntervalMs: 1000 }, NOW);
    const out: Array<string | null> = [];
    for (let t: number | null = Date.parse('2026-03-02T10:00:00Z'); t !== null;) out.push(iso((t = s.nextDue(t))));
    expect(out).to.deep.equal(['2026-03-02T10:15:07.000Z', '2026-03-02T10:15:09.000Z', '2026-03-02T10:15:11.000Z', null]);
  });

  it('answers from what it has read in any order, and past more occurrences than it keeps', () => {
    const every2s: TimeTriggerProperties = {
      format: 'calendar',
      pattern: vevent('FREQ=SECONDLY;INTERVAL=2'),
      start_time: '2026-03-02T00:00:00Z',
    };
    const s = timeSchedule(every2s, { ...LIMITS, minIntervalMs: 1000 }, NOW);
    // Three hours of look-back hold 5,400 occurrences, more than a schedule keeps: it reads on.
    expect(iso(s.nextDue(Date.parse('2026-03-02T05:00:01Z')))).to.equal('2026-03-02T05:00:02.000Z');
    expect(iso(s.nextDue(Date.parse('2026-03-02T01:00:00Z')))).to.equal('2026-03-02T01:00:02.000Z'); // earlier, asked later
    expect(iso(s.nextDue(Date.parse('2026-03-02T05:00:02Z')))).to.equal('2026-03-02T05:00:04.000Z');
    const weekly = timeSchedule({ format: 'calendar', pattern: vevent('FREQ=WEEKLY;BYDAY=MO;BYHOUR=3;BYMINUTE=0') }, LIMITS, NOW);
    const later = weekly.nextDue(Date.parse('2026-09-01T00:00:00Z'));
    expect(iso(weekly.nextDue(Date.parse('2026-03-03T00:00:00Z')))).to.equal('2026-03-09T03:00:00.000Z');
    expect(iso(later)).to.equal('2026-09-07T03:00:00.000Z');
  });

  it('weekly on Mondays at 03:00 local, with DTSTART and UNTIL', () => {
    const props: TimeTriggerProperties = {
      format: 'calendar',
      timezone: 'Europe/Berlin',
      pattern: vevent('FREQ=WEEKLY;BYDAY=MO;BYHOUR=3;BYMINUTE=0;UNTIL=20260330T235959Z', 'DTSTART:20260301T000000\n'),
    };
    expect(dues(props, '2026-03-01T00:00:00Z', 6)).to.deep.equal([
      '2026-03-02T02:00:00.000Z',
      '2026-03-09T02:00:00.000Z',
      '2026-03-16T02:00:00.000Z',
      '2026-03-23T02:00:00.000Z',
      '2026-03-30T01:00:00.000Z', // CEST from the 29th
      null,
    ]);
  });

  it('follows the same daylight-saving rules as cron: a skipped time fires after the gap, a repeated one once', () => {
    const daily: TimeTriggerProperties = {
      format: 'calendar',
      timezone: 'Europe/Berlin',
      pattern: vevent('FREQ=DAILY;BYHOUR=2;BYMINUTE=30', 'DTSTART:20260101T000000\n'),
    };
    expect(dues(daily, '2026-03-28T00:00:00Z', 3)).to.deep.equal([
      '2026-03-28T01:30:00.000Z',
      '2026-03-29T01:00:00.000Z',
      '2026-03-30T00:30:00.000Z',
    ]);
    expect(dues(daily, '2026-10-24T12:00:00Z', 2)).to.deep.equal(['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
  });

  it('agrees with the equivalent cron pattern, in two time zones, across the year', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 23 }),
        fc.integer({ min: 0, max: 59 }),
        fc.constantFrom('Europe/Berlin', 'America/New_York'),
        fc.integer({ min: 0, max: 364 }),
        (hour, minute, timezone, day) => {
          const from = new Date(Date.parse('2026-01-01T00:00:00Z') + day * 86_400_000).toISOString();
          const cal = dues(
            { format: 'calendar', timezone, pattern: vevent(`FREQ=DAILY;BYHOUR=${hour};BYMINUTE=${minute}`, 'DTSTART:20251201T000000\n') },
            from,
            3,
          );
          const cron = dues({ format: 'crontab', timezone, pattern: `${minute} ${hour} * * *` }, from, 3);
          expect(cal).to.deep.equal(cron);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('refuses what it cannot read, naming the line', () => {
    const cases: Array<[string, RegExp]> = [
      ['BEGIN:VEVENT\nEND:VEVENT', /exactly one RRULE line, found 0/],
      [vevent('FREQ=SOMETIMES'), /line 2: /],
      [vevent('INTERVAL=2'), /line 2: the RRULE has no FREQ/],
      [vevent('FREQ=DAILY', 'DTSTART:tomorrow\n'), /line 2: DTSTART is not a date/],
      [vevent('FREQ=MINUTELY'), /closer than the minimum interval/],
    ];
    for (const [pattern, message] of cases) {
      let err: { code?: string; message?: string } | undefined;
      try {
        timeSchedule({ format: 'calendar', pattern }, LIMITS, NOW);
      } catch (e) {
        err = e as { code?: string; message?: string };
      }
      expect(err?.code, pattern).to.equal('BWK_ERR_TRIGGER_INVALID');
      expect(err?.message, pattern).to.match(message);
    }
  });
});
