/**
 * The SchedulingService over the catalog: validation, tenancy (another project's trigger is "not
 * found", as everywhere), quotas, and the next-due cursor each change leaves for the engine.
 */
import type { BulwarkConfig } from '../common/config.js';
import { assertUuid, newId } from '../common/ids.js';
import { assertPrintable } from '../core/control-chars.js';
import { bwkError } from '../core/errors.js';
import { checkObjectSize } from '../protection-manager/quotas.js';
import { QuotaLimits } from '../protection-manager/quota-limits.js';
import { visibleProject, type RequestContext } from '../protection-manager/request.js';
import type { ProtectionService } from '../protection-manager/service.js';
import type { CatalogStore } from '../store/port.js';
import type { OperationLogRecord, ScheduledOperationRecord, TriggerRecord } from '../store/scheduling-records.js';
import { checkDefinition, OPERATION_TYPES, operationTypeOf, overlapFamily } from './operation-types.js';
import { checkTriggerProperties, checkTriggerType, scheduleOf } from './trigger-properties.js';
import type {
  OperationLogQuery,
  ScheduledOperationInput,
  ScheduledOperationListQuery,
  ScheduledOperationView,
  SchedulingService,
  TriggerInput,
  TriggerListQuery,
  TriggerUpdate,
} from './service.js';
import type { TriggerLimits } from './time-trigger.js';
import { runLogRow } from './run-rows.js';

export interface SchedulingDeps {
  store: CatalogStore;
  /** Only to check that a provider named by bank upkeep exists. */
  service: Pick<ProtectionService, 'showProvider'>;
  config: Pick<BulwarkConfig, 'operation_engine' | 'quotas'>;
  now?: () => number;
}

export const triggerLimits = (config: Pick<BulwarkConfig, 'operation_engine'>): TriggerLimits => ({
  minIntervalMs: config.operation_engine.min_interval_ms,
  windowMinSeconds: config.operation_engine.window_min_seconds,
  windowMaxSeconds: config.operation_engine.window_max_seconds,
});

const view = (o: ScheduledOperationRecord): ScheduledOperationView => ({ ...o, enabled: o.status === 'enabled' });

function checkName(kind: 'trigger' | 'scheduled operation', name: unknown): string {
  const code = kind === 'trigger' ? 'BWK_ERR_TRIGGER_INVALID' : 'BWK_ERR_SCHEDULED_OPERATION_INVALID';
  if (typeof name !== 'string' || name.trim() === '' || name.length > 255)
    throw bwkError(code, { field: 'name', reason: 'give 1-255 characters' });
  assertPrintable(`${kind} name`, name);
  return name;
}

export class CatalogScheduling implements SchedulingService {
  private readonly now: () => number;

  constructor(private readonly deps: SchedulingDeps) {
    this.now = deps.now ?? Date.now;
  }

  private get scheduling() {
    return this.deps.store.scheduling;
  }

  async createTrigger(ctx: RequestContext, input: TriggerInput): Promise<TriggerRecord> {
    const name = checkName('trigger', input?.name);
    const type = checkTriggerType(input.type);
    checkObjectSize('trigger properties', input.properties, this.deps.config.quotas);
    const properties = checkTriggerProperties(type, input.properties, triggerLimits(this.deps.config), this.now());
    await this.checkCount(ctx.projectId, 'trigger');
    const at = new Date(this.now()).toISOString();
    return this.scheduling.createTrigger({
      id: newId(),
      project_id: ctx.projectId,
      name,
      type,
      properties,
      created_at: at,
      updated_at: at,
    });
  }

  listTriggers(ctx: RequestContext, q: TriggerListQuery = {}): Promise<TriggerRecord[]> {
    return this.scheduling.listTriggers({ projectId: visibleProject(ctx), ...page(q), name: q.name, type: q.type });
  }

  async showTrigger(ctx: RequestContext, id: string): Promise<TriggerRecord> {
    const t = await this.scheduling.getTrigger(visibleProject(ctx), assertUuid('trigger', id));
    if (!t) throw bwkError('BWK_ERR_TRIGGER_NOT_FOUND', { id });
    return t;
  }

  async updateTrigger(ctx: RequestContext, id: string, patch: TriggerUpdate): Promise<TriggerRecord> {
    const current = await this.showTrigger(ctx, id);
    for (const key of Object.keys(patch ?? {}))
      if (key !== 'name' && key !== 'properties')
        throw bwkError('BWK_ERR_TRIGGER_INVALID', { field: key, reason: 'only name and properties can be changed' });
    const name = patch.name === undefined ? undefined : checkName('trigger', patch.name);
    let properties: Record<string, unknown> | undefined;
    if (patch.properties !== undefined) {
      checkObjectSize('trigger properties', patch.properties, this.deps.config.quotas);
      properties = checkTriggerProperties(current.type, patch.properties, triggerLimits(this.deps.config), this.now());
    }
    const updated = await this.scheduling.updateTrigger(current.project_id, current.id, {
      ...(name !== undefined ? { name } : {}),
      ...(properties !== undefined ? { properties } : {}),
    });
    if (!updated) throw bwkError('BWK_ERR_TRIGGER_NOT_FOUND', { id });
    // A changed schedule fires from its next due time: what the old one left due is not run.
    if (properties !== undefined && updated.type === 'time') {
      for (const opId of await this.scheduling.scheduledOperationsUsing({ triggerId: updated.id }, Number.MAX_SAFE_INTEGER))
        await this.scheduling.updateScheduledOperation(null, opId, { next_due_at: this.nextDue(updated) });
    }
    return updated;
  }

  async deleteTrigger(ctx: RequestContext, id: string): Promise<void> {
    const t = await this.showTrigger(ctx, id);
    const users = await this.scheduling.scheduledOperationsUsing({ triggerId: t.id });
    if (users.length > 0) throw bwkError('BWK_ERR_TRIGGER_IN_USE', { id: t.id, operations: users.join(', ') });
    await this.scheduling.deleteTrigger(t.project_id, t.id);
  }

  async createScheduledOperation(ctx: RequestContext, input: ScheduledOperationInput): Promise<ScheduledOperationView> {
    const name = checkName('scheduled operation', input?.name);
    const description = input.description ?? '';
    if (typeof description !== 'string' || description.length > 1024)
      throw bwkError('BWK_ERR_SCHEDULED_OPERATION_INVALID', { field: 'description', reason: 'at most 1024 characters' });
    assertPrintable('scheduled operation description', description);
    const { type, spec } = operationTypeOf(input.operation_type);
    if (spec.adminOnly && !ctx.admin)
      throw bwkError('BWK_ERR_FORBIDDEN', { reason: `${type} reads or rewrites a whole bank: it needs an admin token` });
    const overlap = input.overlap ?? 'skip';
    if (overlap !== 'skip' && overlap !== 'queue')
      throw bwkError('BWK_ERR_SCHEDULED_OPERATION_INVALID', { field: 'overlap', reason: 'use "skip" or "queue"' });
    if (typeof input.trigger_id !== 'string')
      throw bwkError('BWK_ERR_SCHEDULED_OPERATION_INVALID', { field: 'trigger_id', reason: 'give the id of a trigger' });
    // The operation's own project's trigger, even for an admin listing all projects: a trigger serves one project.
    const trigger = await this.scheduling.getTrigger(ctx.projectId, assertUuid('trigger', input.trigger_id));
    if (!trigger) throw bwkError('BWK_ERR_TRIGGER_NOT_FOUND', { id: input.trigger_id });
    if (!spec.triggers.includes(trigger.type))
      throw bwkError('BWK_ERR_SCHEDULED_OPERATION_INVALID', {
        field: 'trigger_id',
        reason: `a ${trigger.type} trigger cannot fire ${type} (it takes ${spec.triggers.join(' or ')} triggers)`,
      });
    checkObjectSize('operation_definition', input.operation_definition, this.deps.config.quotas);
    const definition = checkDefinition(type, input.operation_definition);
    let providerId = (definition.provider_id as string | undefined) ?? null;
    const planId = (definition.plan_id as string | undefined) ?? null;
    if (planId !== null) {
      const plan = await this.deps.store.getPlan(ctx.projectId, planId);
      if (!plan) throw bwkError('BWK_ERR_PLAN_NOT_FOUND', { id: planId });
      if (providerId !== null && providerId !== plan.provider_id)
        throw bwkError('BWK_ERR_PROVIDER_MISMATCH', { plan: plan.id, plan_provider: plan.provider_id, provider: providerId });
      providerId = plan.provider_id;
    } else if (providerId !== null) {
      providerId = (await this.deps.service.showProvider(ctx, providerId)).id;
    }
    await this.checkCount(ctx.projectId, 'scheduled operation');
    const at = new Date(this.now()).toISOString();
    const record: ScheduledOperationRecord = {
      id: newId(),
      project_id: ctx.projectId,
      name,
      description,
      operation_type: type,
      trigger_id: trigger.id,
      plan_id: planId,
      provider_id: providerId,
      operation_definition: definition,
      status: 'enabled',
      overlap,
      acts_as: ctx.scoped ? 'member' : 'admin',
      next_due_at: trigger.type === 'time' ? this.nextDue(trigger) : null,
      created_at: at,
      updated_at: at,
    };
    return view(await this.scheduling.createScheduledOperation(record));
  }

  async listScheduledOperations(ctx: RequestContext, q: ScheduledOperationListQuery = {}): Promise<ScheduledOperationView[]> {
    const rows = await this.scheduling.listScheduledOperations({
      projectId: visibleProject(ctx),
      ...page(q),
      name: q.name,
      operationType: q.operation_type,
      triggerId: q.trigger_id,
      planId: q.plan_id,
    });
    return rows.map(view);
  }

  async showScheduledOperation(ctx: RequestContext, id: string): Promise<ScheduledOperationView> {
    return view(await this.getOperation(ctx, id));
  }

  async suspendScheduledOperation(ctx: RequestContext, id: string): Promise<ScheduledOperationView> {
    const op = await this.ownOperation(ctx, id);
    return view((await this.scheduling.updateScheduledOperation(op.project_id, op.id, { status: 'suspended' }))!);
  }

  async resumeScheduledOperation(ctx: RequestContext, id: string): Promise<ScheduledOperationView> {
    const op = await this.ownOperation(ctx, id);
    if (op.status === 'enabled') return view(op);
    const trigger = await this.scheduling.getTrigger(null, op.trigger_id);
    const next = trigger?.type === 'time' ? this.nextDue(trigger) : null;
    return view((await this.scheduling.updateScheduledOperation(op.project_id, op.id, { status: 'enabled', next_due_at: next }))!);
  }

  async runScheduledOperation(ctx: RequestContext, id: string): Promise<OperationLogRecord> {
    const op = await this.ownOperation(ctx, id);
    if (op.operation_type === 'verify' && (await this.scheduling.getTrigger(null, op.trigger_id))?.type === 'event')
      throw bwkError('BWK_ERR_SCHEDULED_OPERATION_INVALID', {
        field: 'operation_type',
        reason: 'an event-triggered verify runs for the checkpoint its event names: start a verification of that checkpoint instead',
      });
    const due = new Date(this.now()).toISOString();
    const busy = op.plan_id !== null && (await this.scheduling.planBusy(op.plan_id, overlapFamily(op.operation_type)));
    const row = runLogRow(op, { fireKey: `run:${due}`, dueAt: due, busy });
    await this.scheduling.insertLog(row);
    return (await this.scheduling.getLog(null, row.id))!;
  }

  async deleteScheduledOperation(ctx: RequestContext, id: string): Promise<void> {
    const op = await this.ownOperation(ctx, id);
    await this.scheduling.deleteScheduledOperation(op.project_id, op.id);
  }

  listOperationLogs(ctx: RequestContext, q: OperationLogQuery = {}): Promise<OperationLogRecord[]> {
    for (const [k, v] of [
      ['since', q.since],
      ['until', q.until],
    ] as const)
      if (v !== undefined && Number.isNaN(Date.parse(v)))
        throw bwkError('BWK_ERR_INVALID_INPUT', { reason: `${k} ${JSON.stringify(v)} is not an ISO 8601 date-time` });
    return this.scheduling.listLogs({
      projectId: visibleProject(ctx),
      ...page(q),
      status: q.status,
      scheduledOperationId: q.scheduled_operation_id,
      planId: q.plan_id,
      since: q.since === undefined ? undefined : new Date(q.since).toISOString(),
      until: q.until === undefined ? undefined : new Date(q.until).toISOString(),
    });
  }

  async showOperationLog(ctx: RequestContext, id: string): Promise<OperationLogRecord> {
    const log = await this.scheduling.getLog(visibleProject(ctx), assertUuid('operation log', id));
    if (!log) throw bwkError('BWK_ERR_OPERATION_LOG_NOT_FOUND', { id });
    return log;
  }

  private async getOperation(ctx: RequestContext, id: string): Promise<ScheduledOperationRecord> {
    const op = await this.scheduling.getScheduledOperation(visibleProject(ctx), assertUuid('scheduled operation', id));
    if (!op) throw bwkError('BWK_ERR_SCHEDULED_OPERATION_NOT_FOUND', { id });
    return op;
  }

  /** One the caller may change or run: bank upkeep only by an admin, as only an admin may create it. */
  private async ownOperation(ctx: RequestContext, id: string): Promise<ScheduledOperationRecord> {
    const op = await this.getOperation(ctx, id);
    if (OPERATION_TYPES[op.operation_type]?.adminOnly && !ctx.admin)
      throw bwkError('BWK_ERR_FORBIDDEN', { reason: `${op.operation_type} reads or rewrites a whole bank: it needs an admin token` });
    return op;
  }

  private nextDue(trigger: TriggerRecord): string | null {
    const due = scheduleOf(trigger.properties, Date.parse(trigger.created_at)).nextDue(this.now());
    return due === null ? null : new Date(due).toISOString();
  }

  private async checkCount(projectId: string, kind: 'trigger' | 'scheduled operation'): Promise<void> {
    const limits = new QuotaLimits(this.deps.store.quotas, this.deps.config.quotas);
    if (kind === 'trigger') await limits.checkCount(projectId, 'triggers', await this.scheduling.countTriggers(projectId));
    else await limits.checkCount(projectId, 'scheduled_operations', await this.scheduling.countScheduledOperations(projectId));
  }
}

const page = (q: { limit?: number; marker?: string; sort?: 'asc' | 'desc' }) => ({
  ...(q.limit !== undefined ? { limit: q.limit } : {}),
  ...(q.marker !== undefined ? { marker: q.marker } : {}),
  ...(q.sort !== undefined ? { sort: q.sort } : {}),
});
