import { bwkError, reasonOf } from '../../core/errors.js';
import type { BulwarkConfig } from '../../common/config.js';
import type { Logger } from '../../common/logging.js';
import type { Engine, OperationOutcome, OperationRequest } from '../engine.js';
import type { OperationEvents } from '../events.js';
import { LeaseKeeper } from '../leases.js';
import type { OperationSteps } from '../operation-steps.js';
import { runFlow } from './flow-runner.js';

/**
 * The embedded engine: runs an operation's flow graph in this process with bounded parallelism,
 * per-task timeouts, retries with backoff and cancellation. Not durable: if the process dies, the
 * operation's lease expires and start-up recovery marks it failed (never `protecting` forever).
 */
export class LocalEngine implements Engine {
  readonly name = 'local';
  readonly durable = false;
  private readonly running = new Map<string, { abort: AbortController; done: Promise<OperationOutcome> }>();
  private readonly finished = new Map<string, Promise<OperationOutcome>>();

  constructor(
    private readonly steps: OperationSteps,
    private readonly config: BulwarkConfig,
    private readonly events: OperationEvents,
    private readonly logger: Logger,
  ) {}

  execute(request: OperationRequest): Promise<OperationOutcome> {
    const existing = this.running.get(request.operationId);
    if (existing) return existing.done; // one run per operation id, like a Temporal workflow id
    const abort = new AbortController();
    const done = this.run(request, abort).finally(() => {
      this.running.delete(request.operationId);
      // Kept for a late wait(); bounded so a long-lived process does not grow without end.
      this.finished.set(request.operationId, done);
      if (this.finished.size > 1000) this.finished.delete(this.finished.keys().next().value!);
    });
    this.running.set(request.operationId, { abort, done });
    return done;
  }

  async start(request: OperationRequest): Promise<void> {
    void this.execute(request).catch((err: unknown) =>
      this.logger.error('operation crashed', { operation: request.operationId, project: request.projectId, error: reasonOf(err) }),
    );
  }

  wait(operationId: string): Promise<OperationOutcome> {
    const running =
      this.running.get(operationId) ?? (this.finished.has(operationId) ? { done: this.finished.get(operationId)! } : undefined);
    if (!running) {
      return Promise.reject(
        bwkError('BWK_ERR_INVALID_INPUT', {
          reason:
            `operation ${operationId} is not running in this process: the local engine runs an operation inside the process that ` +
            `started it (follow its record instead)`,
        }),
      );
    }
    return running.done;
  }

  private async run(request: OperationRequest, abort: AbortController): Promise<OperationOutcome> {
    const begun = await this.steps.begin(request).catch((err: unknown) => err as Error);
    if (begun instanceof Error) {
      // begin() already recorded the failure when it got as far as taking the lease; otherwise nothing was written.
      return {
        operationId: request.operationId,
        kind: request.kind,
        status: 'not_started',
        error: { code: (begun as { code?: string }).code ?? 'BWK_ERR_INTERNAL', message: begun.message },
      };
    }
    const { flow, lease } = begun;
    let lostError: Error | undefined;
    const keeper = new LeaseKeeper(
      this.getBank(request),
      lease,
      this.config.lease.ttl_ms,
      this.config.lease.renew_interval_ms,
      (err) => {
        lostError = err;
        abort.abort(err);
      },
      this.logger.child({ operation: request.operationId, project: request.projectId, checkpoint: request.checkpointId }),
    );
    const refOf = new Map(flow.tasks.map((t) => [t.id, t.ref]));
    const cfg = this.config.tasks;
    const outcome = await runFlow(flow, (task, ctx) => this.steps.runTask(request, task, ctx.signal), {
      maxParallel: cfg.max_parallel,
      taskTimeoutMs: cfg.timeout_ms,
      cancelGraceMs: cfg.cancel_grace_ms,
      retry: { maxAttempts: cfg.retry.max_attempts, initialDelayMs: cfg.retry.initial_delay_ms, maxDelayMs: cfg.retry.max_delay_ms },
      signal: abort.signal,
      onEvent: (e) => {
        const base = { operationId: request.operationId, task: e.taskId, resource: refOf.get(e.taskId) ?? '' };
        if (e.type === 'task_failed' || e.type === 'task_retrying')
          this.events.publish({ ...base, type: e.type, reason: reasonOf(e.error), ...(e.attempt ? { attempt: e.attempt } : {}) });
        else this.events.publish({ ...base, type: e.type });
      },
    });
    const latest = await keeper.stop();
    const result = lostError
      ? { status: 'failed' as const, failed: outcome.failed, skipped: outcome.skipped, error: lostError }
      : { status: outcome.status, failed: outcome.failed, skipped: outcome.skipped, cancelled: outcome.cancelled };
    // A lost lease means recovery owns the records now: do not overwrite what it wrote.
    return this.steps.finish(request, result, lostError ? null : latest);
  }

  private getBank(request: OperationRequest) {
    return this.steps.bankOf(request.providerId);
  }

  /** Whether this process is running the operation (local operations live only in their process). */
  async isRunning(operationId: string): Promise<boolean> {
    return this.running.has(operationId);
  }

  async cancel(operationId: string): Promise<void> {
    this.running.get(operationId)?.abort.abort();
  }

  async close(): Promise<void> {
    for (const r of this.running.values()) r.abort.abort();
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
  }
}
