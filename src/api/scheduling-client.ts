/**
 * The SchedulingService over the REST API (`--url` / BULWARK_URL), in Karbor's shape: triggers,
 * scheduled operations and operation logs under `/v1/<project>`, every body under one key. The CLI's
 * trigger, scheduled-operation and operation-log commands run unchanged against a server; errors
 * come back as the server's coded errors.
 */
import type { RequestContext } from '../protection-manager/request.js';
import type {
  OperationLogQuery,
  ScheduledOperationInput,
  ScheduledOperationListQuery,
  ScheduledOperationView,
  SchedulingService,
  TriggerInput,
  TriggerListQuery,
  TriggerUpdate,
} from '../operation-engine/service.js';
import type { OperationLogRecord, TriggerRecord } from '../store/scheduling-records.js';
import { pageQuery, type ApiTransport } from './client-transport.js';

const at = (id: string): string => encodeURIComponent(id);

export class HttpSchedulingService implements SchedulingService {
  /** `transport`: the server and token, as HttpProtectionService has them (its `transport`). */
  constructor(private readonly http: ApiTransport) {}

  private p(ctx: RequestContext, rest: string, query: Record<string, unknown> = {}): string {
    return this.http.path(ctx, rest, query);
  }

  async createTrigger(ctx: RequestContext, input: TriggerInput): Promise<TriggerRecord> {
    return this.http.unwrap('trigger_info', 'POST', this.p(ctx, '/triggers'), { trigger_info: input });
  }
  async listTriggers(ctx: RequestContext, q: TriggerListQuery = {}): Promise<TriggerRecord[]> {
    return this.http.unwrap('triggers', 'GET', this.p(ctx, '/triggers', { ...pageQuery(q), name: q.name, type: q.type }));
  }
  async showTrigger(ctx: RequestContext, id: string): Promise<TriggerRecord> {
    return this.http.unwrap('trigger_info', 'GET', this.p(ctx, `/triggers/${at(id)}`));
  }
  async updateTrigger(ctx: RequestContext, id: string, patch: TriggerUpdate): Promise<TriggerRecord> {
    return this.http.unwrap('trigger_info', 'PUT', this.p(ctx, `/triggers/${at(id)}`), { trigger_info: patch });
  }
  async deleteTrigger(ctx: RequestContext, id: string): Promise<void> {
    await this.http.request('DELETE', this.p(ctx, `/triggers/${at(id)}`));
  }

  async createScheduledOperation(ctx: RequestContext, input: ScheduledOperationInput): Promise<ScheduledOperationView> {
    return this.http.unwrap('scheduled_operation', 'POST', this.p(ctx, '/scheduled_operations'), { scheduled_operation: input });
  }
  async listScheduledOperations(ctx: RequestContext, q: ScheduledOperationListQuery = {}): Promise<ScheduledOperationView[]> {
    const query = { ...pageQuery(q), name: q.name, operation_type: q.operation_type, trigger_id: q.trigger_id, plan_id: q.plan_id };
    return this.http.unwrap('operations', 'GET', this.p(ctx, '/scheduled_operations', query));
  }
  async showScheduledOperation(ctx: RequestContext, id: string): Promise<ScheduledOperationView> {
    return this.http.unwrap('scheduled_operation', 'GET', this.p(ctx, `/scheduled_operations/${at(id)}`));
  }
  async suspendScheduledOperation(ctx: RequestContext, id: string): Promise<ScheduledOperationView> {
    return this.http.unwrap('scheduled_operation', 'POST', this.p(ctx, `/scheduled_operations/${at(id)}/suspend`));
  }
  async resumeScheduledOperation(ctx: RequestContext, id: string): Promise<ScheduledOperationView> {
    return this.http.unwrap('scheduled_operation', 'POST', this.p(ctx, `/scheduled_operations/${at(id)}/resume`));
  }
  async runScheduledOperation(ctx: RequestContext, id: string): Promise<OperationLogRecord> {
    return this.http.unwrap('operation_log', 'POST', this.p(ctx, `/scheduled_operations/${at(id)}/run`));
  }
  async deleteScheduledOperation(ctx: RequestContext, id: string): Promise<void> {
    await this.http.request('DELETE', this.p(ctx, `/scheduled_operations/${at(id)}`));
  }

  async listOperationLogs(ctx: RequestContext, q: OperationLogQuery = {}): Promise<OperationLogRecord[]> {
    const query = {
      ...pageQuery(q),
      status: q.status,
      scheduled_operation_id: q.scheduled_operation_id,
      plan_id: q.plan_id,
      since: q.since,
      until: q.until,
    };
    return this.http.unwrap('operation_logs', 'GET', this.p(ctx, '/operation_logs', query));
  }
  async showOperationLog(ctx: RequestContext, id: string): Promise<OperationLogRecord> {
    return this.http.unwrap('operation_log', 'GET', this.p(ctx, `/operation_logs/${at(id)}`));
  }
}
