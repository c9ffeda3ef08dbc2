import { bwkError } from '../core/errors.js';
import { silentLogger, type Logger } from '../common/logging.js';
import {
  DEFAULT_CALL_TIMEOUT_MS,
  DEFAULT_PREFETCH,
  decodeRequest,
  encodeEvent,
  encodeReply,
  encodeRequest,
  errorReply,
  invokeHandler,
  settleReply,
} from './envelope.js';
import { IdempotencyCache } from './idempotency.js';
import type { CallOptions, RpcHandler, RpcServer, RpcTransport } from './port.js';
import { topicMatches } from './topic-pattern.js';

/** One request waiting in a queue or being handled; `settle` takes the reply as wire text. */
interface Job {
  request: string;
  settle(replyText: string): void;
  fail(err: Error): void;
}

interface QueueState {
  servers: LocalServer[];
  backlog: Job[];
  next: number;
  dedup: IdempotencyCache;
}

class LocalServer implements RpcServer {
  active = 0;
  closed = false;
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly state: QueueState,
    private readonly handler: RpcHandler,
    readonly prefetch: number,
    private readonly dispatch: (state: QueueState) => void,
  ) {}

  run(job: Job): void {
    this.active++;
    const work = (async () => {
      let reply;
      try {
        const request = decodeRequest(job.request);
        reply = await this.state.dedup.run(request.meta.idempotencyKey, () => invokeHandler(this.handler, request));
      } catch (err) {
        reply = errorReply(err);
      }
      job.settle(encodeReply(reply));
    })().finally(() => {
      this.active--;
      this.running.delete(work);
      this.dispatch(this.state);
    });
    this.running.add(work);
  }

  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.state.servers = this.state.servers.filter((s) => s !== this);
    }
    await Promise.allSettled([...this.running]);
  }
}

interface Subscription {
  pattern: string;
  listener: (routingKey: string, event: unknown) => void;
  active: boolean;
}

/**
 * The embedded transport: calls the handler in this process, but through the same JSON envelopes, queueing,
 * prefetch, round-robin between servers, timeouts and topic routing as the AMQP one, so what works embedded
 * works distributed. Requests sent before any server exists wait in their queue, as in RabbitMQ.
 */
export class InProcessTransport implements RpcTransport {
  private readonly queues = new Map<string, QueueState>();
  private readonly subscriptions = new Set<Subscription>();
  private readonly waiting = new Set<Job>();
  private closed = false;

  constructor(private readonly logger: Logger = silentLogger) {}

  async serve(queue: string, handler: RpcHandler, options: { prefetch?: number } = {}): Promise<RpcServer> {
    this.assertOpen();
    const state = this.queueState(queue);
    const server = new LocalServer(state, handler, Math.max(1, options.prefetch ?? DEFAULT_PREFETCH), (s) => this.dispatch(s));
    state.servers.push(server);
    this.dispatch(state);
    return server;
  }

  async call<T>(queue: string, method: string, params: unknown, options: CallOptions = {}): Promise<T> {
    this.assertOpen();
    // atMostOnce changes nothing here: nothing in this process redelivers a request.
    const request = encodeRequest(method, params, options);
    const timeoutMs = options.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    const state = this.queueState(queue);
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const finish = (outcome: () => void): void => {
        if (done) {
          this.logger.debug('late RPC reply dropped', { queue, method });
          return;
        }
        done = true;
        clearTimeout(timer);
        this.waiting.delete(job);
        const queued = state.backlog.indexOf(job);
        if (queued >= 0) state.backlog.splice(queued, 1);
        outcome();
      };
      const job: Job = {
        request,
        settle: (text) =>
          finish(() => {
            try {
              resolve(settleReply(text) as T);
            } catch (err) {
              reject(err as Error);
            }
          }),
        fail: (err) => finish(() => reject(err)),
      };
      const timer = setTimeout(() => job.fail(bwkError('BWK_ERR_RPC_TIMEOUT', { method, queue, timeout_ms: timeoutMs })), timeoutMs);
      this.waiting.add(job);
      state.backlog.push(job);
      // Asynchronous like a broker round trip: the handler never runs inside call() itself.
      queueMicrotask(() => this.dispatch(state));
    });
  }

  async publish(routingKey: string, event: unknown): Promise<void> {
    if (this.closed) {
      this.logger.warn('event dropped: RPC transport is closed', { routing_key: routingKey });
      return;
    }
    let text: string;
    try {
      text = encodeEvent(event);
    } catch (err) {
      this.logger.warn('event dropped: not JSON', { routing_key: routingKey, reason: (err as Error).message });
      return;
    }
    for (const sub of this.subscriptions) {
      if (!topicMatches(sub.pattern, routingKey)) continue;
      setImmediate(() => {
        if (!sub.active) return;
        try {
          sub.listener(routingKey, JSON.parse(text));
        } catch (err) {
          this.logger.warn('event listener threw', { routing_key: routingKey, reason: (err as Error).message });
        }
      });
    }
  }

  async subscribe(pattern: string, listener: (routingKey: string, event: unknown) => void): Promise<() => Promise<void>> {
    this.assertOpen();
    const sub: Subscription = { pattern, listener, active: true };
    this.subscriptions.add(sub);
    return async () => {
      sub.active = false;
      this.subscriptions.delete(sub);
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const state of this.queues.values()) await Promise.all([...state.servers].map((s) => s.close()));
    for (const job of [...this.waiting])
      job.fail(bwkError('BWK_ERR_RPC_UNAVAILABLE', { address: 'in-process', reason: 'the transport was closed' }));
    for (const sub of this.subscriptions) sub.active = false;
    this.subscriptions.clear();
  }

  private assertOpen(): void {
    if (this.closed) throw bwkError('BWK_ERR_RPC_UNAVAILABLE', { address: 'in-process', reason: 'the transport was closed' });
  }

  private queueState(queue: string): QueueState {
    let state = this.queues.get(queue);
    if (!state) {
      state = { servers: [], backlog: [], next: 0, dedup: new IdempotencyCache() };
      this.queues.set(queue, state);
    }
    return state;
  }

  /** Hands queued jobs to servers with spare prefetch, round robin like RabbitMQ's competing consumers. */
  private dispatch(state: QueueState): void {
    while (state.backlog.length > 0) {
      const count = state.servers.length;
      let chosen: LocalServer | undefined;
      for (let i = 0; i < count && !chosen; i++) {
        const server = state.servers[(state.next + i) % count];
        if (server && server.active < server.prefetch) {
          chosen = server;
          state.next = (state.next + i + 1) % count;
        }
      }
      if (!chosen) return;
      chosen.run(state.backlog.shift() as Job);
    }
  }
}
