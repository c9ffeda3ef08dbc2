import { expect } from 'chai';
import fc from 'fast-check';
import { nextCronFire, parseCron } from '../../src/operation-engine/cron.js';

const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());

/** The next `n` fires of `pattern` in `zone` after `from`, as ISO strings. */
function fires(pattern: string, zone: string, from: string, n: number): Array<string | null> {
  const spec = parseCron(pattern);
  const out: Array<string | null> = [];
  let t: number | null = Date.parse(from);
  for (let i = 0; i < n && t !== null; i++) out.push(iso((t = nextCronFire(spec, zone, t))));
  return out;
}

/**
 * An independent oracle: walks instants minute by minute and reads the wall clock with Intl. A
 * minute fires when its wall-clock time matches and was not seen before (a repeated hour fires
 * once), or when the wall clock jumped over a matching time since the minute before (a skipped
 * hour fires at the first instant after the gap). Slow, and shares nothing with nextCronFire.
 */
function oracle(pattern: string, zone: string, from: number, horizonMinutes: number): number | null {
  const [mi, h, dom, mon, dow] = pattern.split(' ');
  const f = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    weekday: 'short',
  });
  const WD = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const fieldOk = (expr: string, v: number): boolean =>
    expr.split(',').some((part) => {
      const [range, step] = part.split('/');
      const [lo, hi] =
        range === '*' ? [0, 99] : range!.includes('-') ? range!.split('-').map(Number) : [Number(range), step ? 99 : Number(range)];
      const base = range === '*' ? 0 : lo!;
      return v >= lo! && v <= hi! && (v - base) % Number(step ?? 1) === 0;
    });
  const wall = (t: number) => {
    const p = Object.fromEntries(f.formatToParts(new Date(t)).map((x) => [x.type, x.value]));
    return {
      key: Date.UTC(+p.year!, +p.month! - 1, +p.day!, +p.hour!, +p.minute!),
      mi: +p.minute!,
      h: +p.hour!,
      d: +p.day!,
      mo: +p.month!,
      wd: WD.indexOf(p.weekday!),
    };
  };
  const matches = (w: { mi: number; h: number; d: number; mo: number; wd: number }) =>
    fieldOk(mi!, w.mi) &&
    fieldOk(h!, w.h) &&
    fieldOk(mon!, w.mo) &&
    (dom === '*' || fieldOk(dom!, w.d)) &&
    (dow === '*' || fieldOk(dow!, w.wd));
  // The walk starts three hours early: a repeated hour's first occurrence may lie before `from`.
  const start = Math.floor(from / 60_000) * 60_000 - 3 * 3_600_000;
  let previous = wall(start);
  let seen = previous.key;
  for (let i = 1; i <= horizonMinutes + 180; i++) {
    const t = start + i * 60_000;
    const w = wall(t);
    let fire = false;
    if (w.key > previous.key + 60_000) {
      // The wall clock jumped: any matching wall time inside the jump fires now.
      for (let k = previous.key + 60_000; k < w.key && !fire; k += 60_000) {
        const d = new Date(k);
        fire = matches({ mi: d.getUTCMinutes(), h: d.getUTCHours(), d: d.getUTCDate(), mo: d.getUTCMonth() + 1, wd: d.getUTCDay() });
      }
    }
    if (w.key > seen && matches(w)) fire = true;
    seen = Math.max(seen, w.key);
    previous = w;
    if (fire && t > from) return t;
  }
  return null;
}

describe('cron next fire (operation engine triggers)', () => {
  it('spring forward: a skipped local time fires at the first instant after the gap, once (Berlin)', () => {
    expect(fires('30 2 * * *', 'Europe/Berlin', '2026-03-28T00:00:00Z', 3)).to.deep.equal([
      '2026-03-28T01:30:00.000Z',
      '2026-03-29T01:00:00.000Z', // 02:30 does not exist: 03:00 CEST
      '2026-03-30T00:30:00.000Z',
    ]);
    // Four skipped times (02:00-02:45) fire once, at 03:00.
    expect(fires('*/15 2 * * *', 'Europe/Berlin', '2026-03-28T23:00:00Z', 2)).to.deep.equal([
      '2026-03-29T01:00:00.000Z',
      '2026-03-30T00:00:00.000Z',
    ]);
  });

  it('fall back: a repeated local time fires once, at its first occurrence (Berlin, New York)', () => {
    expect(fires('*/15 2 * * *', 'Europe/Berlin', '2026-10-24T23:00:00Z', 5)).to.deep.equal([
      '2026-10-25T00:00:00.000Z',
      '2026-10-25T00:15:00.000Z',
      '2026-10-25T00:30:00.000Z',
      '2026-10-25T00:45:00.000Z',
      '2026-10-26T01:00:00.000Z', // not 01:00Z on the 25th: 02:00 CET is 02:00 again
    ]);
    expect(fires('30 1 * * *', 'America/New_York', '2026-11-01T00:00:00Z', 2)).to.deep.equal([
      '2026-11-01T05:30:00.000Z',
      '2026-11-02T06:30:00.000Z',
    ]);
    expect(fires('30 2 * * *', 'America/New_York', '2026-03-07T12:00:00Z', 2)).to.deep.equal([
      '2026-03-08T07:00:00.000Z',
      '2026-03-09T06:30:00.000Z',
    ]);
  });

  it('leap days, weekdays, names, and a pattern that never fires', () => {
    expect(fires('0 0 29 2 *', 'UTC', '2026-01-01T00:00:00Z', 2)).to.deep.equal(['2028-02-29T00:00:00.000Z', '2032-02-29T00:00:00.000Z']);
    expect(fires('0 9 * * MON-FRI', 'America/New_York', '2026-03-06T00:00:00Z', 3)).to.deep.equal([
      '2026-03-06T14:00:00.000Z',
      '2026-03-09T13:00:00.000Z',
      '2026-03-10T13:00:00.000Z',
    ]);
    // Both day fields restricted: either matches (Vixie cron).
    expect(fires('0 12 1 * SUN', 'UTC', '2026-02-26T00:00:00Z', 2)).to.deep.equal(['2026-03-01T12:00:00.000Z', '2026-03-08T12:00:00.000Z']);
    expect(fires('0 0 31 2 *', 'UTC', '2026-01-01T00:00:00Z', 1)).to.deep.equal([null]);
  });

  it('refuses a bad pattern with BWK_ERR_TRIGGER_INVALID naming the field and the column', () => {
    const cases: Array<[string, RegExp]> = [
      ['* * * *', /expected 5 fields.*got 4/],
      ['61 * * * *', /column 1: minute: 61 is outside 0-59/],
      ['*/0 * * * *', /column 3: minute: step "0"/],
      ['0 5-1 * * *', /column 3: hour: range 5-1 runs backwards/],
      ['0 0 * FOO *', /column 7: month: "FOO" is not a number or a name/],
      ['0 0 1,,2 * *', /column 7: day of month: an empty list item/],
    ];
    for (const [pattern, message] of cases) {
      let caught: { code?: string; message?: string } | undefined;
      try {
        parseCron(pattern);
      } catch (err) {
        caught = err as { code?: string; message?: string };
      }
      expect(caught?.code, pattern).to.equal('BWK_ERR_TRIGGER_INVALID');
      expect(caught?.message, pattern).to.match(message);
    }
  });

  it('agrees with a minute-by-minute oracle around DST changes in two time zones', () => {
    const zones = ['Europe/Berlin', 'America/New_York'];
    // Instants within two days of a DST change in either zone, and plain days.
    const anchors = [
      '2026-03-29T01:00:00Z',
      '2026-10-25T01:00:00Z',
      '2026-03-08T07:00:00Z',
      '2026-11-01T06:00:00Z',
      '2026-06-15T12:00:00Z',
    ].map(Date.parse);
    const minute = fc.oneof(
      fc.constant('*'),
      fc.integer({ min: 0, max: 59 }).map(String),
      fc.integer({ min: 2, max: 30 }).map((s) => `*/${s}`),
    );
    const hour = fc.oneof(
      fc.constant('*'),
      fc.integer({ min: 0, max: 23 }).map(String),
      fc.constant('1-3'),
      fc.constant('2'),
      fc.integer({ min: 2, max: 8 }).map((s) => `*/${s}`),
    );
    fc.assert(
      fc.property(
        minute,
        hour,
        fc.oneof(fc.constant('*'), fc.integer({ min: 0, max: 6 }).map(String), fc.constant('1-5')),
        fc.constantFrom(...zones),
        fc.constantFrom(...anchors),
        fc.integer({ min: -36 * 60, max: 36 * 60 }),
        (mi, h, dow, zone, anchor, shiftMinutes) => {
          const pattern = `${mi} ${h} * * ${dow}`;
          const from = anchor + shiftMinutes * 60_000 + 17_000;
          const expected = oracle(pattern, zone, from, 8 * 24 * 60);
          expect(iso(nextCronFire(parseCron(pattern), zone, from)), `${pattern} in ${zone} after ${iso(from)}`).to.equal(iso(expected));
        },
      ),
      { numRuns: 200 },
    );
  });
});
