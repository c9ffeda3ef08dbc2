import { bwkError, isBulwarkError, reasonOf, toBulwarkError } from '../core/errors.js';
import type { Logger } from '../common/logging.js';
import type { Lease } from '../bank/port.js';
import { operationLeaseOwner } from '../bank/layout.js';
import { CheckpointCollection } from '../checkpoints/collection.js';
import type { HookName, Operation, Resource } from '../plugins/api.js';
import { resolveParameters } from '../providers/parameters.js';
import type { Provider, ProviderRegistry } from '../providers/registry.js';
import type { CatalogStore } from '../store/port.js';
import type { OperationKind, OperationOutcome, OperationRequest } from './engine.js';
import type { OperationEvents } from './events.js';
import type { FlowGraph, FlowTask } from '../core/flow-graph.js';
import { buildFlowGraph, taskRef } from '../core/flow-graph.js';
import type { ResourceGraph } from '../core/resource-graph.js';
import { expandResourceGraph } from '../core/resource-graph.js';
import { hookContext, loadSavedInfo, saveInfoFn, sectionFor } from './operation-context.js';
import { findLiveUser } from './leases.js';
import { dependentsVia } from './dependents.js';
import type { ConsistencyHooks } from './consistency.js';
import { runConsistencyCommand } from './consistency.js';

export interface StepsDeps {
  providers: ProviderRegistry;
  store: CatalogStore;
  events: OperationEvents;
  logger: Logger;
  leaseTtlMs: number;
  /** Recorded in each operation's lease so recovery knows whom to ask whether it still runs. */
  engineName: string;
}

export interface Begun {
  flow: FlowGraph;
  lease: Lease;
  /** Resource ref → agent node, for resources whose hooks run on a node's agent. */
  nodes: Record<string, string>;
}

/** Resumable progress of a hook across attempts (Temporal heartbeat details). */
export interface ResumeChannel {
  state: unknown;
  save(state: unknown): void;
}

/** How the hook tasks went, as the engine reports it to `finish`. */
export interface TasksResult {
  status: 'success' | 'failed' | 'cancelled';
  failed: Array<{ taskId: string; error: unknown }>;
  skipped: string[];
  /** Set when the operation failed outside a task (begin, lease lost). */
  error?: unknown;
}

const METHOD: Record<HookName, keyof Operation> = { prepare_begin: 'prepareBegin', prepare_finish: 'prepareFinish', main: 'main', complete: 'complete' };

interface State {
  provider: Provider;
  graph: ResourceGraph;
  parameters: Record<string, unknown>;
  /** Quiesce/unquiesce commands of the plan's entries, by ref (protect only). */
  consistency: Map<string, ConsistencyHooks>;
  /** The newest available checkpoint of the plan before this one (protect only): plugins skip unchanged data. */
  previousCheckpointId?: string | null;
}

const consistencyOf = (resources: Resource[]): Map<string, ConsistencyHooks> =>
  new Map(resources.filter((r) => r.consistency !== undefined).map((r) => [`${r.type}#${r.id}`, r.consistency as ConsistencyHooks]));

/**
 * The steps of every operation — begin (lease, records, flow graph), one hook task, finish — as
 * functions of the request, so the local engine calls them in-process and a Temporal worker can
 * run the same code as activities. State is re-read from the bank and catalog when not cached.
 */
export class OperationSteps {
  private readonly cache = new Map<string, State>();

  constructor(private readonly deps: StepsDeps) {}

  bankOf(providerId: string) {
    return this.deps.providers.get(providerId).bank;
  }

  collection(provider: Provider): CheckpointCollection {
    return new CheckpointCollection(provider.bank);
  }

  /** Takes the operation's lease, marks its records in progress and returns the flow graph to run. */
  async begin(req: OperationRequest): Promise<Begun> {
    const provider = this.deps.providers.get(req.providerId);
    // A missing or wrong bank key is refused before the operation writes anything (lease, record).
    await provider.chunks.ready();
    const lease = await provider.bank.acquireLease(operationLeaseOwner(req.operationId), this.deps.leaseTtlMs, { ...req, engine: this.deps.engineName, startedAt: new Date().toISOString() });
    try {
      const state = await this.prepare(req, provider);
      this.cache.set(req.operationId, state);
      const flow = this.flowOf(req.kind, state);
      this.deps.events.publish({ type: 'operation_started', operationId: req.operationId, kind: req.kind, total_tasks: flow.tasks.length });
      this.deps.logger.info('operation started', { operation: req.operationId, kind: req.kind, checkpoint: req.checkpointId, tasks: flow.tasks.length });
      const nodes = Object.fromEntries(state.graph.nodes.filter((n) => n.node !== undefined).map((n) => [n.ref, n.node!]));
      return { flow, lease, nodes };
    } catch (err) {
      if (isBulwarkError(err, 'BWK_ERR_OPERATION_EXISTS')) {
        // Not ours to record: the first run of this operation id owns its records.
        await provider.bank.releaseLease(lease).catch(() => undefined);
        throw err;
      }
      await this.finish(req, { status: 'failed', failed: [], skipped: [], error: err }, lease);
      throw err;
    }
  }

  private async prepare(req: OperationRequest, provider: Provider): Promise<State> {
    const checkpoints = this.collection(provider);
    if (req.kind === 'protect') {
      const plan = await this.deps.store.getPlan(req.projectId, req.planId ?? '');
      if (!plan) throw bwkError('BWK_ERR_PLAN_NOT_FOUND', { id: req.planId ?? '' });
      // With the lease held, an existing record means this operation id already ran: never run it twice.
      if (await checkpoints.get(req.checkpointId, null)) throw bwkError('BWK_ERR_OPERATION_EXISTS', { id: req.operationId });
      const now = new Date().toISOString();
      await checkpoints.create({
        id: req.checkpointId, project_id: req.projectId, provider_id: provider.id, status: 'protecting',
        protection_plan: { id: plan.id, name: plan.name, resources: plan.resources }, resource_graph: null,
        created_at: now, updated_at: now, extra_info: { operation_id: req.operationId },
      });
      const graph = await expandResourceGraph(plan.resources, dependentsVia(this.deps.providers, provider, req.projectId));
      const [previous] = await checkpoints.list({ projectId: req.projectId, planId: plan.id, providerId: provider.id, status: 'available', limit: 1 });
      // Recorded, so a worker that did not run `begin` (Temporal) finds the same base for change detection.
      await checkpoints.update(req.checkpointId, (c) => ({ resource_graph: graph, extra_info: { ...c.extra_info, base_checkpoint_id: previous?.id ?? null } }));
      return { provider, graph, parameters: plan.parameters, consistency: consistencyOf(plan.resources), previousCheckpointId: previous?.id ?? null };
    }
    const checkpoint = await checkpoints.mustGet(req.checkpointId, req.projectId);
    if (req.kind === 'delete') {
      await checkpoints.update(req.checkpointId, () => ({ status: 'deleting', extra_info: { operation_id: req.operationId } }), 'delete');
      // Written `deleting` first, then looked for readers: a restore that started meanwhile sees `deleting` and stops.
      const user = await findLiveUser(provider.bank, req.checkpointId, req.operationId);
      if (user) {
        await checkpoints.update(req.checkpointId, () => ({ status: checkpoint.status }), 'delete');
        throw bwkError('BWK_ERR_CHECKPOINT_IN_USE', { id: req.checkpointId, user });
      }
      return { provider, graph: checkpoint.resource_graph ?? { roots: [], nodes: [] }, parameters: {}, consistency: new Map() };
    }
    if (checkpoint.status !== 'available') {
      throw bwkError('BWK_ERR_CHECKPOINT_STATE', { id: checkpoint.id, status: checkpoint.status, action: req.kind, allowed: 'available' });
    }
    const record = req.kind === 'restore'
      ? await this.deps.store.getRestore(req.projectId, req.recordId ?? '')
      : await this.deps.store.getVerification(req.projectId, req.recordId ?? '');
    if (!record) throw bwkError(req.kind === 'restore' ? 'BWK_ERR_RESTORE_NOT_FOUND' : 'BWK_ERR_VERIFICATION_NOT_FOUND', { id: req.recordId ?? '' });
    return { provider, graph: checkpoint.resource_graph ?? { roots: [], nodes: [] }, parameters: record.parameters, consistency: new Map() };
  }

  private flowOf(kind: OperationKind, state: State): FlowGraph {
    return buildFlowGraph(state.graph, (ref) => this.hooksOf(kind, state, ref));
  }

  private hooksOf(kind: OperationKind, state: State, ref: string): HookName[] {
    const node = state.graph.nodes.find((n) => n.ref === ref);
    const op = node ? this.operationFor(kind, state.provider, node) : undefined;
    return op ? (Object.keys(METHOD) as HookName[]).filter((h) => typeof op[METHOD[h]] === 'function') : [];
  }

  private operationFor(kind: OperationKind, provider: Provider, r: Resource): Operation | undefined {
    const plugin = provider.protection.get(r.type);
    if (!plugin) return undefined;
    const resource: Resource = { type: r.type, id: r.id, name: r.name, ...(r.extra_info ? { extra_info: r.extra_info } : {}) };
    switch (kind) {
      case 'protect': return plugin.getProtectOperation(resource) as Operation;
      case 'restore': return plugin.getRestoreOperation(resource) as Operation;
      case 'verify': return plugin.getVerifyOperation(resource) as Operation;
      case 'delete': return plugin.getDeleteOperation(resource) as Operation;
    }
  }

  private async state(req: OperationRequest): Promise<State> {
    const cached = this.cache.get(req.operationId);
    if (cached) return cached;
    const provider = this.deps.providers.get(req.providerId);
    const checkpoint = await this.collection(provider).mustGet(req.checkpointId, req.projectId);
    let parameters: Record<string, unknown> = {};
    if (req.kind === 'protect') parameters = (await this.deps.store.getPlan(req.projectId, req.planId ?? ''))?.parameters ?? {};
    if (req.kind === 'restore') parameters = (await this.deps.store.getRestore(req.projectId, req.recordId ?? ''))?.parameters ?? {};
    if (req.kind === 'verify') parameters = (await this.deps.store.getVerification(req.projectId, req.recordId ?? ''))?.parameters ?? {};
    const consistency = req.kind === 'protect' ? consistencyOf(checkpoint.protection_plan.resources) : new Map<string, ConsistencyHooks>();
    const base = checkpoint.extra_info?.['base_checkpoint_id'];
    const state: State = { provider, graph: checkpoint.resource_graph ?? { roots: [], nodes: [] }, parameters, consistency, previousCheckpointId: typeof base === 'string' ? base : null };
    this.cache.set(req.operationId, state);
    return state;
  }

  /** Runs one plugin hook for one resource. */
  async runTask(req: OperationRequest, task: FlowTask, signal: AbortSignal, resume?: ResumeChannel): Promise<void> {
    const state = await this.state(req);
    const node = state.graph.nodes.find((n) => n.ref === task.ref);
    if (!node) throw bwkError('BWK_ERR_INTERNAL', { reason: `task ${task.id} names no resource of the graph` });
    const resource: Resource = { type: node.type, id: node.id, name: node.name, ...(node.extra_info ? { extra_info: node.extra_info } : {}) };
    const op = this.operationFor(req.kind, state.provider, resource);
    const fn = op?.[METHOD[task.hook]] as ((ctx: unknown) => Promise<void>) | undefined;
    if (!op || !fn) return;
    const ctx = await this.contextFor(req, state, resource, signal, resume);
    const hooks = req.kind === 'protect' && task.hook === 'main' ? state.consistency.get(task.ref) : undefined;
    if (!hooks) {
      await fn.call(op, ctx);
      return;
    }
    await this.consistently(task.ref, hooks, signal, () => fn.call(op, ctx));
  }

  /**
   * Runs a protect's data step between the entry's `pre` and `post` commands. A failed `pre` with
   * on_error fail skips the data step, so nothing is captured unquiesced; `post` runs whenever `pre`
   * ran, even after a failed data step, so the application is never left quiesced.
   */
  private async consistently(ref: string, hooks: ConsistencyHooks, signal: AbortSignal, step: () => Promise<void>): Promise<void> {
    const logger = this.deps.logger.child({ resource: ref });
    const attempt = async (phase: 'pre' | 'post') => {
      const spec = hooks[phase];
      if (!spec) return;
      try {
        await runConsistencyCommand(ref, phase, spec, signal, logger);
      } catch (err) {
        if (spec.on_error === 'fail') throw err;
        logger.warn('consistency command failed; continuing as configured', { phase, error: reasonOf(err) });
      }
    };
    await attempt('pre');
    let failure: unknown;
    try {
      await step();
    } catch (err) {
      failure = err;
    }
    try {
      await attempt('post');
    } catch (err) {
      failure ??= err;
    }
    if (failure !== undefined) throw failure;
  }

  private async contextFor(req: OperationRequest, state: State, resource: Resource, signal: AbortSignal, resume?: ResumeChannel) {
    const kind = req.kind === 'verify' ? 'verify' : req.kind === 'restore' ? 'restore' : 'plan';
    const parameters = req.kind === 'delete' ? {} : resolveParameters(kind, state.provider, resource, state.parameters);
    const base = hookContext({ request: req, provider: state.provider, resource, parameters, signal, logger: this.deps.logger.child({ operation: req.operationId }), events: this.deps.events, resume });
    if (req.kind === 'protect') {
      const previous = state.previousCheckpointId ? sectionFor(state.provider, state.previousCheckpointId, resource) : null;
      return { ...base, saveInfo: saveInfoFn(state.provider, req.checkpointId, resource), previous };
    }
    if (req.kind === 'restore') return { ...base, restoreId: req.recordId, savedInfo: await loadSavedInfo(state.provider, req.checkpointId, resource) };
    if (req.kind === 'verify') return { ...base, verificationId: req.recordId, savedInfo: await loadSavedInfo(state.provider, req.checkpointId, resource) };
    return base;
  }

  /**
   * Records how the operation ended (per resource and overall), runs plugin reverts after a failed
   * protect, and releases the lease. Idempotent: finishing twice writes the same result.
   */
  async finish(req: OperationRequest, result: TasksResult, lease: Lease | null): Promise<OperationOutcome> {
    const provider = this.deps.providers.get(req.providerId);
    // Another worker may finish what this one began (Temporal): re-read the state when it is not cached.
    const state = this.cache.get(req.operationId) ?? await this.state(req).catch(() => undefined);
    const resourcesReason: Record<string, string> = {};
    for (const f of result.failed) resourcesReason[taskRef(f.taskId)] = reasonOf(f.error);
    for (const s of result.skipped) {
      const ref = taskRef(s);
      if (!resourcesReason[ref]) resourcesReason[ref] = 'skipped: a task it depends on failed';
    }
    const allRefs = state?.graph.nodes.map((n) => n.ref) ?? [];
    const overall = result.status === 'success' && !result.error ? null
      : toBulwarkError(result.status === 'cancelled' ? bwkError('BWK_ERR_OPERATION_CANCELLED', { id: req.operationId })
        : result.error ?? result.failed[0]?.error ?? bwkError('BWK_ERR_INTERNAL', { reason: 'operation failed' }));
    const ok = overall === null;
    let status: string;
    try {
      if (!ok && req.kind === 'protect' && state) await this.revert(req, state, result);
      status = await this.record(req, provider, ok, overall ? reasonOf(overall) : undefined, allRefs, resourcesReason);
    } finally {
      if (lease) await provider.bank.releaseLease(lease).catch((err: unknown) => this.deps.logger.warn('lease release failed', { error: reasonOf(err) }));
      this.cache.delete(req.operationId);
    }
    this.deps.logger[overall ? 'warn' : 'info']('operation finished', { operation: req.operationId, kind: req.kind, checkpoint: req.checkpointId, status, ...(overall ? { reason: reasonOf(overall) } : {}) });
    this.deps.events.publish({ type: 'operation_finished', operationId: req.operationId, kind: req.kind, status, ...(overall ? { reason: reasonOf(overall) } : {}) });
    return { operationId: req.operationId, kind: req.kind, status, ...(overall ? { error: overall.toJSON() } : {}) };
  }

  private async record(req: OperationRequest, provider: Provider, ok: boolean, reason: string | undefined, refs: string[], reasons: Record<string, string>): Promise<string> {
    const now = new Date().toISOString();
    const checkpoints = this.collection(provider);
    if (req.kind === 'protect' || req.kind === 'delete') {
      const current = await checkpoints.get(req.checkpointId, null);
      if (!current) return req.kind === 'delete' ? 'deleted' : 'error';
      // A delete refused before it began (checkpoint in use) left the checkpoint as it was.
      if (req.kind === 'delete' && current.status !== 'deleting') return current.status;
      if (req.kind === 'delete' && ok) {
        await checkpoints.update(req.checkpointId, () => ({ status: 'deleted' }), 'delete');
        await checkpoints.remove(current);
        return 'deleted';
      }
      const status = req.kind === 'protect' && ok ? 'available' : 'error';
      if (current.status === status) return status;
      const statuses = Object.fromEntries(refs.map((r) => [r, reasons[r] || !ok ? 'error' : 'available']));
      await checkpoints.update(req.checkpointId, () => ({
        status,
        extra_info: { finished_at: now, resources_status: statuses, resources_reason: reasons, ...(reason ? { reason } : {}) },
      }), req.kind);
      return status;
    }
    const status = ok ? 'success' : 'fail';
    const resources_status = Object.fromEntries(refs.map((r) => [r, reasons[r] ? 'fail' : ok ? 'success' : 'fail']));
    if (!ok && refs.length === 0 && reason) reasons['(operation)'] = reason;
    for (const r of refs) if (!ok && !reasons[r]) reasons[r] = reason ?? 'operation failed';
    const patch = { status: status as 'success' | 'fail', resources_status, resources_reason: reasons };
    if (req.kind === 'restore') await this.deps.store.updateRestore(req.projectId, req.recordId ?? '', patch);
    else await this.deps.store.updateVerification(req.projectId, req.recordId ?? '', patch);
    return status;
  }

  /** Best-effort plugin cleanup after a failed protect (Karbor leaked temporary data here). */
  private async revert(req: OperationRequest, state: State, result: TasksResult): Promise<void> {
    const flow = this.flowOf(req.kind, state);
    const skipped = new Set(result.skipped);
    const started = new Set(flow.tasks.filter((t) => !skipped.has(t.id)).map((t) => t.ref));
    for (const node of state.graph.nodes.filter((n) => started.has(n.ref))) {
      const op = this.operationFor(req.kind, state.provider, node);
      if (!op?.revert) continue;
      try {
        await op.revert(await this.contextFor(req, state, node, new AbortController().signal) as never);
      } catch (err) {
        this.deps.logger.warn('plugin revert failed', { resource: node.ref, error: reasonOf(err) });
      }
    }
  }
}

