import { hostname } from 'node:os';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { BulwarkConfig } from '../../common/config.js';
import { bwkError } from '../../core/errors.js';
import type { Logger } from '../../common/logging.js';
import { createActivities } from '../activities.js';
import { temporalTls } from './temporal-connection.js';
import type { OperationSteps } from '../operation-steps.js';

import { WORKFLOWS_PATH } from '../workflows-path.js';

export { WORKFLOWS_PATH };

let bundle: ReturnType<typeof bundleWorkflowCode> | undefined;
let sdkLogger: Logger | undefined;

/**
 * The SDK logs to stderr by default, which would mix into CLI output; its runtime is process-wide and
 * installed once, so it forwards to whichever Bulwark logger started the latest worker.
 */
function routeSdkLogs(logger: Logger): void {
  const first = sdkLogger === undefined;
  sdkLogger = logger;
  if (!first) return;
  const level = (l: string) =>
    (l === 'ERROR' ? 'error' : l === 'WARN' ? 'warn' : l === 'INFO' ? 'info' : 'debug') as 'error' | 'warn' | 'info' | 'debug';
  try {
    Runtime.install({
      // Signals are Bulwark's own: a CLI's Ctrl-C cancels its operation, and a worker process shuts its
      // workers down itself (processes/worker.ts); the SDK's default would drain the in-process worker
      // under a CLI that is still waiting for it.
      shutdownSignals: [],
      logger: new DefaultLogger('INFO', (entry) => sdkLogger?.[level(entry.level)](`temporal: ${entry.message}`, entry.meta ?? {})),
    });
  } catch {
    // Already installed by the host (a test harness): keep its logger.
  }
}

/** Bundles the workflow code once per process (webpack; ~1 s). A forbidden import fails here. */
export function workflowBundle(): ReturnType<typeof bundleWorkflowCode> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    logger: {
      log: () => undefined,
      trace: () => undefined,
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: () => undefined,
    },
  });
  return bundle;
}

export interface RunningWorker {
  /** Resolves when the worker has stopped (after shutdown, or on a fatal error). */
  done: Promise<void>;
  /** Stops polling, lets running activities finish within the grace time, then cancels them. */
  shutdown(): Promise<void>;
}

/**
 * A Temporal worker. `worker`: workflows and activities on the main task queue. `agent`: activities
 * only, on `bulwark-agent-<node>` — agents poll, so nodes need no inbound ports.
 */
export async function startWorker(
  opts: { role: 'worker' } | { role: 'agent'; node: string },
  deps: {
    config: BulwarkConfig;
    home: string;
    steps: OperationSteps;
    logger: Logger;
  },
): Promise<RunningWorker> {
  const t = deps.config.temporal;
  routeSdkLogs(deps.logger);
  let connection: NativeConnection;
  try {
    const tls = temporalTls(t, deps.home);
    connection = await NativeConnection.connect({ address: t.address, ...(tls ? { tls } : {}) });
  } catch (err) {
    throw bwkError('BWK_ERR_ENGINE_UNAVAILABLE', { engine: 'temporal', address: t.address, reason: (err as Error).message });
  }
  const activities = createActivities({
    steps: deps.steps,
    heartbeatIntervalMs: Math.max(200, Math.floor(t.heartbeat_timeout_ms / 3)),
    leaseTtlMs: deps.config.lease.ttl_ms,
    cancelGraceMs: deps.config.tasks.cancel_grace_ms,
    where: opts.role === 'agent' ? `agent ${opts.node} on host ${hostname()}` : `worker on host ${hostname()}`,
    maxAttempts: deps.config.tasks.retry.max_attempts,
  });
  const taskQueue = opts.role === 'worker' ? t.task_queue : `bulwark-agent-${opts.node}`;
  const worker = await Worker.create({
    connection,
    namespace: t.namespace,
    taskQueue,
    activities,
    ...(opts.role === 'worker' ? { workflowBundle: await workflowBundle() } : {}),
    maxConcurrentActivityTaskExecutions: t.max_concurrent_activities,
    shutdownGraceTime: t.shutdown_grace_time_ms,
    shutdownForceTime: t.shutdown_force_time_ms,
  });
  deps.logger.info('temporal worker started', { role: opts.role, taskQueue, address: t.address });
  const done = worker.run().finally(() => connection.close());
  return {
    done,
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}
