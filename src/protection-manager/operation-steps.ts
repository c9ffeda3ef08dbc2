import { endedOperation } from '../notifications/cloud-event.js';
import { bwkError, isBulwarkError, isErrorJSON, reasonOf, toBulwarkError } from '../core/errors.js';
import type { Logger } from '../common/logging.js';
import { logManualEnd } from './manual-logs.js';
import type { Lease } from '../bank/port.js';
import { operationLeaseOwner } from '../bank/layout.js';
import { HOOK_METHODS, HOOK_NAMES, type HookName } from '../core/hooks.js';
import { hookResource, type Resource } from '../core/resource.js';
import type { FlowGraph, FlowTask } from '../core/flow-graph.js';
import { buildFlowGraph, taskRef } from '../core/flow-graph.js';
import type { Operation, RestorePolicy } from '../plugins/api.js';
import { resolveParameters } from '../providers/parameters.js';
import type { Provider, ProviderRegistry } from '../providers/registry.js';
import type { CatalogStore } from '../store/port.js';
import type { OperationOutcome, OperationRequest } from './engine.js';
import type { OperationEvents } from './events.js';
import { hookContext } from './operation-context.js';
import { ProgressThrottle } from './progress-throttle.js';
import type { ConsistencyHooks } from './consistency.js';
import { runConsistencyCommand } from './consistency.js';
import { kindOf } from './operations/index.js';
import type { OperationState } from './operations/kind.js';

export interface StepsDeps {
  providers: ProviderRegistry;
  store: CatalogStore;
  events: OperationEvents;
  logger: Logger;
  leaseTtlMs: number;
  /** Recorded in each operation's lease so recovery knows whom to ask whether it still runs. */
  engineName: string;
  /** Where restores may write: handed to restore hooks, which check it again as they write. */
  restorePolicy: RestorePolicy;
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

/**
 * How the hook tasks went, as the engine reports it to `finish`. `E` is the form a failure arrives in:
 * any thrown value in-process, ErrorJSON from a Temporal workflow (its history holds only JSON).
 */
/** A resource's reason when a cancel stopped its tasks (scripts match the `cancelled` prefix). */
export const CANCELLED_REASON = 'cancelled: the operation was cancelled before this task finished';

export interface TasksResult<E = unknown> {
  status: 'success' | 'failed' | 'cancelled';
  failed: Array<{ taskId: string; error: E }>;
  skipped: string[];
  /** The tasks a cancellation stopped (running or not started): their reason says cancelled, not that a dependency failed. */
  cancelled?: string[];
  /** Set when the operation failed outside a task (begin, lease lost). */
  error?: E;
}

/**
 * The steps of every operation — begin (lease, records, flow graph), one hook task, finish — as
 * functions of the request, so the local engine calls them in-process and a Temporal worker can
 * run the same code as activities. What differs by kind lives in operations/; state is re-read from
 * the bank and catalog when not cached.
 */
export class OperationSteps {
  private readonly cache = new Map<string, OperationState>();
  private readonly progress: ProgressThrottle;

  constructor(private readonly deps: StepsDeps) {
    this.progress = new ProgressThrottle(deps.events);
  }

  bankOf(providerId: string) {
    return this.deps.providers.get(providerId).bank;
  }

  /** Takes the operation's lease, marks its records in progress and returns the flow graph to run. */
  async begin(req: OperationRequest): Promise<Begun> {
    const provider = this.deps.providers.get(req.providerId);
    // A missing or wrong bank key is refused before the operation writes anything (lease, record).
    await provider.chunks.ready();
    const lease = await provider.bank.acquireLease(operationLeaseOwner(req.operationId), this.deps.leaseTtlMs, {
      ...req,
      engine: this.deps.engineName,
      startedAt: new Date().toISOString(),
    });
    try {
      const state = await kindOf(req).prepare(req, provider, this.deps);
      this.cache.set(req.operationId, state);
      const flow = this.flowOf(req, state);
      this.deps.events.publish({
        type: 'operation_started',
        operationId: req.operationId,
        kind: req.kind,
        total_tasks: flow.tasks.length,
        ...this.about(req, state),
      });
      this.operationLogger(req).info('operation started', { kind: req.kind, tasks: flow.tasks.length });
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

  /**
   * The logger of everything one operation does: every line carries its operation id, project and
   * checkpoint; a hook's lines add its resource and hook (operation-context.ts).
   */
  private operationLogger(req: OperationRequest): Logger {
    return this.deps.logger.child({ operation: req.operationId, project: req.projectId, checkpoint: req.checkpointId });
  }

  /** Whom an operation's events concern: subscribers (the operation engine, the console) filter on these. */
  private about(req: OperationRequest, state: OperationState | undefined) {
    const planId = req.kind === 'protect' ? req.planId : state?.planId;
    return { projectId: req.projectId, providerId: req.providerId, checkpointId: req.checkpointId, ...(planId ? { planId } : {}) };
  }

  private flowOf(req: OperationRequest, state: OperationState): FlowGraph {
    return buildFlowGraph(state.graph, (ref) => this.hooksOf(req, state, ref));
  }

  private hooksOf(req: OperationRequest, state: OperationState, ref: string): HookName[] {
    const node = state.graph.nodes.find((n) => n.ref === ref);
    const op = node ? this.operationFor(req, state.provider, node) : undefined;
    return op ? HOOK_NAMES.filter((h) => typeof op[HOOK_METHODS[h]] === 'function') : [];
  }

  private operationFor(req: OperationRequest, provider: Provider, r: Resource): Operation | undefined {
    const plugin = provider.protection.get(r.type);
    return plugin ? (kindOf(req).operationFor(plugin, hookResource(r)) as Operation) : undefined;
  }

  private async state(req: OperationRequest): Promise<OperationState> {
    const cached = this.cache.get(req.operationId);
    if (cached) return cached;
    const state = await kindOf(req).reload(req, this.deps.providers.get(req.providerId), this.deps);
    this.cache.set(req.operationId, state);
    return state;
  }

  /**
   * Publishes a task's start or end where the local engine's flow runner does not run: a Temporal
   * activity tells the same events from the worker that runs the hook.
   */
  taskEvent(
    req: OperationRequest,
    task: FlowTask,
    event: { type: 'task_started' | 'task_succeeded' } | { type: 'task_failed' | 'task_retrying'; reason: string; attempt: number },
  ): void {
    this.deps.events.publish({ ...event, operationId: req.operationId, task: task.id, resource: task.ref });
  }

  /** Runs one plugin hook for one resource. */
  async runTask(req: OperationRequest, task: FlowTask, signal: AbortSignal, resume?: ResumeChannel): Promise<void> {
    const state = await this.state(req);
    const node = state.graph.nodes.find((n) => n.ref === task.ref);
    if (!node) throw bwkError('BWK_ERR_INTERNAL', { reason: `task ${task.id} names no resource of the graph` });
    const resource = hookResource(node);
    const op = this.operationFor(req, state.provider, resource);
    const fn = op?.[HOOK_METHODS[task.hook]] as ((ctx: unknown) => Promise<void>) | undefined;
    if (!op || !fn) return;
    const ctx = await this.contextFor(req, state, resource, signal, resume, task.hook);
    const hooks = task.hook === 'main' ? state.consistency.get(task.ref) : undefined;
    try {
      if (!hooks) await fn.call(op, ctx);
      else await this.consistently(req, task.ref, hooks, signal, () => fn.call(op, ctx));
    } finally {
      // Its last figure reaches subscribers before the task's end does.
      this.progress.flush(req.operationId, task.ref);
    }
  }

  /**
   * Runs a protect's data step between the entry's `pre` and `post` commands. A failed `pre` with
   * on_error fail skips the data step, so nothing is captured unquiesced; `post` runs whenever `pre`
   * ran, even after a failed data step, so the application is never left quiesced.
   */
  private async consistently(
    req: OperationRequest,
    ref: string,
    hooks: ConsistencyHooks,
    signal: AbortSignal,
    step: () => Promise<void>,
  ): Promise<void> {
    // Consistency commands run around the data step: their lines belong to the main hook.
    const logger = this.operationLogger(req).child({ resource: ref, hook: 'main' });
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

  private async contextFor(
    req: OperationRequest,
    state: OperationState,
    resource: Resource,
    signal: AbortSignal,
    resume?: ResumeChannel,
    hook?: HookName,
  ) {
    const kind = kindOf(req);
    const parameters = kind.parameterKind ? resolveParameters(kind.parameterKind, state.provider, resource, state.parameters) : {};
    const base = hookContext({
      request: req,
      provider: state.provider,
      resource,
      parameters,
      signal,
      logger: this.operationLogger(req),
      progress: this.progress,
      hook,
      resume,
    });
    return { ...base, ...(await kind.context(req, state, resource, this.deps)) };
  }

  /**
   * Records how the operation ended (per resource and overall), runs plugin reverts after a failed
   * protect, and releases the lease. Idempotent: finishing twice writes the same result.
   */
  async finish(req: OperationRequest, result: TasksResult, lease: Lease | null): Promise<OperationOutcome> {
    const provider = this.deps.providers.get(req.providerId);
    const kind = kindOf(req);
    // Another worker may finish what this one began (Temporal): re-read the state when it is not cached.
    const state = this.cache.get(req.operationId) ?? (await this.state(req).catch(() => undefined));
    const reasons: Record<string, string> = {};
    const stopped = new Set(result.cancelled ?? []);
    for (const f of result.failed) {
      // A hook that ignored the cancel keeps its own error (abandoned): the plugin author needs to see it.
      const ignored =
        isBulwarkError(f.error, 'BWK_ERR_TASK_ABANDONED') || (isErrorJSON(f.error) && f.error.code === 'BWK_ERR_TASK_ABANDONED');
      reasons[taskRef(f.taskId)] = stopped.has(f.taskId) && !ignored ? CANCELLED_REASON : reasonOf(f.error);
    }
    for (const c of stopped) {
      const ref = taskRef(c);
      if (!reasons[ref]) reasons[ref] = CANCELLED_REASON;
    }
    for (const s of result.skipped) {
      const ref = taskRef(s);
      if (!reasons[ref]) reasons[ref] = 'skipped: a task it depends on failed';
    }
    const overall =
      result.status === 'success' && !result.error
        ? null
        : toBulwarkError(
            result.status === 'cancelled'
              ? bwkError('BWK_ERR_OPERATION_CANCELLED', { id: req.operationId })
              : (result.error ?? result.failed[0]?.error ?? bwkError('BWK_ERR_INTERNAL', { reason: 'operation failed' })),
          );
    const reason = overall ? reasonOf(overall) : undefined;
    let status: string;
    try {
      if (overall && kind.revertsOnFailure && state) await this.revert(req, state, result);
      status = await kind.record(req, provider, this.deps, {
        ok: overall === null,
        reason,
        refs: state?.graph.nodes.map((n) => n.ref) ?? [],
        reasons,
      });
    } finally {
      if (lease)
        await provider.bank
          .releaseLease(lease)
          .catch((err: unknown) => this.operationLogger(req).warn('lease release failed', { error: reasonOf(err) }));
      this.cache.delete(req.operationId);
    }
    if (req.kind !== 'delete')
      await logManualEnd(this.deps.store, req.operationId, overall === null, reason).catch((err: unknown) =>
        this.operationLogger(req).warn('operation log not settled (the operation engine settles it)', { error: reasonOf(err) }),
      );
    this.operationLogger(req)[overall ? 'warn' : 'info']('operation finished', {
      kind: req.kind,
      status,
      ...(reason ? { reason } : {}),
    });
    const finished = {
      type: 'operation_finished' as const,
      operationId: req.operationId,
      kind: req.kind,
      status,
      ...(reason ? { reason } : {}),
      ...this.about(req, state),
    };
    // The outbox is written here, in the process that records the end, so a webhook is owed even when
    // no API process was listening at that moment (docs/notifications.md).
    await this.deps.store.notifications
      .enqueue(endedOperation(finished))
      .catch((err: unknown) => this.operationLogger(req).warn('notifications not queued', { error: reasonOf(err) }));
    this.deps.events.publish(finished);
    return { operationId: req.operationId, kind: req.kind, status, ...(overall ? { error: overall.toJSON() } : {}) };
  }

  /** Best-effort plugin cleanup after a failed protect (Karbor leaked temporary data here). */
  private async revert(req: OperationRequest, state: OperationState, result: TasksResult): Promise<void> {
    const flow = this.flowOf(req, state);
    const skipped = new Set(result.skipped);
    const started = new Set(flow.tasks.filter((t) => !skipped.has(t.id)).map((t) => t.ref));
    for (const node of state.graph.nodes.filter((n) => started.has(n.ref))) {
      const resource = hookResource(node);
      const op = this.operationFor(req, state.provider, resource);
      if (!op?.revert) continue;
      try {
        await op.revert((await this.contextFor(req, state, resource, new AbortController().signal)) as never);
      } catch (err) {
        this.operationLogger(req).warn('plugin revert failed', { resource: node.ref, error: reasonOf(err) });
      }
    }
  }
}
