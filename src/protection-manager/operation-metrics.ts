/**
 * Turns the operation events of this process into its Prometheus metrics: the process that runs an
 * operation's steps (serve, a protection-service with the local engine, a Temporal worker) counts it,
 * so no operation is counted twice across processes.
 */
import {
  checkpointBytes,
  checkpointDuration,
  checkpointTotal,
  operationInProgress,
  restoreDuration,
  restoreTotal,
  verificationDuration,
  verificationTotal,
} from '../common/metrics.js';
import type { ChunkStore } from '../bank/chunks/store.js';
import type { OperationKind } from './engine.js';
import type { OperationEvents } from './events.js';

interface Running {
  kind: OperationKind;
  startedAt: number;
  /** Bytes read so far per resource: progress reports are cumulative, so only the growth is counted. */
  read: Map<string, number>;
}

/** Starts counting; the returned function stops (an app's close). */
export function recordOperationMetrics(events: OperationEvents, stores: Iterable<ChunkStore>, now: () => number = Date.now): () => void {
  const running = new Map<string, Running>();
  const inProgress = () => {
    const counts: Record<OperationKind, number> = { protect: 0, restore: 0, verify: 0, delete: 0 };
    for (const r of running.values()) counts[r.kind]++;
    for (const [kind, n] of Object.entries(counts)) operationInProgress.set({ kind }, n);
  };
  inProgress();
  const unsubscribe = events.subscribe((e) => {
    if (e.type === 'operation_started') {
      running.set(e.operationId, { kind: e.kind, startedAt: now(), read: new Map() });
      inProgress();
    } else if (e.type === 'progress') {
      const r = running.get(e.operationId);
      if (r?.kind !== 'protect' || (e.unit !== undefined && e.unit !== 'bytes')) return;
      const before = r.read.get(e.resource) ?? 0;
      // A retried hook starts counting again from 0: what it reads again was counted already.
      if (e.done <= before) return;
      r.read.set(e.resource, e.done);
      checkpointBytes.inc({ kind: 'read' }, e.done - before);
    } else if (e.type === 'operation_finished') {
      const r = running.get(e.operationId);
      running.delete(e.operationId);
      inProgress();
      // Another worker may have begun what this one finishes (Temporal): counted, its duration unknown here.
      const seconds = r ? (now() - r.startedAt) / 1000 : undefined;
      if (e.kind === 'protect') {
        checkpointTotal.inc({ provider: e.providerId, status: e.status });
        if (seconds !== undefined) checkpointDuration.observe({ provider: e.providerId, status: e.status }, seconds);
      } else if (e.kind === 'restore') {
        restoreTotal.inc({ status: e.status });
        if (seconds !== undefined) restoreDuration.observe({ status: e.status }, seconds);
      } else if (e.kind === 'verify') {
        verificationTotal.inc({ status: e.status });
        if (seconds !== undefined) verificationDuration.observe({ status: e.status }, seconds);
      }
    }
  });
  const stops = [...new Set(stores)].map((store) => store.onDataStored((bytes) => checkpointBytes.inc({ kind: 'stored' }, bytes)));
  return () => {
    unsubscribe();
    for (const stop of stops) stop();
  };
}
