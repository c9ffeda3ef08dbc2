/**
 * Which checkpoints a retention_protect may delete, decided as a pure function of the plan's
 * checkpoints (docs/scheduling.md "Retention"). Where Karbor's retention was wrong, this is right:
 * only checkpoints this scheduled operation made are judged (manual ones never go); nothing goes
 * unless its newest checkpoint is available; the newest available one never goes; a checkpoint a
 * restore or verification holds is skipped for next time, not failed; every deletion names its rule.
 */
import { bwkError } from '../core/errors.js';
import { localOf } from './zoned-time.js';

export interface RetentionCheckpoint {
  id: string;
  status: string;
  /** ISO 8601. */
  created_at: string;
  /** The scheduled operation that made it, if one did (extra_info.scheduled_operation_id). */
  scheduled_operation_id?: string | null;
  /** A restore or verification reads it now. */
  held?: boolean;
}

/** Grandfather-father-son: how many of each period's newest checkpoints to keep. */
export interface KeepRules {
  last?: number;
  hourly?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
  yearly?: number;
}

export interface RetentionPolicy {
  max_backups?: number;
  /** Days. */
  retention_duration?: number;
  keep?: KeepRules;
}

export type RetentionRule = 'max_backups' | 'retention_duration' | 'keep' | 'superseded_failure';

export interface RetentionDecision {
  delete: Array<{ id: string; rule: RetentionRule }>;
  /** Would go, but a restore or verification holds it: tried again next time. */
  held: string[];
  /** Why nothing was judged, when nothing was. */
  reason?: string;
}

const PERIODS = ['hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;

/** Refuses a policy that keeps nothing, mixes GFS with count/age rules, or uses other than whole numbers. */
export function checkRetentionPolicy(p: RetentionPolicy): void {
  const bad = (reason: string): Error => bwkError('BWK_ERR_INVALID_INPUT', { reason: `retention: ${reason}` });
  const whole = (name: string, v: number | undefined, min: number): void => {
    if (v !== undefined && (!Number.isInteger(v) || v < min)) throw bad(`${name} must be a whole number of at least ${min}`);
  };
  whole('max_backups', p.max_backups, 1);
  whole('retention_duration', p.retention_duration, 1);
  if (p.keep) {
    if (p.max_backups !== undefined || p.retention_duration !== undefined) {
      throw bad('keep (grandfather-father-son) decides alone: leave out max_backups and retention_duration');
    }
    for (const k of ['last', ...PERIODS] as const) whole(`keep.${k}`, p.keep[k], 0);
    if (!Object.values(p.keep).some((v) => (v ?? 0) > 0)) throw bad('keep keeps nothing: give at least one count above 0');
  } else if (p.max_backups === undefined && p.retention_duration === undefined) {
    throw bad('give max_backups, retention_duration or keep');
  }
}

/** The period key of `t` in `zone` (ISO weeks, Monday first). */
function periodOf(period: (typeof PERIODS)[number], t: number, zone: string): string {
  const l = localOf(t, zone);
  switch (period) {
    case 'hourly':
      return `${l.year}-${l.month}-${l.day}T${l.hour}`;
    case 'daily':
      return `${l.year}-${l.month}-${l.day}`;
    case 'monthly':
      return `${l.year}-${l.month}`;
    case 'yearly':
      return `${l.year}`;
    case 'weekly': {
      // ISO 8601 week: the week (Monday first) that holds the Thursday of this one.
      const day = new Date(Date.UTC(l.year, l.month - 1, l.day));
      const weekday = (day.getUTCDay() + 6) % 7;
      day.setUTCDate(day.getUTCDate() - weekday + 3);
      const jan4 = new Date(Date.UTC(day.getUTCFullYear(), 0, 4));
      const week = 1 + Math.round(((day.getTime() - jan4.getTime()) / 86_400_000 - 3 + ((jan4.getUTCDay() + 6) % 7)) / 7);
      return `${day.getUTCFullYear()}-W${week}`;
    }
  }
}

/** Decides what `scheduledOperationId`'s retention deletes among `checkpoints` (one plan's) at `now`. */
export function decideRetention(
  checkpoints: readonly RetentionCheckpoint[],
  scheduledOperationId: string,
  policy: RetentionPolicy,
  now: number,
  zone = 'UTC',
): RetentionDecision {
  checkRetentionPolicy(policy);
  const mine = checkpoints
    .filter((c) => c.scheduled_operation_id === scheduledOperationId)
    .map((c) => ({ ...c, at: Date.parse(c.created_at) }))
    .sort((a, b) => b.at - a.at || (a.id < b.id ? 1 : -1)); // newest first
  const newest = mine[0];
  if (!newest) return { delete: [], held: [], reason: 'no checkpoint of this scheduled operation' };
  if (newest.status !== 'available')
    return { delete: [], held: [], reason: `its newest checkpoint ${newest.id} is ${newest.status}, not available` };
  const available = mine.filter((c) => c.status === 'available');
  const doomed = new Map<string, RetentionRule>();
  if (policy.keep) {
    const kept = new Set<string>([newest.id]);
    available.slice(0, policy.keep.last ?? 0).forEach((c) => kept.add(c.id));
    for (const period of PERIODS) {
      const want = policy.keep[period] ?? 0;
      const seen = new Set<string>();
      for (const c of available) {
        if (seen.size >= want) break;
        const key = periodOf(period, c.at, zone);
        if (seen.has(key)) continue;
        seen.add(key); // the newest checkpoint of each period stands for it
        kept.add(c.id);
      }
    }
    for (const c of available) if (!kept.has(c.id)) doomed.set(c.id, 'keep');
  } else {
    available.forEach((c, i) => {
      if (i === 0) return; // the newest available one never goes
      if (policy.max_backups !== undefined && i >= policy.max_backups) doomed.set(c.id, 'max_backups');
      else if (policy.retention_duration !== undefined && now - c.at > policy.retention_duration * 86_400_000)
        doomed.set(c.id, 'retention_duration');
    });
  }
  // A failed attempt older than the newest available checkpoint holds nothing anyone can restore.
  for (const c of mine) if (c.status === 'error' && c.at < newest.at) doomed.set(c.id, 'superseded_failure');
  const decision: RetentionDecision = { delete: [], held: [] };
  for (const c of mine) {
    const rule = doomed.get(c.id);
    if (!rule) continue;
    if (c.held) decision.held.push(c.id);
    else decision.delete.push({ id: c.id, rule });
  }
  return decision;
}
