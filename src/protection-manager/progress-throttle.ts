/**
 * Progress reports of running hooks, thinned to at most one event per operation per interval. A
 * plugin may report on every block it reads (hundreds a second); each event crosses RabbitMQ, SSE
 * and a terminal, so a few a second per operation is plenty. Reports in between are not lost: the
 * latest of each resource is kept and sent when the interval is over, or at once when the hook ends
 * (`flush`), so the last figure of a resource always arrives before its task ends.
 */
import type { OperationEvent, OperationEvents } from './events.js';

type Progress = Extract<OperationEvent, { type: 'progress' }>;

/** At most this many progress events per operation per second. */
export const PROGRESS_EVENTS_PER_SECOND = 4;

interface OperationProgress {
  lastSentAt: number;
  /** Latest unsent report per resource, in the order resources first reported. */
  pending: Map<string, Progress>;
  /** Sends the next kept report when the interval is over. */
  timer?: NodeJS.Timeout;
}

export class ProgressThrottle {
  private readonly operations = new Map<string, OperationProgress>();

  constructor(
    private readonly events: OperationEvents,
    private readonly intervalMs = 1000 / PROGRESS_EVENTS_PER_SECOND,
    private readonly now: () => number = Date.now,
  ) {}

  /** A hook's report: published now if the operation's interval is over, else kept (replacing an older one of the resource). */
  report(event: Progress): void {
    let op = this.operations.get(event.operationId);
    if (!op) this.operations.set(event.operationId, (op = { lastSentAt: -Infinity, pending: new Map() }));
    op.pending.delete(event.resource);
    op.pending.set(event.resource, event);
    if (op.timer) return;
    const wait = op.lastSentAt + this.intervalMs - this.now();
    if (wait <= 0) this.sendNext(event.operationId, op);
    else op.timer = setTimeout(() => this.sendNext(event.operationId, op), wait).unref();
  }

  /** Publishes what a resource's hook reported last and was not sent yet (its hook ended). */
  flush(operationId: string, resource: string): void {
    const op = this.operations.get(operationId);
    const kept = op?.pending.get(resource);
    if (!op || !kept) return;
    op.pending.delete(resource);
    op.lastSentAt = this.now();
    this.events.publish(kept);
  }

  /**
   * Sends the oldest kept report and arms the timer for the next interval, which sends the next one
   * or, when none came, forgets the operation: a finished operation leaves nothing behind.
   */
  private sendNext(operationId: string, op: OperationProgress): void {
    delete op.timer;
    const next = op.pending.entries().next().value;
    if (!next) {
      this.operations.delete(operationId);
      return;
    }
    op.pending.delete(next[0]);
    op.lastSentAt = this.now();
    this.events.publish(next[1]);
    op.timer = setTimeout(() => this.sendNext(operationId, op), this.intervalMs).unref();
  }
}
