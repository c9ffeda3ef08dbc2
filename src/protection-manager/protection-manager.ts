import { bwkError, fromErrorJSON, isBulwarkError, reasonOf } from '../core/errors.js';
import type { BulwarkConfig } from '../common/config.js';
import { pageSizesOf } from '../common/config.js';
import { pageLimit } from '../common/page-size.js';
import { newId, nowIso } from '../common/ids.js';
import type { Logger } from '../common/logging.js';
import type { CheckpointQuery } from '../checkpoints/collection.js';
import { CheckpointCollection } from '../checkpoints/collection.js';
import type { CheckpointRecord } from '../checkpoints/model.js';
import type { Resource, RestorePolicy } from '../plugins/api.js';
import { resolveParameters, validateParameters } from '../providers/parameters.js';
import type { Provider, ProviderRegistry } from '../providers/registry.js';
import type { ListOperationsQuery, ListPlansQuery } from '../store/port.js';
import type { CatalogStore } from '../store/port.js';
import type { PlanRecord, RestoreRecord, VerificationRecord } from '../store/records.js';
import type { Engine, OperationOutcome, OperationRequest, ScheduleMark } from './engine.js';
import { logManualEnd, logManualStart } from './manual-logs.js';
import type { OperationEvents } from './events.js';
import { PlanService } from './plans.js';
import { checkObjectSize } from './quotas.js';
import { ProtectableService } from './protectables.js';
import type { RecoveryReport } from './recovery.js';
import { recoverAbandonedOperations } from './recovery.js';
import type { RequestContext } from './request.js';
import type { ResourceScopes } from './resource-scopes.js';
import { visibleProject } from './request.js';
import { listAcrossBanks } from './checkpoint-listing.js';
import { withNotCapturedReport } from './not-captured.js';
import { checkProviderBank, gcProviderBank } from './bank-upkeep.js';
import { resetCheckpointState } from './checkpoint-reset.js';
import { copyCheckpoint } from './checkpoint-copy.js';
import type {
  BankCheckInput,
  BankCheckReport,
  BankGcInput,
  CopyInput,
  GcReport,
  LogQuery,
  OperationLog,
  OperationView,
  PlanInput,
  PlanUpdate,
  ProtectInput,
  ProtectionService,
  ProviderView,
  ResettableState,
  RestoreInput,
  VerifyInput,
} from './service.js';
import { READING_RECORDS } from './operations/reading-records.js';
import type { ReadingKind, ReadingRecord } from './operations/reading-records.js';
import { assertUuid, isUuid } from '../common/ids.js';

export interface ProtectionManagerDeps {
  config: BulwarkConfig;
  home: string;
  providers: ProviderRegistry;
  store: CatalogStore;
  engine: Engine;
  events: OperationEvents;
  logger: Logger;
  /** Where restores may write (restore-policy.ts): checked when a restore is requested, and again by its hooks. */
  restorePolicy: RestorePolicy;
  /** Which resources each project's members may use (resource-scopes.ts). */
  scopes: ResourceScopes;
}

/** A started operation: its record id at once, its record once visible, its final record when it ends. */
export interface OperationHandle<T> {
  id: string;
  operationId: string;
  /** The record as soon as it exists (a protect's checkpoint is created by the operation's first step). */
  started(): Promise<T>;
  /** The final record and how the operation ended (waiting is only started when asked for). */
  readonly done: Promise<{ record: T; outcome: OperationOutcome }>;
}

/**
 * The protection service: every adapter (CLI, REST, RPC) builds a request and calls one method
 * here. Validation happens before anything is written; operations run on the Engine.
 */
export class ProtectionManager implements ProtectionService {
  readonly plans: PlanService;
  readonly protectables: ProtectableService;

  constructor(private readonly deps: ProtectionManagerDeps) {
    this.plans = new PlanService(deps.providers, deps.store, deps.config.quotas, deps.scopes);
    this.protectables = new ProtectableService(deps.providers);
  }

  get events(): OperationEvents {
    return this.deps.events;
  }

  /** Fails operations abandoned by dead processes; call at start-up. */
  recover(): Promise<RecoveryReport> {
    const engine = this.deps.engine;
    return recoverAbandonedOperations({
      providers: this.deps.providers,
      store: this.deps.store,
      logger: this.deps.logger,
      leaseTtlMs: this.deps.config.lease.ttl_ms,
      stillRunning: async (lease) => {
        const data = lease.data as { engine?: string; operationId?: string };
        // Only the engine that runs an operation can tell; a local operation's expired lease means its process died.
        if (data.engine !== 'temporal' || !data.operationId) return false;
        return engine.isRunning ? engine.isRunning(data.operationId) : true;
      },
    });
  }

  async listProviders(_ctx?: RequestContext): Promise<ProviderView[]> {
    return this.deps.providers.list().map(providerView);
  }
  async showProvider(_ctx: RequestContext, id: string): Promise<ProviderView> {
    const byName = isUuid(id) ? [] : this.deps.providers.list().filter((p) => p.name === id);
    return providerView(byName.length === 1 ? byName[0]! : this.deps.providers.get(id));
  }

  async protectableTypes(_ctx: RequestContext): Promise<string[]> {
    return this.protectables.types();
  }
  async showProtectableType(_ctx: RequestContext, type: string) {
    return this.protectables.showType(type);
  }
  /** A member sees only the instances its project's resource scope lets it use. */
  async listProtectableInstances(ctx: RequestContext, type: string, parameters: unknown) {
    return this.deps.scopes.visible(ctx, await this.protectables.instances(ctx, type, parameters));
  }
  async showProtectableInstance(ctx: RequestContext, type: string, id: string) {
    const instance = await this.protectables.instance(ctx, type, id);
    await this.deps.scopes.assertUsable(ctx, [instance], 'see');
    return instance;
  }

  async startProtect(ctx: RequestContext, input: ProtectInput): Promise<CheckpointRecord> {
    const handle = await this.protect(ctx, input.plan_id, input.operation_id, input.provider_id, input.schedule);
    return handle.started();
  }

  async startRestore(ctx: RequestContext, input: RestoreInput): Promise<RestoreRecord> {
    return (await this.restore(ctx, input)).started();
  }

  async startVerify(ctx: RequestContext, input: VerifyInput): Promise<VerificationRecord> {
    return (await this.verify(ctx, input)).started();
  }

  async cancelOperation(ctx: RequestContext, id: string): Promise<void> {
    await this.showOperation(ctx, id); // not found unless it is the caller's
    await this.cancel(id);
  }

  createPlan(ctx: RequestContext, input: PlanInput): Promise<PlanRecord> {
    return this.plans.create(ctx, input);
  }
  showPlan(ctx: RequestContext, id: string): Promise<PlanRecord> {
    return this.plans.get(ctx, id);
  }
  async listPlans(ctx: RequestContext, q: Omit<ListPlansQuery, 'projectId'> = {}): Promise<PlanRecord[]> {
    return this.deps.store.listPlans({ ...q, limit: this.pageLimit(q.limit), projectId: visibleProject(ctx) });
  }
  updatePlan(ctx: RequestContext, id: string, patch: PlanUpdate): Promise<PlanRecord> {
    return this.plans.update(ctx, id, patch);
  }
  deletePlan(ctx: RequestContext, id: string): Promise<void> {
    return this.plans.delete(ctx, id);
  }

  /**
   * Starts a protect of a plan: a new checkpoint, `protecting` until the operation ends. A provider
   * named by the caller must be the plan's: the checkpoint lands in that provider's bank, and a
   * caller who named another one would look for it there.
   */
  async protect(
    ctx: RequestContext,
    planId: string,
    operationId?: string,
    providerId?: string,
    schedule?: ScheduleMark,
  ): Promise<OperationHandle<CheckpointRecord>> {
    const plan = await this.plans.get(ctx, planId);
    if (providerId !== undefined && providerId !== plan.provider_id) {
      const named = this.deps.providers.get(providerId); // BWK_ERR_PROVIDER_NOT_FOUND for a provider that does not exist
      throw bwkError('BWK_ERR_PROVIDER_MISMATCH', { plan: plan.id, plan_provider: plan.provider_id, provider: named.id });
    }
    const provider = this.deps.providers.get(plan.provider_id);
    // The scope may have changed since the plan was made: judged anew at every protect.
    await this.plans.assertInScope(ctx, provider, plan.resources, 'protect');
    const id = operationId === undefined ? newId() : assertUuid('operation', operationId);
    // A repeated request (an RPC redelivery) finds its operation instead of starting another.
    if (operationId !== undefined && (await new CheckpointCollection(provider.bank).get(id, plan.project_id))) {
      return this.handle(id, () => new CheckpointCollection(provider.bank).mustGet(id, null));
    }
    await provider.chunks.ready();
    // A scheduled fire's log row is the operation engine's (it claimed the fire by writing it).
    if (!schedule)
      await logManualStart(this.deps.store, ctx, {
        id,
        projectId: plan.project_id,
        kind: 'protect',
        providerId: provider.id,
        planId: plan.id,
        checkpointId: id,
      });
    await this.startLogged(id, {
      operationId: id,
      kind: 'protect',
      projectId: plan.project_id,
      providerId: provider.id,
      checkpointId: id,
      planId: plan.id,
      ...(ctx.origin ? { origin: ctx.origin } : {}),
      ...(schedule ? { schedule } : {}),
    });
    return this.handle(id, () => new CheckpointCollection(provider.bank).mustGet(id, null));
  }

  async showCheckpoint(ctx: RequestContext, id: string, providerId?: string): Promise<CheckpointRecord> {
    const { record, provider } = await this.findCheckpoint(ctx, id, providerId);
    return withNotCapturedReport(record, provider);
  }

  async listCheckpoints(ctx: RequestContext, q: Omit<CheckpointQuery, 'projectId'>): Promise<CheckpointRecord[]> {
    const banks = q.providerId ? [this.deps.providers.get(q.providerId).bank] : this.deps.providers.list().map((p) => p.bank);
    return listAcrossBanks([...new Set(banks)], { ...q, limit: this.pageLimit(q.limit), projectId: visibleProject(ctx) });
  }

  /** The page size for a requested limit: `paging.default_limit` when absent, at most `paging.max_limit`. */
  private pageLimit(limit: unknown): number {
    return pageLimit(limit, pageSizesOf(this.deps.config));
  }

  /** Deletes a checkpoint (plugin delete hooks, then its objects); refused while a restore reads it. */
  async deleteCheckpoint(ctx: RequestContext, id: string, providerId?: string): Promise<void> {
    const { record, provider } = await this.findCheckpoint(ctx, id, providerId);
    if (record.status !== 'available' && record.status !== 'error') {
      throw bwkError('BWK_ERR_CHECKPOINT_STATE', { id, status: record.status, action: 'delete', allowed: 'available, error' });
    }
    const outcome = await this.deps.engine.execute({
      operationId: newId(),
      kind: 'delete',
      projectId: record.project_id,
      providerId: provider.id,
      checkpointId: id,
    });
    if (outcome.status !== 'deleted')
      throw outcome.error
        ? fromErrorJSON(outcome.error)
        : bwkError('BWK_ERR_OPERATION_FAILED', {
            kind: 'delete of checkpoint',
            id,
            status: outcome.status,
            reason: 'see the checkpoint extra_info.reason',
          });
  }

  async resetCheckpointState(ctx: RequestContext, id: string, state: ResettableState, providerId?: string): Promise<CheckpointRecord> {
    const { record, provider } = await this.findCheckpoint(ctx, id, providerId);
    return resetCheckpointState(ctx, record, provider, state, this.deps.logger);
  }

  /** A second copy in another provider's bank (checkpoint-copy.ts); returns the copy when it is available. */
  copyCheckpoint(ctx: RequestContext, input: CopyInput): Promise<CheckpointRecord> {
    return copyCheckpoint({ ...this.deps, find: (c, id, providerId) => this.findCheckpoint(c, id, providerId) }, ctx, input);
  }

  async restore(ctx: RequestContext, input: RestoreInput): Promise<OperationHandle<RestoreRecord>> {
    // Karbor's restore_target named another cloud to restore into; here a target is per resource, in
    // the parameters. Refused on every transport rather than ignored (the restore went to the original place).
    if (input.restore_target) throw bwkError('BWK_ERR_RESTORE_TARGET_UNSUPPORTED', { target: input.restore_target });
    return this.startReading('restore', ctx, input, (extra) =>
      this.deps.store.createRestore({ ...extra, restore_target: input.restore_target ?? null }),
    );
  }

  showRestore(ctx: RequestContext, id: string): Promise<RestoreRecord> {
    return this.showReading('restore', ctx, id);
  }

  async listRestores(ctx: RequestContext, q: Omit<ListOperationsQuery, 'projectId'> = {}): Promise<RestoreRecord[]> {
    return this.deps.store.listRestores({ ...q, limit: this.pageLimit(q.limit), projectId: visibleProject(ctx) });
  }

  async verify(ctx: RequestContext, input: VerifyInput): Promise<OperationHandle<VerificationRecord>> {
    return this.startReading('verify', ctx, input, (extra) => this.deps.store.createVerification(extra));
  }

  /**
   * Restore and verify alike: validate everything (checkpoint available, parameters against the
   * plugins' schemas, the restore policy) before the record is created, then start the operation.
   * A caller-chosen `operation_id` that already has a record returns that operation (idempotency).
   */
  private async startReading<K extends ReadingKind>(
    kind: K,
    ctx: RequestContext,
    input: VerifyInput,
    create: (record: VerificationRecord) => Promise<ReadingRecord[K]>,
  ): Promise<OperationHandle<ReadingRecord[K]>> {
    const show = (id: string) => this.showReading(kind, ctx, id);
    const existing = (id: string) => READING_RECORDS[kind].get(this.deps.store, visibleProject(ctx), id);
    if (input.operation_id !== undefined && (await existing(assertUuid('operation', input.operation_id))))
      return this.handle(input.operation_id, () => show(input.operation_id!));
    checkObjectSize(`${kind} parameters`, input.parameters, this.deps.config.quotas);
    const { record: checkpoint, provider } = await this.readableCheckpoint(ctx, input.checkpoint_id, input.provider_id, kind);
    const parameters = input.parameters ?? {};
    const resources = graphResources(checkpoint);
    validateParameters(kind, provider, resources, parameters);
    let allowedTargetPaths: string[] | undefined;
    if (kind === 'restore') {
      const resolved = (r: Resource) => resolveParameters('restore', provider, r, parameters);
      // What is read must be in scope too: a checkpoint an admin (or an older scope) let into the project is not a member's to copy out.
      await this.deps.scopes.assertUsable(ctx, resources, 'restore', provider);
      await this.deps.scopes.assertRestoreTargets(ctx, resources, resolved, provider);
      const global = this.deps.restorePolicy.allowedTargetPaths;
      allowedTargetPaths = this.deps.scopes.restorePaths(ctx, [...new Set(resources.map((r) => r.type))], global);
      const policy = allowedTargetPaths ? { ...this.deps.restorePolicy, allowedTargetPaths } : this.deps.restorePolicy;
      for (const r of resources) await provider.protection.get(r.type)?.checkRestore?.(r, resolved(r), policy);
    } else {
      await this.deps.scopes.assertUsable(ctx, resources, kind, provider);
    }
    // A missing or wrong bank key is refused here, before a record exists that would wait for an operation.
    await provider.chunks.ready();
    const now = nowIso();
    const record = await create({
      id: input.operation_id ?? newId(),
      project_id: checkpoint.project_id,
      provider_id: provider.id,
      checkpoint_id: checkpoint.id,
      parameters,
      status: 'in_progress',
      resources_status: Object.fromEntries(resources.map((r) => [`${r.type}#${r.id}`, 'in_progress'])),
      resources_reason: {},
      created_at: now,
      updated_at: now,
      token_id: ctx.origin?.token_id ?? null,
      client_address: ctx.origin?.client_address ?? null,
    });
    await logManualStart(this.deps.store, ctx, {
      id: record.id,
      projectId: record.project_id,
      kind,
      providerId: provider.id,
      planId: checkpoint.protection_plan.id,
      checkpointId: checkpoint.id,
    });
    await this.startLogged(record.id, {
      operationId: record.id,
      kind,
      projectId: record.project_id,
      providerId: provider.id,
      checkpointId: checkpoint.id,
      recordId: record.id,
      ...(allowedTargetPaths ? { allowedTargetPaths } : {}),
    });
    return this.handle(record.id, () => show(record.id));
  }

  showVerification(ctx: RequestContext, id: string): Promise<VerificationRecord> {
    return this.showReading('verify', ctx, id);
  }

  /** A restore's or verification's record, if the caller may see it. */
  private async showReading<K extends ReadingKind>(kind: K, ctx: RequestContext, id: string): Promise<ReadingRecord[K]> {
    const access = READING_RECORDS[kind];
    const record = await access.get(this.deps.store, visibleProject(ctx), id);
    if (!record) throw bwkError(access.notFound, { id });
    return record;
  }

  async listVerifications(ctx: RequestContext, q: Omit<ListOperationsQuery, 'projectId'> = {}): Promise<VerificationRecord[]> {
    return this.deps.store.listVerifications({ ...q, limit: this.pageLimit(q.limit), projectId: visibleProject(ctx) });
  }

  /**
   * An operation by id (a protect's checkpoint id, a restore's or verification's id): its kind, the
   * status of its record, and whether the engine still runs it (null when the engine cannot tell).
   */
  async showOperation(ctx: RequestContext, id: string): Promise<OperationView> {
    const running = this.deps.engine.isRunning ? await this.deps.engine.isRunning(id) : null;
    const checkpoint = await this.findCheckpoint(ctx, id).catch(() => null);
    if (checkpoint) return { id, kind: 'protect', status: checkpoint.record.status, running, record: checkpoint.record };
    const restore = await this.deps.store.getRestore(visibleProject(ctx), id);
    if (restore) return { id, kind: 'restore', status: restore.status, running, record: restore };
    const verification = await this.deps.store.getVerification(visibleProject(ctx), id);
    if (verification) return { id, kind: 'verify', status: verification.status, running, record: verification };
    throw bwkError('BWK_ERR_OPERATION_NOT_FOUND', { id });
  }

  /** The stored operation logs of the caller's project (manual and scheduled runs alike). */
  async listOperationLogs(ctx: RequestContext, q: LogQuery = {}): Promise<OperationLog[]> {
    return this.deps.store.scheduling.listLogs({
      projectId: visibleProject(ctx),
      ...(q.limit !== undefined ? { limit: q.limit } : {}),
      ...(q.marker !== undefined ? { marker: q.marker } : {}),
      ...(q.sort !== undefined ? { sort: q.sort } : {}),
    });
  }

  /** Bank upkeep (bank-upkeep.ts): admins only; a check that finds problems returns `ok: false`. */
  checkBank(ctx: RequestContext, input: BankCheckInput = {}): Promise<BankCheckReport> {
    return checkProviderBank(this.deps, ctx, input);
  }
  gcBank(ctx: RequestContext, input: BankGcInput = {}): Promise<GcReport> {
    return gcProviderBank(this.deps, ctx, input);
  }

  /** Cancels a running operation (by operation id); it ends `error`/`fail` with reason `cancelled`. */
  cancel(operationId: string): Promise<void> {
    return this.deps.engine.cancel(operationId);
  }

  /** Starts an operation; if the start fails, its log row says so (it would otherwise stay running). */
  private async startLogged(id: string, request: OperationRequest): Promise<void> {
    try {
      await this.deps.engine.start(request);
    } catch (err) {
      await logManualEnd(this.deps.store, id, false, reasonOf(err)).catch(() => undefined);
      throw err;
    }
  }

  private handle<T>(id: string, read: () => Promise<T>): OperationHandle<T> {
    let done: Promise<{ record: T; outcome: OperationOutcome }> | undefined;
    const settle = async () => {
      const o = await this.deps.engine.wait(id);
      if (o.status === 'not_started' && o.error) throw fromErrorJSON(o.error);
      return { record: await read(), outcome: o };
    };
    const engine = this.deps.engine;
    return {
      id,
      operationId: id,
      get done() {
        done ??= settle();
        return done;
      },
      async started() {
        for (;;) {
          try {
            return await read();
          } catch (err) {
            if (!isBulwarkError(err) || !/NOT_FOUND$/.test(err.code)) throw err;
          }
          // Not visible yet: either its first step is still running, or it failed before creating it.
          if (!engine.isRunning || !(await engine.isRunning(id))) {
            done ??= settle();
            return (await done).record;
          }
          await new Promise((r) => setTimeout(r, 100));
        }
      },
    };
  }

  private async readableCheckpoint(ctx: RequestContext, id: string, providerId: string | undefined, action: string) {
    const found = await this.findCheckpoint(ctx, id, providerId);
    if (found.record.status !== 'available') {
      throw bwkError('BWK_ERR_CHECKPOINT_STATE', { id, status: found.record.status, action, allowed: 'available' });
    }
    return found;
  }

  /** Finds a checkpoint in the named provider's bank, or in any provider's bank; other projects' are not found. */
  private async findCheckpoint(
    ctx: RequestContext,
    id: string,
    providerId?: string,
  ): Promise<{ record: CheckpointRecord; provider: Provider }> {
    const providers = providerId ? [this.deps.providers.get(providerId)] : this.deps.providers.list();
    for (const provider of providers) {
      const record = await new CheckpointCollection(provider.bank).get(id, visibleProject(ctx));
      if (record && record.status !== 'deleted') return { record, provider: this.deps.providers.get(record.provider_id) };
    }
    throw bwkError('BWK_ERR_CHECKPOINT_NOT_FOUND', { id });
  }
}

function providerView(p: Provider): ProviderView {
  return { id: p.id, name: p.name, description: p.description, extended_info_schema: p.extendedInfoSchema() };
}

function graphResources(c: CheckpointRecord): Resource[] {
  return (c.resource_graph?.nodes ?? []).map((n) => ({
    type: n.type,
    id: n.id,
    name: n.name,
    ...(n.extra_info ? { extra_info: n.extra_info } : {}),
  }));
}
