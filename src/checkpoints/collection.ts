import { bwkError, isBulwarkError } from '../core/errors.js';
import { sortableTimestamp } from '../common/ids.js';
import type { BankPlugin } from '../bank/port.js';
import {
  byDatePrefix,
  byPlanPrefix,
  byProjectPrefix,
  byProviderPrefix,
  checkpointIndexKey,
  checkpointIndexKeys,
  checkpointPrefix,
  indexEntryName,
  parseIndexEntry,
} from '../bank/layout.js';
import type { CheckpointRecord, CheckpointStatus } from './model.js';
import { assertTransition } from './model.js';

export interface CheckpointQuery {
  /** null: every project (admin). */
  projectId: string | null;
  planId?: string;
  providerId?: string;
  status?: CheckpointStatus;
  /** Inclusive bounds on created_at. */
  since?: Date;
  until?: Date;
  limit?: number;
  /** Id of the last checkpoint of the previous page. */
  marker?: string;
  /** Default `desc`: newest first. */
  sort?: 'asc' | 'desc';
}

/**
 * Checkpoints in a bank: records at `checkpoints/<id>/index.json` plus index entries that let a
 * listing by plan, project, provider or date read only the entries it returns (never a scan of all
 * checkpoints — Karbor's banks got descending pagination wrong; this is tested in both orders).
 */
export class CheckpointCollection {
  constructor(readonly bank: BankPlugin) {}

  /** Writes a new record and its index entries (record first: an entry never points at nothing). */
  async create(record: CheckpointRecord): Promise<void> {
    await this.bank.putObject(checkpointIndexKey(record.id), JSON.stringify(record));
    await this.writeIndexes(record);
  }

  /** Index entries are idempotent; recovery rewrites them for a record whose creator died mid-way. */
  async writeIndexes(record: CheckpointRecord): Promise<void> {
    await Promise.all(checkpointIndexKeys({ ...record, plan_id: record.protection_plan.id }).map((k) => this.bank.putObject(k, record.id)));
  }

  /** The record, or null when it does not exist or belongs to another project (projectId null: any). */
  async get(id: string, projectId: string | null): Promise<CheckpointRecord | null> {
    let raw: Buffer;
    try {
      raw = await this.bank.getObject(checkpointIndexKey(id));
    } catch (err) {
      if (isBulwarkError(err, 'BWK_ERR_BANK_OBJECT_NOT_FOUND')) return null;
      throw err;
    }
    const record = JSON.parse(raw.toString('utf8')) as CheckpointRecord;
    if (projectId !== null && record.project_id !== projectId) return null;
    return record;
  }

  async mustGet(id: string, projectId: string | null): Promise<CheckpointRecord> {
    const record = await this.get(id, projectId);
    if (!record) throw bwkError('BWK_ERR_CHECKPOINT_NOT_FOUND', { id });
    return record;
  }

  /**
   * Applies `change` to the stored record. A status change must be a legal transition. Callers hold
   * the checkpoint's operation lease, so there is one writer at a time.
   */
  async update(id: string, change: (r: CheckpointRecord) => Partial<CheckpointRecord>, action = 'update'): Promise<CheckpointRecord> {
    const current = await this.mustGet(id, null);
    const patch = change(current);
    if (patch.status !== undefined && patch.status !== current.status) assertTransition(id, current.status, patch.status, action);
    const next: CheckpointRecord = {
      ...current,
      ...patch,
      extra_info: { ...current.extra_info, ...(patch.extra_info ?? {}) },
      updated_at: new Date().toISOString(),
    };
    await this.bank.putObject(checkpointIndexKey(id), JSON.stringify(next));
    return next;
  }

  /**
   * Sets the status whatever it was, bypassing the state machine (an admin's os-resetState), and
   * records the reset in extra_info.reset_state. The caller holds a lease naming the checkpoint.
   */
  async resetStatus(id: string, status: 'available' | 'error', reset: Record<string, unknown>): Promise<CheckpointRecord> {
    const current = await this.mustGet(id, null);
    const next: CheckpointRecord = {
      ...current,
      status,
      extra_info: { ...current.extra_info, reset_state: { ...reset, to: status } },
      updated_at: new Date().toISOString(),
    };
    await this.bank.putObject(checkpointIndexKey(id), JSON.stringify(next));
    return next;
  }

  /** Removes index entries first (so listings stop showing it), then the data, the record last. */
  async remove(record: CheckpointRecord): Promise<void> {
    await Promise.all(checkpointIndexKeys({ ...record, plan_id: record.protection_plan.id }).map((k) => this.bank.deleteObject(k)));
    const keys = await this.bank.listObjects(checkpointPrefix(record.id));
    const indexKey = checkpointIndexKey(record.id);
    for (const key of keys) if (key !== indexKey) await this.bank.deleteObject(key);
    await this.bank.deleteObject(indexKey);
  }

  async list(q: CheckpointQuery): Promise<CheckpointRecord[]> {
    const sort = q.sort ?? 'desc';
    const limit = q.limit ?? Infinity;
    if (!(limit > 0)) return [];
    const prefix = this.indexPrefix(q);
    const byDate = prefix === byDatePrefix();
    const entryKey = (createdAt: Date, id: string): string =>
      `${prefix}${byDate ? `${createdAt.toISOString().slice(0, 10)}/` : ''}${indexEntryName(createdAt, id)}`;

    let cursor: string | undefined;
    if (q.marker !== undefined) {
      const m = await this.get(q.marker, q.projectId);
      if (!m) throw bwkError('BWK_ERR_INVALID_INPUT', { reason: `marker ${q.marker} is not a checkpoint you can see` });
      cursor = entryKey(new Date(m.created_at), m.id);
    }
    // Time bounds become a starting cursor when they are tighter than the marker: no entry before them is read.
    const sinceTs = q.since ? sortableTimestamp(q.since) : undefined;
    const untilTs = q.until ? sortableTimestamp(q.until) : undefined;
    if (!byDate) {
      const bound = sort === 'asc' ? (sinceTs ? `${prefix}${sinceTs}` : undefined) : untilTs ? `${prefix}${untilTs}~` : undefined;
      if (bound !== undefined && (cursor === undefined || (sort === 'asc' ? bound > cursor : bound < cursor))) cursor = bound;
    }

    const out: CheckpointRecord[] = [];
    const page = Math.min(Math.max(Number.isFinite(limit) ? limit : 200, 20), 1000);
    for (;;) {
      const keys = await this.bank.listObjects(prefix, { sort, limit: page, ...(cursor !== undefined ? { marker: cursor } : {}) });
      for (const key of keys) {
        cursor = key;
        const entry = parseIndexEntry(key);
        if (!entry) continue;
        if (sinceTs && entry.ts < sinceTs) {
          if (sort === 'desc') return out;
          continue;
        }
        if (untilTs && entry.ts > untilTs) {
          if (sort === 'asc') return out;
          continue;
        }
        const record = await this.get(entry.id, q.projectId);
        if (!record || !matches(record, q)) continue;
        out.push(record);
        if (out.length >= limit) return out;
      }
      if (keys.length < page) return out;
    }
  }

  /** The narrowest index for a query; the project filter is in the key for all but by-date. */
  private indexPrefix(q: CheckpointQuery): string {
    if (q.planId !== undefined) return byPlanPrefix(q.planId);
    if (q.providerId !== undefined && q.projectId !== null) return byProviderPrefix(q.providerId, q.projectId);
    if (q.projectId !== null) return byProjectPrefix(q.projectId);
    return byDatePrefix();
  }
}

function matches(r: CheckpointRecord, q: CheckpointQuery): boolean {
  if (q.status !== undefined && r.status !== q.status) return false;
  if (q.providerId !== undefined && r.provider_id !== q.providerId) return false;
  if (q.planId !== undefined && r.protection_plan.id !== q.planId) return false;
  return r.status !== 'deleted';
}
