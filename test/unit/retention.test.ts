import { expect } from 'chai';
import { decideRetention, type RetentionCheckpoint, type RetentionPolicy } from '../../src/operation-engine/retention.js';

const SO = 'so-1';
const NOW = Date.parse('2027-01-10T12:00:00Z');

/** A checkpoint of scheduled operation SO (unless `by` says otherwise) made at `at`. */
const cp = (id: string, at: string, status = 'available', extra: Partial<RetentionCheckpoint> = {}): RetentionCheckpoint => ({
  id,
  status,
  created_at: at,
  scheduled_operation_id: SO,
  ...extra,
});
const daily = (n: number, from = '2027-01-01'): RetentionCheckpoint[] =>
  Array.from({ length: n }, (_, i) => cp(`d${i + 1}`, new Date(Date.parse(`${from}T03:00:00Z`) + i * 86_400_000).toISOString()));

interface Case {
  name: string;
  checkpoints: RetentionCheckpoint[];
  policy: RetentionPolicy;
  deleted: Array<[string, string]>;
  held?: string[];
  zone?: string;
  reason?: RegExp;
}

const CASES: Case[] = [
  {
    name: 'max_backups keeps the newest N',
    checkpoints: daily(5),
    policy: { max_backups: 3 },
    deleted: [
      ['d2', 'max_backups'],
      ['d1', 'max_backups'],
    ],
  },
  {
    name: 'retention_duration deletes what is older than D days, never the newest available',
    checkpoints: daily(5),
    policy: { retention_duration: 7 }, // now is 10 January 12:00: 3 January 03:00 is more than 7 days before
    deleted: [
      ['d3', 'retention_duration'],
      ['d2', 'retention_duration'],
      ['d1', 'retention_duration'],
    ],
  },
  {
    name: 'both: a checkpoint goes when either rule says so',
    checkpoints: daily(6),
    policy: { max_backups: 4, retention_duration: 8 },
    deleted: [
      ['d2', 'max_backups'],
      ['d1', 'max_backups'],
    ],
  },
  {
    name: 'the newest available one never goes, however old',
    checkpoints: [cp('old', '2026-01-01T00:00:00Z')],
    policy: { retention_duration: 1 },
    deleted: [],
  },
  {
    name: 'a failed newest checkpoint: nothing older may go',
    checkpoints: [...daily(5), cp('failed', '2027-01-09T03:00:00Z', 'error')],
    policy: { max_backups: 1 },
    deleted: [],
    reason: /newest checkpoint failed is error/,
  },
  {
    name: 'a newest checkpoint still protecting: nothing goes yet',
    checkpoints: [...daily(3), cp('running', '2027-01-09T03:00:00Z', 'protecting')],
    policy: { max_backups: 1 },
    deleted: [],
    reason: /protecting, not available/,
  },
  {
    name: 'manual checkpoints of the same plan are never judged, nor counted',
    checkpoints: [
      ...daily(3),
      cp('manual-old', '2026-12-01T00:00:00Z', 'available', { scheduled_operation_id: null }),
      cp('other-so', '2026-12-02T00:00:00Z', 'available', { scheduled_operation_id: 'so-2' }),
    ],
    policy: { max_backups: 2 },
    deleted: [['d1', 'max_backups']],
  },
  {
    name: 'a checkpoint held by a restore is skipped for next time, not failed',
    checkpoints: [cp('d1', '2027-01-01T03:00:00Z', 'available', { held: true }), ...daily(4).slice(1)],
    policy: { max_backups: 2 },
    deleted: [['d2', 'max_backups']],
    held: ['d1'],
  },
  {
    name: 'failed attempts older than the newest available one go; they do not count against max_backups',
    checkpoints: [...daily(3), cp('e1', '2027-01-02T04:00:00Z', 'error')],
    policy: { max_backups: 3 },
    deleted: [['e1', 'superseded_failure']],
  },
  {
    name: 'GFS: the newest of each of the last N days, weeks and months (UTC)',
    checkpoints: [
      cp('2026-11-30', '2026-11-30T22:00:00Z'),
      cp('2026-12-30a', '2026-12-30T01:00:00Z'),
      cp('2026-12-31', '2026-12-31T23:30:00Z'),
      cp('2027-01-01', '2027-01-01T00:30:00Z'),
      cp('2027-01-04a', '2027-01-04T01:00:00Z'),
      cp('2027-01-04b', '2027-01-04T20:00:00Z'),
      cp('2027-01-05', '2027-01-05T10:00:00Z'),
    ],
    policy: { keep: { daily: 2, weekly: 2, monthly: 3 } },
    // daily: 01-05, 01-04b; weekly: W1 2027 (01-05), W53 2026 (01-01, a Friday of ISO week 53);
    // monthly: January (01-05), December (12-31), November (11-30)
    deleted: [
      ['2027-01-04a', 'keep'],
      ['2026-12-30a', 'keep'],
    ],
  },
  {
    name: 'GFS: the year boundary in the operation time zone, not UTC (New York)',
    checkpoints: [cp('ny-dec31', '2027-01-01T03:00:00Z'), cp('ny-jan1', '2027-01-01T06:00:00Z'), cp('ny-dec30', '2026-12-30T12:00:00Z')],
    policy: { keep: { yearly: 2 } },
    zone: 'America/New_York',
    // 2027-01-01T03:00Z is 22:00 on 31 December in New York: the newest of 2026 there.
    deleted: [['ny-dec30', 'keep']],
  },
  {
    name: 'GFS: keep.last keeps the newest N whatever their periods',
    checkpoints: daily(5),
    policy: { keep: { last: 2, monthly: 1 } },
    deleted: [
      ['d3', 'keep'],
      ['d2', 'keep'],
      ['d1', 'keep'],
    ],
  },
];

describe('retention (retention_protect): what a scheduled operation may delete', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const d = decideRetention(c.checkpoints, SO, c.policy, NOW, c.zone);
      expect(d.delete.map((x) => [x.id, x.rule])).to.deep.equal(c.deleted);
      expect(d.held).to.deep.equal(c.held ?? []);
      if (c.reason) expect(d.reason).to.match(c.reason);
    });
  }

  it('refuses a policy that keeps nothing or mixes GFS with count and age', () => {
    for (const p of [
      {},
      { max_backups: 0 },
      { keep: {} },
      { keep: { daily: 0 } },
      { keep: { daily: 3 }, max_backups: 2 },
      { retention_duration: 1.5 },
    ] as RetentionPolicy[]) {
      expect(() => decideRetention(daily(2), SO, p, NOW), JSON.stringify(p)).to.throw(/retention:/);
    }
  });
});
