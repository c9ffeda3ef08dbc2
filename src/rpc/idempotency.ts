import { isRetryable } from '../core/errors.js';
import type { RpcReply } from './envelope.js';

/**
 * The transport's share of idempotency (see port.ts): within this process, a key runs the handler at most
 * once while it is in flight or recently finished. Needed because RabbitMQ redelivers a request whose ack was
 * lost with a connection, often to the same server while the first run is still going. Memory is bounded
 * (count and age); outcomes with retryable errors are forgotten at once so a retry can run again.
 */
export class IdempotencyCache {
  private readonly inFlight = new Map<string, Promise<RpcReply>>();
  /** Insertion order is expiry order (one fixed keepMs), so expired entries are always at the front. */
  private readonly finished = new Map<string, { reply: RpcReply; until: number }>();

  constructor(
    private readonly keepMs = 10 * 60_000,
    private readonly maxKept = 10_000,
  ) {}

  /** Runs `work` unless `key` is running or finished recently, in which case that outcome is shared. */
  run(key: string | undefined, work: () => Promise<RpcReply>): Promise<RpcReply> {
    if (key === undefined) return work();
    const done = this.finished.get(key);
    if (done && done.until > Date.now()) return Promise.resolve(done.reply);
    const running = this.inFlight.get(key);
    if (running) return running;
    const run = work()
      .then((reply) => {
        if (reply.ok || !isRetryable(reply.error)) this.remember(key, reply);
        return reply;
      })
      .finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, run);
    return run;
  }

  private remember(key: string, reply: RpcReply): void {
    const now = Date.now();
    this.finished.delete(key);
    this.finished.set(key, { reply, until: now + this.keepMs });
    for (const [oldest, entry] of this.finished) {
      if (entry.until > now && this.finished.size <= this.maxKept) break;
      this.finished.delete(oldest);
    }
  }
}
