/**
 * Every Prometheus metric Bulwark exposes, in one place (docs/operations.md says what each means).
 * Each process keeps its own values in its own registry and serves them on `/metrics`: what a
 * process counts is the work it did. Labels take only values from small fixed sets (status, kind,
 * outcome) or from configuration (provider ids, scheduled operation ids) — never a checkpoint,
 * operation or plan id, which would grow a series per operation.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export const metricsRegistry = new Registry();

/** Seconds, from a quick hook-less noop (well under a second) to a many-hour protect of a large bank. */
const DURATION_BUCKETS = [0.5, 1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 14400, 43200];

const registers = [metricsRegistry];

export const checkpointTotal = new Counter({
  name: 'bulwark_checkpoint_total',
  help: 'Protect operations that ended, by provider and final checkpoint status (available or error).',
  labelNames: ['provider', 'status'] as const,
  registers,
});

export const checkpointDuration = new Histogram({
  name: 'bulwark_checkpoint_duration_seconds',
  help: 'How long protect operations took, from their start to their final status.',
  labelNames: ['provider', 'status'] as const,
  buckets: DURATION_BUCKETS,
  registers,
});

export const checkpointBytes = new Counter({
  name: 'bulwark_checkpoint_bytes',
  help:
    'Bytes of protect operations: kind="read" read from the protected resources, kind="stored" new data written to the bank ' +
    '(after deduplication and compression).',
  labelNames: ['kind'] as const,
  registers,
});

export const restoreTotal = new Counter({
  name: 'bulwark_restore_total',
  help: 'Restores that ended, by final status (success or fail).',
  labelNames: ['status'] as const,
  registers,
});

export const restoreDuration = new Histogram({
  name: 'bulwark_restore_duration_seconds',
  help: 'How long restores took, from their start to their final status.',
  labelNames: ['status'] as const,
  buckets: DURATION_BUCKETS,
  registers,
});

export const verificationTotal = new Counter({
  name: 'bulwark_verification_total',
  help: 'Verifications that ended, by final status (success or fail).',
  labelNames: ['status'] as const,
  registers,
});

export const verificationDuration = new Histogram({
  name: 'bulwark_verification_duration_seconds',
  help: 'How long verifications took, from their start to their final status.',
  labelNames: ['status'] as const,
  buckets: DURATION_BUCKETS,
  registers,
});

export const operationInProgress = new Gauge({
  name: 'bulwark_operation_in_progress',
  help: 'Operations this process is running now, by kind (protect, restore, verify, delete).',
  labelNames: ['kind'] as const,
  registers,
});

export const scheduledFireTotal = new Counter({
  name: 'bulwark_scheduled_fire_total',
  help:
    'Fires of scheduled operations this operation engine claimed, by outcome ' +
    '(started, queued, skipped_overlap, dropped_out_of_window, not_fired).',
  labelNames: ['outcome'] as const,
  registers,
});

export const scheduledLastSuccess = new Gauge({
  name: 'bulwark_scheduled_operation_last_success_timestamp_seconds',
  help: 'When a run of the scheduled operation last ended successfully (Unix seconds), from the operation logs.',
  labelNames: ['scheduled_operation'] as const,
  registers,
});

export const scheduledInterval = new Gauge({
  name: 'bulwark_scheduled_operation_interval_seconds',
  help: "Seconds between the next two due times of an enabled scheduled operation's time trigger (for alerts on missed runs).",
  labelNames: ['scheduled_operation'] as const,
  registers,
});

export const operationEngineLeader = new Gauge({
  name: 'bulwark_operation_engine_leader',
  help: 'Whether this operation engine leads (1) or stands by (0); exactly one should lead.',
  registers,
});

export const bankBytes = new Gauge({
  name: 'bulwark_bank_bytes',
  help: "Bytes of chunk data in the provider's bank, as its last bank check or bank gc in this process counted them.",
  labelNames: ['provider'] as const,
  registers,
});

export const bankCheckLastSuccess = new Gauge({
  name: 'bulwark_bank_check_last_success_timestamp_seconds',
  help: "When a bank check of the provider's bank last found no problem (Unix seconds).",
  labelNames: ['provider'] as const,
  registers,
});

/** The only label names a Bulwark metric may carry (the label-cardinality test holds every metric to this). */
export const BOUNDED_LABELS: ReadonlySet<string> = new Set(['provider', 'status', 'kind', 'outcome', 'scheduled_operation']);

let processMetrics = false;

/** Adds the standard process and Node.js metrics (CPU, memory, event loop lag...), once per process. */
export function startProcessMetrics(): void {
  if (processMetrics) return;
  processMetrics = true;
  collectDefaultMetrics({ register: metricsRegistry });
}
