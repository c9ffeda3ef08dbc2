/**
 * The operation workflow: begin → hook tasks as activities in flow-graph order with bounded
 * parallelism → finish; on failure or cancellation, finish records it in a non-cancellable scope.
 * Workflow code only: deterministic, no node builtins, activity types imported with `import type`.
 */
import { TimeoutType } from '@temporalio/common';
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  TimeoutFailure,
  continueAsNew,
  isCancellation,
  proxyActivities,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { ErrorJSON } from '../src/core/errors.js';
import type { Lease } from '../src/bank/port.js';
import type { OperationActivities, WorkflowTasksResult } from '../src/protection-manager/activities.js';
import type { OperationOutcome, OperationRequest } from '../src/protection-manager/engine.js';
import type { FlowTask } from '../src/core/flow-graph.js';
import { FlowProgress, type FlowProgressSnapshot } from '../src/core/flow-progress.js';
import type { Begun } from '../src/protection-manager/operation-steps.js';

export interface WorkflowSettings {
  taskQueue: string;
  maxParallel: number;
  taskTimeoutMs: number;
  retry: { maxAttempts: number; initialDelayMs: number; maxDelayMs: number };
  heartbeatTimeoutMs: number;
  agentScheduleToStartMs: number;
  leaseRenewIntervalMs: number;
  /** 0: continue-as-new when Temporal suggests it; otherwise after this many history events (tests). */
  continueAsNewAfterEvents: number;
}

/** Progress carried across continue-as-new. */
export interface WorkflowProgress extends FlowProgressSnapshot<ErrorJSON> {
  begun: Begun;
}

export interface OperationWorkflowInput {
  request: OperationRequest;
  settings: WorkflowSettings;
  progress?: WorkflowProgress;
}

type TaskResult = { ok: true } | { ok: false; cancelled: boolean; error: ErrorJSON };

/** The Bulwark error an activity failure stands for; timeouts get their own codes. */
function errorOf(err: unknown, task: FlowTask | null, node: string | undefined, settings: WorkflowSettings): ErrorJSON {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof TimeoutFailure) {
    if (cause.timeoutType === TimeoutType.SCHEDULE_TO_START && node !== undefined) {
      return {
        code: 'BWK_ERR_AGENT_UNAVAILABLE',
        message:
          `no agent for node "${node}" picked up ${task?.id ?? 'a task'} within ${settings.agentScheduleToStartMs} ms: start ` +
          `\`bulwark agent --node ${node}\` on that node`,
      };
    }
    if (cause.timeoutType === TimeoutType.START_TO_CLOSE) {
      return { code: 'BWK_ERR_TASK_TIMEOUT', message: `task ${task?.id ?? ''} timed out after ${settings.taskTimeoutMs} ms` };
    }
    return {
      code: 'BWK_ERR_TASK_TIMEOUT',
      message: `task ${task?.id ?? ''} stopped heartbeating (its worker died?) and ran out of attempts`,
    };
  }
  if (cause instanceof ApplicationFailure) return { code: cause.type ?? 'BWK_ERR_INTERNAL', message: cause.message };
  return { code: 'BWK_ERR_INTERNAL', message: err instanceof Error ? err.message : String(err) };
}

export async function operationWorkflow(input: OperationWorkflowInput): Promise<OperationOutcome> {
  const { request, settings } = input;
  const retry = {
    maximumAttempts: settings.retry.maxAttempts,
    initialInterval: settings.retry.initialDelayMs,
    maximumInterval: Math.max(settings.retry.maxDelayMs, settings.retry.initialDelayMs),
    backoffCoefficient: 2,
  };
  const control = proxyActivities<OperationActivities>({ taskQueue: settings.taskQueue, startToCloseTimeout: '10 minutes', retry });
  const tasksOn = new Map<string, OperationActivities>();
  const tasksFor = (node: string | undefined): OperationActivities => {
    const key = node ?? '';
    let proxy = tasksOn.get(key);
    if (!proxy) {
      proxy = proxyActivities<OperationActivities>({
        taskQueue: node === undefined ? settings.taskQueue : `bulwark-agent-${node}`,
        startToCloseTimeout: settings.taskTimeoutMs,
        heartbeatTimeout: settings.heartbeatTimeoutMs,
        ...(node === undefined ? {} : { scheduleToStartTimeout: settings.agentScheduleToStartMs }),
        retry,
        // The workflow waits for a cancelled hook to stop before `finish` releases the lease.
        cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
      });
      tasksOn.set(key, proxy);
    }
    return proxy;
  };

  let begun = input.progress?.begun;
  if (!begun) {
    try {
      begun = await control.begin(request);
    } catch (err) {
      // begin recorded the failure itself when it got that far; nothing ran.
      return {
        operationId: request.operationId,
        kind: request.kind,
        status: 'not_started',
        error: isCancellation(err)
          ? { code: 'BWK_ERR_OPERATION_CANCELLED', message: `operation ${request.operationId} was cancelled` }
          : errorOf(err, null, undefined, settings),
      };
    }
  }
  const { flow, nodes } = begun;
  let lease: Lease = begun.lease;
  const progress = new FlowProgress<ErrorJSON>(flow, input.progress);
  let cancelled = false;
  let leaseLost: ErrorJSON | undefined;
  let stopForContinue = false;
  const shouldContinue = () =>
    settings.continueAsNewAfterEvents > 0
      ? workflowInfo().historyLength >= settings.continueAsNewAfterEvents
      : workflowInfo().continueAsNewSuggested;

  const tasksScope = new CancellationScope();
  const renewScope = new CancellationScope();
  const renewing = renewScope
    .run(async () => {
      for (;;) {
        await sleep(settings.leaseRenewIntervalMs);
        try {
          lease = await control.renewLease(request, lease);
        } catch (err) {
          if (isCancellation(err)) throw err;
          // Someone recovered this operation meanwhile: stop writing and let finish record nothing over it.
          leaseLost = errorOf(err, null, undefined, settings);
          tasksScope.cancel();
          return;
        }
      }
    })
    .catch((err: unknown) => {
      if (!isCancellation(err)) throw err;
    });

  const runOne = async (task: FlowTask): Promise<[string, TaskResult]> => {
    const node = nodes[task.ref];
    try {
      await tasksFor(node).runTask(request, task);
      return [task.id, { ok: true }];
    } catch (err) {
      return [task.id, { ok: false, cancelled: isCancellation(err), error: errorOf(err, task, node, settings) }];
    }
  };

  try {
    await tasksScope.run(async () => {
      const running = new Map<string, Promise<[string, TaskResult]>>();
      for (;;) {
        if (!cancelled && !stopForContinue && !tasksScope.consideredCancelled) {
          // The same tasks in the same order as breaking at maxParallel: replays of older histories agree.
          for (const task of progress.ready(running, settings.maxParallel - running.size)) running.set(task.id, runOne(task));
        }
        if (running.size === 0) break;
        const [id, result] = await Promise.race(running.values());
        running.delete(id);
        if (result.ok) progress.succeeded(id);
        else if (result.cancelled || tasksScope.consideredCancelled) cancelled = true;
        else progress.failed(id, result.error);
        if (!stopForContinue && shouldContinue()) stopForContinue = true;
      }
    });
  } catch (err) {
    if (!isCancellation(err)) throw err;
    cancelled = true;
  }
  renewScope.cancel();
  await renewing;

  if (stopForContinue && !cancelled && leaseLost === undefined && progress.unfinished().length > 0) {
    await continueAsNew<typeof operationWorkflow>({ request, settings, progress: { begun: { ...begun, lease }, ...progress.snapshot() } });
  }
  const stopped = progress.skipUnfinished();
  const failed = progress.failures;
  const result: WorkflowTasksResult = {
    // A cancel that found every task finished came too late: the operation ends as its tasks did.
    status:
      cancelled && leaseLost === undefined && stopped.length > 0
        ? 'cancelled'
        : failed.length > 0 || leaseLost !== undefined
          ? 'failed'
          : 'success',
    failed,
    skipped: progress.skipped,
    ...(cancelled && stopped.length > 0 ? { cancelled: stopped } : {}),
    ...(leaseLost ? { error: leaseLost } : {}),
  };
  // Runs even when the workflow is cancelled: the operation must end recorded, its lease released.
  return CancellationScope.nonCancellable(() => control.finish(request, result, leaseLost ? null : lease));
}
