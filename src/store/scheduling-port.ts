/** The catalog port of the operation engine's tables: triggers, scheduled operations, operation logs. */
import type { PageQuery } from './paging.js';
import type {
  OperationLogRecord,
  OperationLogRow,
  OperationLogStatus,
  RunPhase,
  ScheduledOperationRecord,
  TriggerRecord,
} from './scheduling-records.js';

export interface ListTriggersQuery extends PageQuery {
  name?: string;
  type?: string;
}
export interface ListScheduledOperationsQuery extends PageQuery {
  name?: string;
  operationType?: string;
  triggerId?: string;
  planId?: string;
}
export interface ListLogsQuery extends PageQuery {
  status?: OperationLogStatus;
  scheduledOperationId?: string;
  planId?: string;
  /** ISO 8601: only logs created at or after / before this. */
  since?: string;
  until?: string;
}

export type TriggerPatch = Partial<Pick<TriggerRecord, 'name' | 'properties'>>;
export type ScheduledOperationPatch = Partial<
  Pick<ScheduledOperationRecord, 'name' | 'description' | 'status' | 'overlap' | 'next_due_at'>
>;
export type LogPatch = Partial<
  Pick<
    OperationLogRow,
    'status' | 'phase' | 'error_info' | 'started_at' | 'ended_at' | 'extra_info' | 'checkpoint_id' | 'verification_id' | 'provider_id'
  >
>;

export interface SchedulingStore {
  createTrigger(t: TriggerRecord): Promise<TriggerRecord>;
  getTrigger(projectId: string | null, id: string): Promise<TriggerRecord | null>;
  listTriggers(q: ListTriggersQuery): Promise<TriggerRecord[]>;
  updateTrigger(projectId: string | null, id: string, patch: TriggerPatch): Promise<TriggerRecord | null>;
  deleteTrigger(projectId: string | null, id: string): Promise<boolean>;
  countTriggers(projectId: string): Promise<number>;

  createScheduledOperation(o: ScheduledOperationRecord): Promise<ScheduledOperationRecord>;
  getScheduledOperation(projectId: string | null, id: string): Promise<ScheduledOperationRecord | null>;
  listScheduledOperations(q: ListScheduledOperationsQuery): Promise<ScheduledOperationRecord[]>;
  updateScheduledOperation(projectId: string | null, id: string, patch: ScheduledOperationPatch): Promise<ScheduledOperationRecord | null>;
  deleteScheduledOperation(projectId: string | null, id: string): Promise<boolean>;
  countScheduledOperations(projectId: string): Promise<number>;
  /** Ids of the scheduled operations (any project) that use the trigger or the plan (at most `limit`, default 100). */
  scheduledOperationsUsing(what: { triggerId?: string; planId?: string }, limit?: number): Promise<string[]>;
  /** Enabled scheduled operations whose next due time is at or before `now`, oldest due first. */
  dueScheduledOperations(now: string, limit: number): Promise<ScheduledOperationRecord[]>;
  /** Enabled scheduled operations whose trigger is an event trigger. */
  eventScheduledOperations(): Promise<Array<ScheduledOperationRecord & { trigger: TriggerRecord }>>;

  /**
   * Stores a log row; false, changing nothing, when its id or its (scheduled operation, fire key)
   * already exists — that is the claim: of several instances inserting one fire, one gets true.
   */
  insertLog(row: OperationLogRow): Promise<boolean>;
  getLog(projectId: string | null, id: string): Promise<OperationLogRecord | null>;
  getLogRow(id: string): Promise<OperationLogRow | null>;
  listLogs(q: ListLogsQuery): Promise<OperationLogRecord[]>;
  /** Rows a run is still going for (phase not done), oldest first. */
  activeRuns(limit: number): Promise<OperationLogRow[]>;
  /** Applies `patch` if the row is in `from` (and, with `notAfter`, was last updated then or before); true when it was. */
  advanceRun(id: string, from: RunPhase, patch: LogPatch, notAfter?: string): Promise<boolean>;
  /** Applies `patch` to the row whatever its phase; false when it does not exist. */
  updateLog(id: string, patch: LogPatch): Promise<boolean>;
  /** Whether a run of the plan is under way (claimed, starting or started), other than `exceptId`. */
  planBusy(planId: string, operationTypes: readonly string[], exceptId?: string): Promise<boolean>;
  /** How many fires of the scheduled operation wait in the queue. */
  queuedCount(scheduledOperationId: string): Promise<number>;
  /** Deletes finished logs created before `before`; how many. */
  pruneLogs(before: string): Promise<number>;
}
