import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { Logger } from '../common/logging.js';
import { ChannelAttachment } from './amqp-attachment.js';
import { decodeRequest, encodeReply, errorReply, invokeHandler, type RpcReply, type RpcRequest } from './envelope.js';
import type { IdempotencyCache } from './idempotency.js';
import type { RpcHandler, RpcServer } from './port.js';

/** How long the reply of an at-most-once request waits for a channel when its work ends during a reconnection. */
const REPLY_CHANNEL_WAIT_MS = 60_000;

/**
 * One `serve(queue)`: a channel of its own (so `prefetch` bounds this server's in-flight requests), a durable
 * queue, and manual acks sent only after the reply, so a request whose server dies is redelivered to another.
 * An at-most-once request (port.ts) is acked on receipt instead: it no longer counts against `prefetch`, the
 * broker's consumer timeout never fires on it, and nothing redelivers it; its reply goes out on whichever
 * channel is current when its work ends.
 */
export class AmqpQueueServer extends ChannelAttachment implements RpcServer {
  private consumerTag: string | undefined;
  private readonly running = new Set<Promise<void>>();
  /** At-most-once requests being handled: close() does not wait for them (they may run for hours). */
  private readonly unbounded = new Set<Promise<void>>();

  constructor(
    private readonly queue: string,
    private readonly handler: RpcHandler,
    private readonly prefetch: number,
    private readonly dedup: IdempotencyCache,
    logger: Logger,
    lost: (model: ChannelModel, reason: string) => void,
    private readonly detach: (server: AmqpQueueServer) => void,
  ) {
    super(logger, lost, { error: 'RPC server channel error', fields: { queue }, closed: `channel serving ${queue} closed` });
  }

  protected async declare(ch: Channel): Promise<string> {
    await ch.assertQueue(this.queue, { durable: true });
    await ch.prefetch(this.prefetch);
    return this.queue;
  }

  protected async consume(ch: Channel, queue: string): Promise<void> {
    const ok = await ch.consume(queue, (msg) => this.onDelivery(ch, msg), { noAck: false });
    this.consumerTag = ok.consumerTag;
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.detach(this);
    const ch = this.channel;
    if (ch && this.consumerTag) await ch.cancel(this.consumerTag).catch(() => undefined);
    // Requests already delivered finish, reply and are acked before the channel goes.
    await Promise.allSettled([...this.running]);
    // At-most-once ones are not redelivered whatever happens: their callers will get no reply (they time out).
    if (this.unbounded.size > 0)
      this.logger.warn('RPC server closing while at-most-once requests still run: their callers get no reply', {
        queue: this.queue,
        requests: this.unbounded.size,
      });
    await this.closeChannel();
  }

  private onDelivery(ch: Channel, msg: ConsumeMessage | null): void {
    if (msg === null) {
      // The broker cancelled the consumer (queue deleted): rebuild it through a reconnection.
      if (!this.closing && this.channel === ch && this.model)
        this.lost(this.model, `consumer of ${this.queue} was cancelled by the broker`);
      return;
    }
    let request: RpcRequest | undefined;
    try {
      request = decodeRequest(msg.content.toString('utf8'));
    } catch (err) {
      this.respond(ch, msg, errorReply(err));
      return;
    }
    if (request.meta.atMostOnce) {
      // Acked before it runs: if the ack cannot go out, the broker redelivers it, and that delivery runs it.
      if (!this.ackNow(ch, msg)) return;
      const work = this.answer(msg, request)
        .then((reply) => this.replyLater(msg, reply))
        .finally(() => this.unbounded.delete(work));
      this.unbounded.add(work);
      return;
    }
    const work = this.answer(msg, request)
      .then((reply) => this.respond(ch, msg, reply))
      .finally(() => this.running.delete(work));
    this.running.add(work);
  }

  private async answer(msg: ConsumeMessage, request: RpcRequest): Promise<RpcReply> {
    try {
      if (msg.fields.redelivered) {
        this.logger.debug('RPC request redelivered', {
          queue: this.queue,
          method: request.method,
          idempotency_key: request.meta.idempotencyKey,
        });
      }
      return await this.dedup.run(request.meta.idempotencyKey, () => invokeHandler(this.handler, request));
    } catch (err) {
      return errorReply(err);
    }
  }

  /** Acks a delivery at once; false when the channel it came on is gone (then the broker redelivers it). */
  private ackNow(ch: Channel, msg: ConsumeMessage): boolean {
    if (this.channel !== ch) return false;
    try {
      ch.ack(msg);
      return true;
    } catch (err) {
      this.logger.warn('RPC ack failed; the request will be redelivered', { queue: this.queue, reason: (err as Error).message });
      return false;
    }
  }

  /**
   * The reply of an at-most-once request, on the current channel (direct reply-to accepts it from any channel):
   * the one it came on may have been replaced while it ran. Waits a little for a channel during a reconnection.
   */
  private async replyLater(msg: ConsumeMessage, reply: RpcReply): Promise<void> {
    const { replyTo, correlationId } = msg.properties as { replyTo?: string; correlationId?: string };
    if (!replyTo) return;
    const deadline = Date.now() + REPLY_CHANNEL_WAIT_MS;
    while (!this.channel && !this.closing && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    const ch = this.channel;
    try {
      if (!ch) throw new Error('no channel');
      ch.sendToQueue(replyTo, Buffer.from(encodeReply(reply)), { correlationId, contentType: 'application/json' });
    } catch (err) {
      this.logger.warn('RPC reply of an at-most-once request lost: its caller gets none', {
        queue: this.queue,
        reason: (err as Error).message,
      });
    }
  }

  /** Replies then acks; if the channel died meanwhile, does neither: the broker redelivers and the dedup answers. */
  private respond(ch: Channel, msg: ConsumeMessage, reply: RpcReply): void {
    if (this.channel !== ch) {
      this.logger.debug('RPC reply not sent: channel lost; the request will be redelivered', { queue: this.queue });
      return;
    }
    try {
      const { replyTo, correlationId } = msg.properties as { replyTo?: string; correlationId?: string };
      if (replyTo) ch.sendToQueue(replyTo, Buffer.from(encodeReply(reply)), { correlationId, contentType: 'application/json' });
      ch.ack(msg);
    } catch (err) {
      this.logger.warn('RPC reply or ack failed; the request will be redelivered', { queue: this.queue, reason: (err as Error).message });
    }
  }
}
