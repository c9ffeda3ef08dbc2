import { expect } from 'chai';
import { dueSince, fireOperationId, uuidV5 } from '../../src/operation-engine/due-times.js';
import { timeSchedule } from '../../src/operation-engine/time-trigger.js';

const LIMITS = { minIntervalMs: 60_000, windowMinSeconds: 60, windowMaxSeconds: 86_400 };
const at = (s: string): number => Date.parse(s);

describe('scheduler ticks: fire ids and due times (an injected clock)', () => {
  it('uuidV5 is RFC 4122 version 5 (the DNS namespace test vector)', () => {
    expect(uuidV5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'www.example.com')).to.equal('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });

  it('a fire has one operation id wherever it is computed, and another due time has another', () => {
    const due = at('2027-01-01T03:00:00Z');
    const id = fireOperationId('so-1', due);
    expect(id).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(fireOperationId('so-1', due)).to.equal(id);
    expect(fireOperationId('so-1', due + 60_000)).not.to.equal(id);
    expect(fireOperationId('so-2', due)).not.to.equal(id);
  });

  it('after a downtime: due times still inside their window fire, older ones are dropped, none is lost', () => {
    const s = timeSchedule({ format: 'crontab', pattern: '*/10 * * * *', window: 900 }, LIMITS, at('2027-01-01T00:00:00Z'));
    // Down from 00:05 to 01:02: 00:10 ... 01:00 were due.
    const ticks = dueSince(s, at('2027-01-01T00:05:00Z'), at('2027-01-01T01:02:00Z'));
    expect(ticks.map((t) => [new Date(t.due).toISOString().slice(11, 16), t.outcome])).to.deep.equal([
      ['00:10', 'dropped_out_of_window'],
      ['00:20', 'dropped_out_of_window'],
      ['00:30', 'dropped_out_of_window'],
      ['00:40', 'dropped_out_of_window'],
      ['00:50', 'fire'], // 12 minutes ago, window 15
      ['01:00', 'fire'],
    ]);
    expect(dueSince(s, at('2027-01-01T01:00:00Z'), at('2027-01-01T01:02:00Z'))).to.deep.equal([]);
  });

  it('catches up a long downtime in bounded steps, continuing from the last one', () => {
    const s = timeSchedule({ format: 'crontab', pattern: '* * * * *', window: 60 }, LIMITS, at('2027-01-01T00:00:00Z'));
    const now = at('2027-01-02T00:00:00Z');
    let since = at('2027-01-01T00:00:00Z');
    let total = 0;
    for (;;) {
      const batch = dueSince(s, since, now, 500);
      if (batch.length === 0) break;
      total += batch.length;
      since = batch[batch.length - 1]!.due;
    }
    expect(total).to.equal(24 * 60);
  });
});
