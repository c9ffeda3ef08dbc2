import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { bwkError, type BulwarkError } from '../core/errors.js';
import type { Logger } from '../common/logging.js';
import { AmqpLink, type ReconnectOptions } from './amqp-link.js';
import type { Attachment } from './amqp-attachment.js';
import { AmqpQueueServer } from './amqp-server.js';
import { AmqpSubscription } from './amqp-subscription.js';
import { DEFAULT_CALL_TIMEOUT_MS, DEFAULT_PREFETCH, EVENTS_EXCHANGE, encodeEvent, encodeRequest, settleReply } from './envelope.js';
import { IdempotencyCache } from './idempotency.js';
import type { CallOptions, RpcHandler, RpcServer, RpcTransport } from './port.js';

/** RabbitMQ's direct reply-to pseudo-queue: replies go straight to the caller's channel, no reply queue to clean up. */
const REPLY_TO = 'amq.rabbitmq.reply-to';

export interface AmqpTransportOptions {
  /** How long `connect` waits for the first connection before rejecting BWK_ERR_RPC_UNAVAILABLE (default 15 s). */
  connectTimeoutMs?: number;
  /** Backoff between reconnection attempts. */
  reconnect?: ReconnectOptions;
  /** How long `publish` waits for a connection before dropping the event (default 5 s). */
  publishWaitMs?: number;
  /** Shown in the RabbitMQ management UI (default `bulwark-rpc`). */
  connectionName?: string;
  /** The topic exchange of operation events (default `bulwark.events`): one per deployment sharing a broker. */
  eventsExchange?: string;
}

/** A live connection with its client channel (requests, replies), its events channel, and the request queues declared on it. */
interface Session {
  model: ChannelModel;
  channel: Channel;
  /** In confirm mode: a publish is done once the broker has the event, so closing right after loses nothing. */
  events: ConfirmChannel;
  declared: Set<string>;
}

interface PendingCall {
  queue: string;
  method: string;
  deadline: number;
  /** The session the request went out on; unset while waiting for a connection. */
  sentOn?: Session;
  timer: NodeJS.Timeout;
  resolve(value: unknown): void;
  reject(err: Error): void;
}

/**
 * RPC over RabbitMQ: durable request queues with competing consumers, replies through direct reply-to matched
 * by correlation id, events on the `bulwark.events` topic exchange. Survives the broker: the link reconnects
 * with backoff and `setup` re-creates the client channel, every server and every subscription; calls wait for a
 * connection within their timeout, and calls in flight on a lost connection fail at once (their reply address
 * died with it). The URL's password appears in no log line and no error: only `link.address` (masked) does.
 */
export class AmqpTransport implements RpcTransport {
  private readonly link: AmqpLink;
  private session: Session | undefined;
  private readonly attachments = new Set<Attachment>();
  private readonly pending = new Map<string, PendingCall>();
  private readonly sessionWaiters = new Set<() => void>();
  private readonly dedup = new Map<string, IdempotencyCache>();
  private closed = false;
  private readonly exchange: string;

  /** Connects to `url`; rejects BWK_ERR_RPC_UNAVAILABLE (URL masked) when no connection comes up in time. */
  static async connect(url: string, logger: Logger, options: AmqpTransportOptions = {}): Promise<AmqpTransport> {
    const transport = new AmqpTransport(url, logger, options);
    const waitMs = options.connectTimeoutMs ?? 15_000;
    transport.link.start();
    if (!(await transport.waitSession(Date.now() + waitMs))) {
      const reason = transport.link.lastError;
      await transport.close();
      throw transport.unavailable(
        `no connection within ${waitMs} ms (${reason}): check that RabbitMQ runs there and the credentials are right`,
      );
    }
    return transport;
  }

  private constructor(
    url: string,
    private readonly logger: Logger,
    private readonly options: AmqpTransportOptions,
  ) {
    this.exchange = options.eventsExchange ?? EVENTS_EXCHANGE;
    this.link = new AmqpLink(
      url,
      logger,
      { setup: (m) => this.setup(m), down: (r) => this.down(r) },
      { reconnect: options.reconnect, connectionName: options.connectionName },
    );
  }

  async serve(queue: string, handler: RpcHandler, options: { prefetch?: number } = {}): Promise<RpcServer> {
    if (this.closed) throw this.unavailable('the transport was closed');
    let dedup = this.dedup.get(queue);
    if (!dedup) this.dedup.set(queue, (dedup = new IdempotencyCache()));
    const server = new AmqpQueueServer(
      queue,
      handler,
      Math.max(1, options.prefetch ?? DEFAULT_PREFETCH),
      dedup,
      this.logger,
      (model, reason) => this.lost(model, reason),
      (s) => this.attachments.delete(s),
    );
    await this.attachNow(server, `queue "${queue}"`);
    return server;
  }

  async call<T>(queue: string, method: string, params: unknown, options: CallOptions = {}): Promise<T> {
    const body = Buffer.from(encodeRequest(method, params, options));
    if (this.closed) throw this.unavailable('the transport was closed');
    const timeoutMs = options.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    const id = randomUUID();
    return new Promise<T>((resolve, reject) => {
      const call: PendingCall = {
        queue,
        method,
        deadline: Date.now() + timeoutMs,
        resolve: resolve as (v: unknown) => void,
        reject,
        timer: setTimeout(() => this.expire(id, timeoutMs), timeoutMs),
      };
      this.pending.set(id, call);
      void this.send(id, call, body);
    });
  }

  async publish(routingKey: string, event: unknown): Promise<void> {
    let body: Buffer;
    try {
      body = Buffer.from(encodeEvent(event));
    } catch (err) {
      this.logger.warn('event dropped: not JSON', { routing_key: routingKey, reason: (err as Error).message });
      return;
    }
    const waitMs = this.options.publishWaitMs ?? 5_000;
    const session = await this.waitSession(Date.now() + waitMs);
    try {
      if (!session) throw new Error(this.closed ? 'the transport was closed' : `not connected (${this.link.lastError})`);
      await confirmed(session.events, this.exchange, routingKey, body, waitMs);
    } catch (err) {
      this.logger.warn('event dropped', {
        routing_key: routingKey,
        broker: this.link.address,
        reason: this.link.scrub((err as Error).message),
      });
    }
  }

  async subscribe(pattern: string, listener: (routingKey: string, event: unknown) => void): Promise<() => Promise<void>> {
    if (this.closed) throw this.unavailable('the transport was closed');
    const sub = new AmqpSubscription(this.exchange, pattern, listener, this.logger, (model, reason) => this.lost(model, reason));
    await this.attachNow(sub, `subscription "${pattern}"`);
    return async () => {
      this.attachments.delete(sub);
      await sub.close();
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Servers first, while the connection is up, so requests they are handling still reply and ack.
    for (const attachment of [...this.attachments]) await attachment.close();
    this.attachments.clear();
    for (const [id, call] of this.pending) this.settle(id, call, this.unavailable('the transport was closed'));
    this.notifySession();
    await this.link.close();
    this.session = undefined;
  }

  /** Runs on every (re)connection; the link drops the connection and retries if anything here fails. */
  private async setup(model: ChannelModel): Promise<void> {
    const channel = await model.createChannel();
    channel.on('error', (err: Error) => this.logger.debug('RPC client channel error', { reason: this.link.scrub(err.message) }));
    channel.on('close', () => {
      if (this.session?.channel === channel) this.lost(model, 'RPC client channel closed');
    });
    await channel.assertExchange(this.exchange, 'topic', { durable: true });
    await channel.consume(REPLY_TO, (msg) => this.onReply(msg), { noAck: true });
    const events = await model.createConfirmChannel();
    events.on('error', (err: Error) => this.logger.debug('events channel error', { reason: this.link.scrub(err.message) }));
    events.on('close', () => {
      if (this.session?.events === events) this.lost(model, 'events channel closed');
    });
    // Servers and subscriptions added while this runs are attached too, before the session is published.
    const tried = new Set<Attachment>();
    for (;;) {
      const behind = [...this.attachments].filter((a) => a.model !== model && !tried.has(a));
      if (behind.length === 0) break;
      for (const a of behind) {
        tried.add(a);
        await a.attach(model);
      }
    }
    this.session = { model, channel, events, declared: new Set() };
    this.notifySession();
  }

  /** The connection is gone: requests sent on it can no longer get a reply, so their calls fail now. */
  private down(reason: string): void {
    this.session = undefined;
    for (const [id, call] of this.pending) {
      if (call.sentOn)
        this.settle(
          id,
          call,
          this.unavailable(
            `the connection dropped while ${call.method} was in flight (${reason}); it may or may not have run: retry with the same ` +
              `idempotency key`,
          ),
        );
    }
  }

  private lost(model: ChannelModel, reason: string): void {
    if (!this.closed) setImmediate(() => this.link.fail(model, reason));
  }

  /** Attaches now when connected; otherwise the next setup does. A broker refusal on a live connection throws. */
  private async attachNow(attachment: Attachment, what: string): Promise<void> {
    this.attachments.add(attachment);
    const session = this.session;
    if (!session || attachment.model === session.model) return;
    try {
      await attachment.attach(session.model);
    } catch (err) {
      if (this.session !== session) return;
      this.attachments.delete(attachment);
      throw bwkError('BWK_ERR_INVALID_INPUT', {
        reason: `RabbitMQ at ${this.link.address} refused ${what}: ${this.link.scrub((err as Error).message)}`,
      });
    }
  }

  private async send(id: string, call: PendingCall, body: Buffer): Promise<void> {
    let stale: Session | undefined;
    while (this.pending.get(id) === call) {
      const s = await this.waitSession(call.deadline, stale);
      if (!s || this.pending.get(id) !== call) return; // expire() or close() settles it
      try {
        if (!s.declared.has(call.queue)) {
          // Declared by callers too, so a request sent before any server started waits in the queue.
          await s.channel.assertQueue(call.queue, { durable: true });
          s.declared.add(call.queue);
        }
        if (this.pending.get(id) !== call) return;
        if (this.session !== s) throw new Error('connection replaced');
        s.channel.sendToQueue(call.queue, body, {
          correlationId: id,
          replyTo: REPLY_TO,
          persistent: true,
          contentType: 'application/json',
          type: call.method,
          // A request nobody could answer in time is discarded by the broker rather than run for no one.
          expiration: String(Math.max(1, call.deadline - Date.now())),
        });
        call.sentOn = s;
        return;
      } catch (err) {
        this.logger.debug('RPC request not sent; waiting for the next connection', {
          queue: call.queue,
          reason: this.link.scrub((err as Error).message),
        });
        stale = s;
      }
    }
  }

  private onReply(msg: ConsumeMessage | null): void {
    const id = msg?.properties.correlationId as string | undefined;
    const call = id === undefined ? undefined : this.pending.get(id);
    if (!msg || !id || !call) {
      this.logger.debug('late or unknown RPC reply dropped', { correlation_id: id });
      return;
    }
    let value: unknown;
    try {
      value = settleReply(msg.content.toString('utf8'));
    } catch (err) {
      this.settle(id, call, err as Error);
      return;
    }
    this.settle(id, call, undefined, value);
  }

  private expire(id: string, timeoutMs: number): void {
    const call = this.pending.get(id);
    if (!call) return;
    this.settle(
      id,
      call,
      call.sentOn
        ? bwkError('BWK_ERR_RPC_TIMEOUT', { method: call.method, queue: call.queue, timeout_ms: timeoutMs })
        : this.unavailable(`not connected within the ${timeoutMs} ms timeout of ${call.method} (${this.link.lastError})`),
    );
  }

  private settle(id: string, call: PendingCall, err: Error | undefined, value?: unknown): void {
    this.pending.delete(id);
    clearTimeout(call.timer);
    if (err) call.reject(err);
    else call.resolve(value);
  }

  /** The current session, or the next one (not `stale`) that comes up before `deadline`; undefined if none does. */
  private async waitSession(deadline: number, stale?: Session): Promise<Session | undefined> {
    for (;;) {
      if (this.closed) return undefined;
      if (this.session && this.session !== stale) return this.session;
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.sessionWaiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.sessionWaiters.add(done);
      });
    }
  }

  private notifySession(): void {
    for (const wake of [...this.sessionWaiters]) wake();
  }

  private unavailable(reason: string): BulwarkError {
    return bwkError('BWK_ERR_RPC_UNAVAILABLE', { address: this.link.address, reason: this.link.scrub(reason) });
  }
}

/** Publishes an event and resolves once the broker confirms it; rejects on a nack or after `limitMs`. */
function confirmed(channel: ConfirmChannel, exchange: string, routingKey: string, body: Buffer, limitMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the broker did not confirm the event within ${limitMs} ms`)), limitMs);
    channel.publish(exchange, routingKey, body, { contentType: 'application/json' }, (err) => {
      clearTimeout(timer);
      if (err) reject(err instanceof Error ? err : new Error(String(err)));
      else resolve();
    });
  });
}
