import type { BulwarkConfig } from '../../common/config.js';
import type { WorkflowSettings } from '../../../workflows/operation.js';

/** The engine settings a workflow run carries (workflows cannot read config files). */
export function workflowSettings(config: BulwarkConfig): WorkflowSettings {
  const e = config.tasks;
  return {
    taskQueue: config.temporal.task_queue,
    maxParallel: e.max_parallel,
    taskTimeoutMs: e.timeout_ms,
    retry: {
      maxAttempts: e.retry.max_attempts,
      initialDelayMs: Math.max(1, e.retry.initial_delay_ms),
      maxDelayMs: Math.max(1, e.retry.max_delay_ms),
    },
    heartbeatTimeoutMs: config.temporal.heartbeat_timeout_ms,
    agentScheduleToStartMs: config.temporal.agent_schedule_to_start_timeout_ms,
    leaseRenewIntervalMs: config.lease.renew_interval_ms,
    continueAsNewAfterEvents: config.temporal.continue_as_new_after_events,
  };
}
