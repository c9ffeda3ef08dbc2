/**
 * The operation engine's tables on any kysely dialect: triggers, scheduled operations and operation
 * logs, whose rows are also the engine's durable claims. Portable SQL only, as kysely-store.ts.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { bwkError } from '../core/errors.js';
import { nowIso } from '../common/ids.js';
import { pageLimit, type PageSizes } from '../common/page-size.js';
import { afterPosition, checkSort, type OrderColumn } from './kysely-paging.js';
import type { ListPosition, PageQuery } from './paging.js';
import type {
  ListLogsQuery,
  ListScheduledOperationsQuery,
  ListTriggersQuery,
  LogPatch,
  ScheduledOperationPatch,
  SchedulingStore,
  TriggerPatch,
} from './scheduling-port.js';
import {
  ACTIVE_PHASES,
  type OperationLogRecord,
  type OperationLogRow,
  type RunPhase,
  type ScheduledOperationRecord,
  type TriggerRecord,
} from './scheduling-records.js';

type Stored<R, J extends keyof R> = { [K in keyof R]: K extends J ? string : R[K] };

export interface SchedulingDatabase {
  triggers: Stored<TriggerRecord, 'properties'>;
  scheduled_operations: Stored<ScheduledOperationRecord, 'operation_definition'>;
  operation_logs: Stored<OperationLogRow, 'extra_info'>;
}
type Table = keyof SchedulingDatabase;

const JSON_COLUMN: Record<Table, string> = {
  triggers: 'properties',
  scheduled_operations: 'operation_definition',
  operation_logs: 'extra_info',
};
const KIND: Record<Table, string> = { triggers: 'trigger', scheduled_operations: 'scheduled operation', operation_logs: 'operation log' };

export class KyselySchedulingStore implements SchedulingStore {
  constructor(
    private readonly db: Kysely<SchedulingDatabase>,
    private readonly orderKey: (column: OrderColumn) => RawBuilder<string>,
    private readonly pageSizes: PageSizes,
  ) {}

  createTrigger(t: TriggerRecord): Promise<TriggerRecord> {
    return this.create('triggers', t);
  }
  getTrigger(projectId: string | null, id: string): Promise<TriggerRecord | null> {
    return this.get('triggers', projectId, id);
  }
  listTriggers(q: ListTriggersQuery): Promise<TriggerRecord[]> {
    return this.list('triggers', q, { name: q.name, type: q.type });
  }
  updateTrigger(projectId: string | null, id: string, patch: TriggerPatch): Promise<TriggerRecord | null> {
    return this.update('triggers', projectId, id, patch);
  }
  deleteTrigger(projectId: string | null, id: string): Promise<boolean> {
    return this.delete('triggers', projectId, id);
  }
  countTriggers(projectId: string): Promise<number> {
    return this.count('triggers', projectId);
  }

  createScheduledOperation(o: ScheduledOperationRecord): Promise<ScheduledOperationRecord> {
    return this.create('scheduled_operations', o);
  }
  getScheduledOperation(projectId: string | null, id: string): Promise<ScheduledOperationRecord | null> {
    return this.get('scheduled_operations', projectId, id);
  }
  listScheduledOperations(q: ListScheduledOperationsQuery): Promise<ScheduledOperationRecord[]> {
    return this.list('scheduled_operations', q, {
      name: q.name,
      operation_type: q.operationType,
      trigger_id: q.triggerId,
      plan_id: q.planId,
    });
  }
  updateScheduledOperation(projectId: string | null, id: string, patch: ScheduledOperationPatch): Promise<ScheduledOperationRecord | null> {
    return this.update('scheduled_operations', projectId, id, patch);
  }
  deleteScheduledOperation(projectId: string | null, id: string): Promise<boolean> {
    return this.delete('scheduled_operations', projectId, id);
  }
  countScheduledOperations(projectId: string): Promise<number> {
    return this.count('scheduled_operations', projectId);
  }

  async scheduledOperationsUsing(what: { triggerId?: string; planId?: string }, limit = 100): Promise<string[]> {
    const rows = await this.db
      .selectFrom('scheduled_operations')
      .select('id')
      .$if(what.triggerId !== undefined, (qb) => qb.where('trigger_id', '=', what.triggerId!))
      .$if(what.planId !== undefined, (qb) => qb.where('plan_id', '=', what.planId!))
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((r) => r.id);
  }

  async dueScheduledOperations(now: string, limit: number): Promise<ScheduledOperationRecord[]> {
    const rows = await this.db
      .selectFrom('scheduled_operations')
      .selectAll()
      .where('status', '=', 'enabled')
      .where('next_due_at', 'is not', null)
      .where('next_due_at', '<=', now)
      .orderBy('next_due_at')
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((r) => decode('scheduled_operations', r));
  }

  async eventScheduledOperations(): Promise<Array<ScheduledOperationRecord & { trigger: TriggerRecord }>> {
    const ops = await this.db
      .selectFrom('scheduled_operations')
      .innerJoin('triggers', 'triggers.id', 'scheduled_operations.trigger_id')
      .selectAll('scheduled_operations')
      .where('triggers.type', '=', 'event')
      .where('scheduled_operations.status', '=', 'enabled')
      .orderBy('scheduled_operations.id')
      .execute();
    const out: Array<ScheduledOperationRecord & { trigger: TriggerRecord }> = [];
    for (const row of ops) {
      const trigger = await this.get<TriggerRecord>('triggers', null, row.trigger_id);
      if (trigger) out.push({ ...(decode('scheduled_operations', row) as ScheduledOperationRecord), trigger });
    }
    return out;
  }

  async insertLog(row: OperationLogRow): Promise<boolean> {
    try {
      await this.db
        .insertInto('operation_logs')
        .values(encode('operation_logs', row) as never)
        .execute();
      return true;
    } catch (err) {
      // Checked after the fact, portably, rather than by parsing each driver's constraint error.
      const clash = await this.db
        .selectFrom('operation_logs')
        .select('id')
        .where((eb) =>
          row.fire_key === null || row.scheduled_operation_id === null
            ? eb('id', '=', row.id)
            : eb.or([
                eb('id', '=', row.id),
                eb.and([eb('scheduled_operation_id', '=', row.scheduled_operation_id), eb('fire_key', '=', row.fire_key)]),
              ]),
        )
        .executeTakeFirst();
      if (clash) return false;
      throw err;
    }
  }

  async getLog(projectId: string | null, id: string): Promise<OperationLogRecord | null> {
    const row = await this.get<OperationLogRow>('operation_logs', projectId, id);
    return row === null ? null : publicLog(row);
  }
  getLogRow(id: string): Promise<OperationLogRow | null> {
    return this.get('operation_logs', null, id);
  }

  async listLogs(q: ListLogsQuery): Promise<OperationLogRecord[]> {
    const rows = await this.list<OperationLogRow>('operation_logs', q, {
      status: q.status,
      scheduled_operation_id: q.scheduledOperationId,
      plan_id: q.planId,
    });
    return rows.map(publicLog);
  }

  async activeRuns(limit: number): Promise<OperationLogRow[]> {
    const rows = await this.db
      .selectFrom('operation_logs')
      .selectAll()
      .where('phase', 'in', ACTIVE_PHASES as RunPhase[])
      .orderBy('created_at')
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((r) => decode('operation_logs', r));
  }

  async advanceRun(id: string, from: RunPhase, patch: LogPatch, notAfter?: string): Promise<boolean> {
    const result = await this.db
      .updateTable('operation_logs')
      .set({ ...encodePatch('operation_logs', patch), updated_at: nowIso() })
      .where('id', '=', id)
      .where('phase', '=', from)
      .$if(notAfter !== undefined, (qb) => qb.where('updated_at', '<=', notAfter!))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async updateLog(id: string, patch: LogPatch): Promise<boolean> {
    const result = await this.db
      .updateTable('operation_logs')
      .set({ ...encodePatch('operation_logs', patch), updated_at: nowIso() })
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async planBusy(planId: string, operationTypes: readonly string[], exceptId?: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('operation_logs')
      .select('id')
      .where('plan_id', '=', planId)
      .where('operation_type', 'in', [...operationTypes])
      .where('phase', 'in', ['claimed', 'starting', 'started'])
      .$if(exceptId !== undefined, (qb) => qb.where('id', '!=', exceptId!))
      .executeTakeFirst();
    return row !== undefined;
  }

  async queuedCount(scheduledOperationId: string): Promise<number> {
    const row = await this.db
      .selectFrom('operation_logs')
      .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
      .where('scheduled_operation_id', '=', scheduledOperationId)
      .where('phase', '=', 'queued')
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async pruneLogs(before: string): Promise<number> {
    const result = await this.db
      .deleteFrom('operation_logs')
      .where('phase', '=', 'done')
      .where('created_at', '<', before)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  // Generic helpers: the table is a value, so rows are typed loosely and decoded by column.

  private async create<R extends { id: string }>(table: Table, record: R): Promise<R> {
    try {
      await this.db
        .insertInto(table)
        .values(encode(table, record) as never)
        .execute();
    } catch (err) {
      const exists = await this.db.selectFrom(table).select('id').where('id', '=', record.id).executeTakeFirst();
      if (exists)
        throw bwkError(
          'BWK_ERR_INVALID_INPUT',
          { reason: `${KIND[table]} id ${record.id} already exists: create it with a new id` },
          { cause: err },
        );
      throw err;
    }
    return decode(table, encode(table, record)) as R;
  }

  private async get<R>(table: Table, projectId: string | null, id: string): Promise<R | null> {
    const row = await this.db
      .selectFrom(table)
      .selectAll()
      .where('id', '=', id)
      .$if(projectId !== null, (qb) => qb.where('project_id', '=', projectId!))
      .executeTakeFirst();
    return row === undefined ? null : (decode(table, row) as R);
  }

  private async update<R>(table: Table, projectId: string | null, id: string, patch: object): Promise<R | null> {
    const row = await this.db
      .updateTable(table)
      .set({ ...encodePatch(table, patch), updated_at: nowIso() } as never)
      .where('id', '=', id)
      .$if(projectId !== null, (qb) => qb.where('project_id', '=', projectId!))
      .returningAll()
      .executeTakeFirst();
    return row === undefined ? null : (decode(table, row) as R);
  }

  private async delete(table: Table, projectId: string | null, id: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom(table)
      .where('id', '=', id)
      .$if(projectId !== null, (qb) => qb.where('project_id', '=', projectId!))
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  private async count(table: Table, projectId: string): Promise<number> {
    const row = await this.db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
      .where('project_id', '=', projectId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  private async list<R>(
    table: Table,
    q: PageQuery & { since?: string; until?: string },
    filters: Record<string, string | undefined>,
  ): Promise<R[]> {
    const sort = checkSort(q.sort);
    const limit = pageLimit(q.limit, this.pageSizes);
    if (q.marker !== undefined && q.after !== undefined)
      throw bwkError('BWK_ERR_INVALID_INPUT', { reason: 'give a marker or a position to list after, not both' });
    const after = q.after ?? (q.marker === undefined ? null : await this.markerPosition(table, q.projectId, q.marker));
    let query = this.db
      .selectFrom(table)
      .selectAll()
      .$if(q.projectId !== null, (qb) => qb.where('project_id', '=', q.projectId!));
    for (const [column, value] of Object.entries(filters)) {
      if (value !== undefined) query = query.where(sql.ref(column), '=', value);
    }
    if (q.since !== undefined) query = query.where('created_at', '>=', q.since);
    if (q.until !== undefined) query = query.where('created_at', '<', q.until);
    if (after !== null) query = query.where(afterPosition(after, sort, this.orderKey));
    const rows = await query.orderBy(this.orderKey('created_at'), sort).orderBy(this.orderKey('id'), sort).limit(limit).execute();
    return rows.map((r) => decode(table, r) as R);
  }

  private async markerPosition(table: Table, projectId: string | null, marker: string): Promise<ListPosition> {
    const row = await this.db
      .selectFrom(table)
      .select(['created_at', 'id'])
      .where('id', '=', marker)
      .$if(projectId !== null, (qb) => qb.where('project_id', '=', projectId!))
      .executeTakeFirst();
    if (row === undefined)
      throw bwkError('BWK_ERR_INVALID_INPUT', {
        reason: `marker ${marker} not found among the ${KIND[table]}s you can list: pass the id of the last one of the previous page`,
      });
    return row;
  }
}

const PATCHABLE: Record<Table, readonly string[]> = {
  triggers: ['name', 'properties'],
  scheduled_operations: ['name', 'description', 'status', 'overlap', 'next_due_at'],
  operation_logs: [
    'status',
    'phase',
    'error_info',
    'started_at',
    'ended_at',
    'extra_info',
    'checkpoint_id',
    'verification_id',
    'provider_id',
  ],
};

function encode(table: Table, record: object): Record<string, unknown> {
  const json = JSON_COLUMN[table];
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, k === json ? JSON.stringify(v) : (v ?? null)]));
}

function encodePatch(table: Table, patch: object): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [c, v] of Object.entries(patch)) {
    if (v === undefined) continue;
    if (!PATCHABLE[table].includes(c))
      throw bwkError('BWK_ERR_INVALID_INPUT', {
        reason: `${KIND[table]} field "${c}" cannot be updated (updatable: ${PATCHABLE[table].join(', ')})`,
      });
    values[c] = c === JSON_COLUMN[table] ? JSON.stringify(v) : v;
  }
  return values;
}

function decode(table: Table, row: object): never {
  const json = JSON_COLUMN[table];
  const r = { ...(row as Record<string, unknown>) };
  try {
    r[json] = JSON.parse(r[json] as string);
  } catch (err) {
    throw bwkError('BWK_ERR_DATA_CORRUPT', {
      resource: `catalog ${table}.${json} of ${String(r.id)}`,
      reason: `not valid JSON (${(err as Error).message})`,
    });
  }
  return r as never;
}

/** A log as callers see it: without the engine's claim key and phase. */
function publicLog(row: OperationLogRow): OperationLogRecord {
  const { fire_key: _key, phase: _phase, ...log } = row;
  return log;
}
