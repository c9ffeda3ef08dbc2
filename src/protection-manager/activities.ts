import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { bwkError, isBulwarkError, isRetryable, reasonOf, toErrorJSON } from '../core/errors.js';
import { settleWithinGrace } from '../core/grace.js';
import type { ErrorJSON } from '../core/errors.js';
import type { Lease } from '../bank/port.js';
import type { OperationOutcome, OperationRequest } from './engine.js';
import type { FlowTask } from '../core/flow-graph.js';
import type { Begun, OperationSteps, TasksResult } from './operation-steps.js';

/** What the workflow hands `finish`: task failures already in wire form. */
export type WorkflowTasksResult = TasksResult<ErrorJSON>;

export interface ActivityDeps {
  steps: OperationSteps;
  /** How often a running hook heartbeats (a third of the heartbeat timeout). */
  heartbeatIntervalMs: number;
  leaseTtlMs: number;
  /** A cancelled hook that has not returned after this long is abandoned (tasks.cancel_grace_ms). */
  cancelGraceMs: number;
  /** This process, for errors that depend on where it runs: `agent n1 on host h`, `worker on host h`. */
  where: string;
  /** tasks.retry.max_attempts, as the workflow retries: a failure before the last attempt is `task_retrying`. */
  maxAttempts: number;
}

/**
 * Errors leave activities as ApplicationFailures typed by their Bulwark code, non-retryable unless
 * the code (or the plugin) says otherwise: Temporal then retries only what is worth retrying, and the
 * workflow reads the code back from `failure.type`.
 */
function asFailure(err: unknown): ApplicationFailure {
  const json = toErrorJSON(err);
  return ApplicationFailure.create({ type: json.code, message: json.message, nonRetryable: !isRetryable(err), details: [json] });
}

/**
 * The operation's own checkpoint missing while it runs means this process opened another bank than
 * the one the operation began in (an agent with a home of its own): say that, not "not found".
 */
async function inOperationBank<T>(deps: ActivityDeps, request: OperationRequest, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isBulwarkError(err, 'BWK_ERR_CHECKPOINT_NOT_FOUND') && err.details?.id === request.checkpointId) {
      const bank = deps.steps.bankOf(request.providerId);
      throw bwkError('BWK_ERR_BANK_NOT_VISIBLE', {
        where: deps.where,
        operation: request.operationId,
        checkpoint: request.checkpointId,
        bank: bank.localDirectory ? `${bank.kind} bank at ${bank.localDirectory}` : `${bank.kind} bank`,
      });
    }
    throw err;
  }
}

async function wrapped<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw asFailure(err);
  }
}

/**
 * The activities of the operation workflow, built from real dependencies (a worker's app, or a test's
 * temp bank and catalog). They are thin: all logic is in OperationSteps, shared with the local engine.
 * Results are small (ids, the flow graph once); plugin data goes to the bank, never into history.
 */
export function createActivities(deps: ActivityDeps) {
  return {
    async begin(request: OperationRequest): Promise<Begun> {
      return wrapped(() => deps.steps.begin(request));
    },

    async runTask(request: OperationRequest, task: FlowTask): Promise<void> {
      const ctx = Context.current();
      let details: unknown = ctx.info.heartbeatDetails ?? null;
      // Cancellation reaches an activity only through heartbeats, so beat even while a hook is silent.
      const timer = setInterval(() => ctx.heartbeat(details), deps.heartbeatIntervalMs);
      const signal = ctx.cancellationSignal;
      deps.steps.taskEvent(request, task, { type: 'task_started' });
      try {
        const hook = deps.steps.runTask(request, task, signal, {
          state: details,
          save(state) {
            details = state;
            ctx.heartbeat(state);
          },
        });
        // A hook that ignores cancellation would keep this activity, and the worker's shutdown, waiting forever.
        const abandoned = () => bwkError('BWK_ERR_TASK_ABANDONED', { task: task.id, grace_ms: deps.cancelGraceMs });
        await inOperationBank(deps, request, () => settleWithinGrace(hook, signal, deps.cancelGraceMs, abandoned));
        deps.steps.taskEvent(request, task, { type: 'task_succeeded' });
      } catch (err) {
        if (!signal.aborted) {
          const attempt = ctx.info.attempt;
          const again = isRetryable(err) && attempt < deps.maxAttempts;
          deps.steps.taskEvent(request, task, { type: again ? 'task_retrying' : 'task_failed', reason: reasonOf(err), attempt });
        }
        throw asFailure(err);
      } finally {
        clearInterval(timer);
      }
    },

    async renewLease(request: OperationRequest, lease: Lease): Promise<Lease> {
      return wrapped(() => deps.steps.bankOf(request.providerId).renewLease(lease, deps.leaseTtlMs));
    },

    async finish(request: OperationRequest, result: WorkflowTasksResult, lease: Lease | null): Promise<OperationOutcome> {
      return wrapped(() => deps.steps.finish(request, result, lease));
    },
  };
}

export type OperationActivities = ReturnType<typeof createActivities>;
