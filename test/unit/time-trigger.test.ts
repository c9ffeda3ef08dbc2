import { expect } from 'chai';
import { timeSchedule, type TimeTriggerProperties } from '../../src/operation-engine/time-trigger.js';

const LIMITS = { minIntervalMs: 3_600_000, windowMinSeconds: 60, windowMaxSeconds: 86_400 };
const NOW = Date.parse('2026-12-06T12:00:00Z');
const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());

function refusal(props: TimeTriggerProperties, limits = LIMITS): { code?: string; message?: string } {
  try {
    timeSchedule(props, limits, NOW);
  } catch (err) {
    return err as { code?: string; message?: string };
  }
  throw new Error(`accepted ${JSON.stringify(props)}`);
}

describe('time triggers: schedule and validation (an injected clock)', () => {
  it('fires from start_time, not before, and not after end_time', () => {
    const s = timeSchedule(
      {
        format: 'crontab',
        pattern: '0 3 * * *',
        timezone: 'Europe/Berlin',
        start_time: '2026-12-10T00:00:00Z',
        end_time: '2026-12-12T02:00:00Z',
      },
      LIMITS,
      NOW,
    );
    const first = s.nextDue(NOW);
    expect(iso(first)).to.equal('2026-12-10T02:00:00.000Z');
    expect(iso(s.nextDue(first!))).to.equal('2026-12-11T02:00:00.000Z');
    // The 12th's 03:00 CET is 02:00Z, exactly end_time: included; nothing after it.
    expect(iso(s.nextDue(Date.parse('2026-12-11T02:00:00Z')))).to.equal('2026-12-12T02:00:00.000Z');
    expect(s.nextDue(Date.parse('2026-12-12T02:00:00Z'))).to.equal(null);
  });

  it('a fire may start within its window after the due time, not before it nor after', () => {
    const s = timeSchedule({ format: 'crontab', pattern: '0 * * * *', window: 120 }, LIMITS, NOW);
    const due = s.nextDue(NOW)!;
    expect(s.withinWindow(due, due)).to.equal(true);
    expect(s.withinWindow(due, due + 120_000)).to.equal(true);
    expect(s.withinWindow(due, due + 120_001)).to.equal(false);
    expect(s.withinWindow(due, due - 1)).to.equal(false);
  });

  it('refuses with BWK_ERR_TRIGGER_INVALID naming the field', () => {
    const cases: Array<[TimeTriggerProperties, RegExp]> = [
      [{ format: 'crontab', pattern: '*/10 * * * *' }, /pattern.*10 minute\(s\) apart, closer than the minimum interval of 60/],
      [{ format: 'crontab', pattern: '0,30 3 * * *' }, /pattern.*30 minute\(s\) apart/], // mostly a day apart, but not always
      [{ format: 'crontab', pattern: '0 * * * *', timezone: 'Mars/Olympus' }, /timezone.*unknown time zone "Mars\/Olympus"/],
      [
        { format: 'crontab', pattern: '0 * * * *', start_time: '2027-01-02T00:00:00Z', end_time: '2027-01-01T00:00:00Z' },
        /end_time.*not after start_time/,
      ],
      [{ format: 'crontab', pattern: '0 * * * *', start_time: 'tomorrow' }, /start_time.*not an ISO 8601/],
      [{ format: 'crontab', pattern: '0 * * * *', window: 10 }, /window.*10 is outside 60-86400/],
      [{ format: 'crontab', pattern: '0 0 31 2 *' }, /pattern.*never fires/],
      [{ format: 'crontab', pattern: '0 0 * * *', end_time: '2026-01-01T00:00:00Z' }, /pattern.*never fires/],
      [{ format: 'crontab', pattern: '0 0 * *' }, /pattern.*expected 5 fields/],
    ];
    for (const [props, message] of cases) {
      const err = refusal(props);
      expect(err.code, JSON.stringify(props)).to.equal('BWK_ERR_TRIGGER_INVALID');
      expect(err.message, JSON.stringify(props)).to.match(message);
    }
    // Exactly the minimum interval is allowed; lower limits (as tests configure) allow more.
    timeSchedule({ format: 'crontab', pattern: '0 * * * *' }, LIMITS, NOW);
    timeSchedule({ format: 'crontab', pattern: '* * * * *' }, { ...LIMITS, minIntervalMs: 60_000 }, NOW);
  });

  it('judges the minimum interval on the pattern, not on a daylight-saving change its first fires happen to meet', () => {
    // Made a week before Berlin skips 02:00-03:00: the skipped 02:05 fires at 03:00, five minutes before 03:05.
    const hourly: TimeTriggerProperties = { format: 'crontab', pattern: '5 * * * *', timezone: 'Europe/Berlin' };
    const week = Date.parse('2026-03-22T12:00:00Z');
    const s = timeSchedule(hourly, LIMITS, week);
    expect(iso(s.nextDue(Date.parse('2026-03-29T00:30:00Z')))).to.equal('2026-03-29T01:00:00.000Z'); // 03:00 CEST, the gap
    expect(iso(s.nextDue(Date.parse('2026-03-29T01:00:00Z')))).to.equal('2026-03-29T01:05:00.000Z'); // 03:05 CEST
    // Made on any other day, it is accepted just the same; a pattern truly closer than the minimum is still refused.
    timeSchedule(hourly, LIMITS, NOW);
    expect(refusal({ ...hourly, pattern: '5,35 * * * *' }).code).to.equal('BWK_ERR_TRIGGER_INVALID');
  });
});
