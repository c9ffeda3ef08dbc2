/**
 * The SchedulingService port: triggers, scheduled operations and operation logs, as the REST API,
 * the CLI and the HTTP client see them. Implemented over the catalog (scheduling.ts) in every process
 * that has one, and over HTTP by the CLI's --url client.
 */
import type { RequestContext } from '../protection-manager/request.js';
import type {
  OperationLogRecord,
  OperationLogStatus,
  OverlapPolicy,
  ScheduledOperationRecord,
  TriggerRecord,
  TriggerType,
} from '../store/scheduling-records.js';

export interface TriggerInput {
  name: string;
  type: TriggerType;
  properties: Record<string, unknown>;
}
export interface TriggerUpdate {
  name?: string;
  properties?: Record<string, unknown>;
}

export interface ScheduledOperationInput {
  name: string;
  description?: string;
  operation_type: string;
  trigger_id: string;
  operation_definition: Record<string, unknown>;
  overlap?: OverlapPolicy;
}

/** Karbor's shape: the record plus `enabled`. */
export type ScheduledOperationView = ScheduledOperationRecord & { enabled: boolean };

export interface ListQuery {
  limit?: number;
  marker?: string;
  sort?: 'asc' | 'desc';
}
export interface TriggerListQuery extends ListQuery {
  name?: string;
  type?: string;
}
export interface ScheduledOperationListQuery extends ListQuery {
  name?: string;
  operation_type?: string;
  trigger_id?: string;
  plan_id?: string;
}
export interface OperationLogQuery extends ListQuery {
  status?: OperationLogStatus;
  scheduled_operation_id?: string;
  plan_id?: string;
  /** ISO 8601 bounds on when the log was made: since inclusive, until exclusive. */
  since?: string;
  until?: string;
}

export interface SchedulingService {
  createTrigger(ctx: RequestContext, input: TriggerInput): Promise<TriggerRecord>;
  listTriggers(ctx: RequestContext, q?: TriggerListQuery): Promise<TriggerRecord[]>;
  showTrigger(ctx: RequestContext, id: string): Promise<TriggerRecord>;
  /** Validates the changed trigger in full; its scheduled operations fire from its next due time. */
  updateTrigger(ctx: RequestContext, id: string, patch: TriggerUpdate): Promise<TriggerRecord>;
  /** BWK_ERR_TRIGGER_IN_USE (409) while a scheduled operation uses it. */
  deleteTrigger(ctx: RequestContext, id: string): Promise<void>;

  createScheduledOperation(ctx: RequestContext, input: ScheduledOperationInput): Promise<ScheduledOperationView>;
  listScheduledOperations(ctx: RequestContext, q?: ScheduledOperationListQuery): Promise<ScheduledOperationView[]>;
  showScheduledOperation(ctx: RequestContext, id: string): Promise<ScheduledOperationView>;
  /** Stops firing it (a run under way goes on). */
  suspendScheduledOperation(ctx: RequestContext, id: string): Promise<ScheduledOperationView>;
  /** Fires again from its trigger's next due time; due times while suspended are not run. */
  resumeScheduledOperation(ctx: RequestContext, id: string): Promise<ScheduledOperationView>;
  /** A run now, outside its schedule (the overlap policy applies); returns its log. */
  runScheduledOperation(ctx: RequestContext, id: string): Promise<OperationLogRecord>;
  deleteScheduledOperation(ctx: RequestContext, id: string): Promise<void>;

  listOperationLogs(ctx: RequestContext, q?: OperationLogQuery): Promise<OperationLogRecord[]>;
  showOperationLog(ctx: RequestContext, id: string): Promise<OperationLogRecord>;
}
