/**
 * Runs a FlowGraph in-process: the local engine's scheduler. Ordering decisions (what is ready, what a
 * failure skips) come from core/flow-progress, the same bookkeeping a Temporal workflow uses, so both engines agree.
 */
import { bwkError, isRetryable } from '../../core/errors.js';
import { topologicalOrder, type FlowGraph, type FlowTask } from '../../core/flow-graph.js';
import { FlowProgress } from '../../core/flow-progress.js';
import { settleWithinGrace } from '../../core/grace.js';

export interface RetryPolicy {
  /** Attempts in all, the first included; 1 means no retry. */
  maxAttempts: number;
  /** Upper bound of the first backoff; it doubles per attempt. */
  initialDelayMs: number;
  /** Upper bound no backoff exceeds. */
  maxDelayMs: number;
}

export type FlowEventType = 'task_started' | 'task_succeeded' | 'task_failed' | 'task_retrying' | 'task_skipped';

export interface FlowEvent {
  type: FlowEventType;
  taskId: string;
  attempt?: number;
  error?: unknown;
}

export interface RunFlowOptions {
  /** Tasks running at once, at most. */
  maxParallel: number;
  /** Per attempt; on expiry the task's signal is aborted and the attempt fails with BWK_ERR_TASK_TIMEOUT. */
  taskTimeoutMs: number;
  retry: RetryPolicy;
  /**
   * How long an attempt whose signal was aborted by cancellation may take to return before it is
   * abandoned (failed BWK_ERR_TASK_ABANDONED, no longer awaited); default 10 s. A hook that ignores
   * its signal then cannot keep an operation, or the process closing it, waiting forever.
   */
  cancelGraceMs?: number;
  /** Cancels the run: nothing new starts and running tasks see their signal aborted. */
  signal?: AbortSignal;
  /** Observes progress (for logs and records); it cannot change the outcome, and what it throws is ignored. */
  onEvent?(e: FlowEvent): void;
}

export type TaskFn = (task: FlowTask, ctx: { attempt: number; signal: AbortSignal }) => Promise<void>;

export interface FlowOutcome {
  status: 'success' | 'failed' | 'cancelled';
  succeeded: string[];
  failed: Array<{ taskId: string; error: unknown }>;
  /** Tasks that never ran: successors of a failed task, or everything not started before cancellation. */
  skipped: string[];
  /** Tasks the cancellation stopped: running ones (also in `failed`, with how they ended) and unstarted ones (in `skipped`). */
  cancelled: string[];
}

/**
 * Exponential backoff with full jitter: uniform in [0, cap] whole ms, cap = min(maxDelayMs,
 * initialDelayMs·2^(attempt-1)); `attempt` is the 1-based attempt that just failed. Full jitter spreads
 * the retries of many tasks that failed together (a bank hiccup) instead of retrying them in lockstep.
 * Pure given `random`.
 */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const exponent = Math.max(0, Math.floor(attempt) - 1);
  const cap = Math.max(0, Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** exponent));
  return Math.floor(Math.min(Math.max(random(), 0), 1) * cap);
}

type AttemptResult = { ok: true } | { ok: false; error: unknown };

type Emit = (e: FlowEvent) => void;

/**
 * Runs `flow`, calling `run` once per task (more on retryable errors). A failed task does not stop
 * independent tasks; its transitive successors are skipped. Resolves, never rejects, once no task is
 * running: every task is then in exactly one of succeeded, failed or skipped.
 */
export async function runFlow(flow: FlowGraph, run: TaskFn, options: RunFlowOptions): Promise<FlowOutcome> {
  validateOptions(options);
  topologicalOrder(flow); // a cyclic flow would leave tasks that never become ready: refuse it up front
  const emit: Emit = (e) => {
    try {
      options.onEvent?.(e);
    } catch {
      // An observer's bug must not turn into a task failure or a stuck run.
    }
  };
  const progress = new FlowProgress<unknown>(flow);
  const skipped = (ids: string[]): void => {
    for (const taskId of ids) emit({ type: 'task_skipped', taskId });
  };
  const running = new Map<string, AbortController>();
  // Tasks finish into a queue the loop drains: racing every running task's promise at each step
  // would cost the number running per step and leave a handler on each of them per step.
  const finished: Array<{ task: FlowTask; result: AttemptResult }> = [];
  let wake: (() => void) | undefined;
  const cancel = options.signal;
  let cancelled = cancel?.aborted ?? false;
  const stoppedRunning: string[] = [];
  const onCancel = (): void => {
    cancelled = true;
    for (const controller of running.values()) controller.abort(cancel!.reason);
  };
  cancel?.addEventListener('abort', onCancel, { once: true });
  try {
    for (;;) {
      if (!cancelled) {
        for (const task of progress.ready(running, options.maxParallel - running.size)) {
          const controller = new AbortController();
          void runTask(task, run, controller.signal, options, emit).then((result) => {
            finished.push({ task, result });
            wake?.();
          });
          running.set(task.id, controller);
        }
      }
      if (running.size === 0) break;
      if (finished.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
      const { task, result } = finished.shift()!;
      running.delete(task.id);
      if (result.ok) progress.succeeded(task.id);
      else {
        if (cancelled) stoppedRunning.push(task.id);
        skipped(progress.failed(task.id, result.error));
      }
    }
  } finally {
    cancel?.removeEventListener('abort', onCancel);
  }
  // Only cancellation leaves tasks behind: it stopped them from starting.
  const stopped = progress.skipUnfinished();
  skipped(stopped);
  // A cancel that stopped nothing came too late: every task had finished, so the run ends as they did.
  const stoppedAny = stoppedRunning.length > 0 || stopped.length > 0;
  const status = cancelled && stoppedAny ? 'cancelled' : progress.failures.length > 0 ? 'failed' : 'success';
  return {
    status,
    succeeded: progress.succeededIds,
    failed: progress.failures,
    skipped: progress.skipped,
    cancelled: [...stoppedRunning, ...stopped],
  };
}

/** All attempts of one task; `signal` is the task's, aborted on cancellation. Never rejects. */
async function runTask(task: FlowTask, run: TaskFn, signal: AbortSignal, options: RunFlowOptions, emit: Emit): Promise<AttemptResult> {
  for (let attempt = 1; ; attempt++) {
    emit({ type: 'task_started', taskId: task.id, attempt });
    const result = await runAttempt(task, attempt, run, signal, options);
    if (result.ok) {
      emit({ type: 'task_succeeded', taskId: task.id, attempt });
      return result;
    }
    if (attempt < options.retry.maxAttempts && !signal.aborted && isRetryable(result.error)) {
      emit({ type: 'task_retrying', taskId: task.id, attempt, error: result.error });
      await sleep(backoffDelay(options.retry, attempt), signal);
      if (!signal.aborted) continue;
    }
    emit({ type: 'task_failed', taskId: task.id, attempt, error: result.error });
    return result;
  }
}

export const DEFAULT_CANCEL_GRACE_MS = 10_000;

/**
 * One attempt, raced against its timeout and, once cancelled, against a grace period: a task that
 * ignores its aborted signal is abandoned rather than awaited, so neither a timeout nor a cancellation
 * can hang the run. Never rejects.
 */
async function runAttempt(
  task: FlowTask,
  attempt: number,
  run: TaskFn,
  parent: AbortSignal,
  options: RunFlowOptions,
): Promise<AttemptResult> {
  const timeoutMs = options.taskTimeoutMs;
  const graceMs = options.cancelGraceMs ?? DEFAULT_CANCEL_GRACE_MS;
  const controller = new AbortController();
  const onParentAbort = (): void => controller.abort(parent.reason);
  if (parent.aborted) onParentAbort();
  else parent.addEventListener('abort', onParentAbort, { once: true });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<AttemptResult>((resolve) => {
    timer = setTimeout(() => {
      const error = bwkError('BWK_ERR_TASK_TIMEOUT', { task: task.id, timeout_ms: timeoutMs });
      controller.abort(error);
      resolve({ ok: false, error });
    }, timeoutMs);
  });
  const abandoned = (): Error => bwkError('BWK_ERR_TASK_ABANDONED', { task: task.id, grace_ms: graceMs });
  // Both handlers attached here: a late rejection from an abandoned attempt is never unhandled.
  const attempted = settleWithinGrace((async () => run(task, { attempt, signal: controller.signal }))(), parent, graceMs, abandoned).then(
    (): AttemptResult => ({ ok: true }),
    (error: unknown): AttemptResult => ({ ok: false, error }),
  );
  try {
    return await Promise.race([attempted, timedOut]);
  } finally {
    clearTimeout(timer);
    parent.removeEventListener('abort', onParentAbort);
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const wake = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', wake);
      resolve();
    };
    const timer = setTimeout(wake, ms);
    signal.addEventListener('abort', wake, { once: true });
  });
}

// setTimeout treats delays past 2^31-1 ms as 1 ms, which would turn a long timeout into an instant one.
const MAX_TIMER_MS = 2_147_483_647;

function validateOptions(o: RunFlowOptions): void {
  const problems: string[] = [];
  if (!Number.isInteger(o.maxParallel) || o.maxParallel < 1) problems.push(`maxParallel must be an integer >= 1 (got ${o.maxParallel})`);
  if (o.cancelGraceMs !== undefined && !(o.cancelGraceMs >= 0 && o.cancelGraceMs <= MAX_TIMER_MS))
    problems.push(`cancelGraceMs must be in 0..${MAX_TIMER_MS} (got ${o.cancelGraceMs})`);
  if (!(o.taskTimeoutMs > 0 && o.taskTimeoutMs <= MAX_TIMER_MS))
    problems.push(`taskTimeoutMs must be in 1..${MAX_TIMER_MS} (got ${o.taskTimeoutMs})`);
  if (!Number.isInteger(o.retry.maxAttempts) || o.retry.maxAttempts < 1)
    problems.push(`retry.maxAttempts must be an integer >= 1 (got ${o.retry.maxAttempts})`);
  if (!(o.retry.initialDelayMs >= 0 && o.retry.maxDelayMs >= 0 && o.retry.maxDelayMs <= MAX_TIMER_MS)) {
    problems.push(
      `retry delays must be in 0..${MAX_TIMER_MS} ms (got initialDelayMs ${o.retry.initialDelayMs}, maxDelayMs ${o.retry.maxDelayMs})`,
    );
  }
  if (problems.length > 0) throw bwkError('BWK_ERR_INVALID_INPUT', { reason: `flow runner options: ${problems.join('; ')}` });
}
