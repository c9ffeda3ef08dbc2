import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { Logger } from '../common/logging.js';
import { decodeRequest, encodeReply, errorReply, invokeHandler, type RpcReply } from './envelope.js';
import type { IdempotencyCache } from './idempotency.js';
import type { RpcHandler, RpcServer } from './port.js';

/** Something the transport re-creates on every (re)connection: a queue server or an event subscription. */
export interface Attachment {
  /** The connection this is currently consuming on, if any. */
  readonly model: ChannelModel | undefined;
  /** Opens its channel on `model`, declares what it needs and starts consuming. */
  attach(model: ChannelModel): Promise<void>;
  /** Stops consuming for good and closes its channel. */
  close(): Promise<void>;
}

/**
 * One `serve(queue)`: a channel of its own (so `prefetch` bounds this server's in-flight requests), a durable
 * queue, and manual acks sent only after the reply, so a request whose server dies is redelivered to another.
 */
export class AmqpQueueServer implements RpcServer, Attachment {
  model: ChannelModel | undefined;
  private channel: Channel | undefined;
  private consumerTag: string | undefined;
  private closing = false;
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly queue: string,
    private readonly handler: RpcHandler,
    private readonly prefetch: number,
    private readonly dedup: IdempotencyCache,
    private readonly logger: Logger,
    private readonly lost: (model: ChannelModel, reason: string) => void,
    private readonly detach: (server: AmqpQueueServer) => void,
  ) {}

  async attach(model: ChannelModel): Promise<void> {
    if (this.closing) return;
    const ch = await model.createChannel();
    ch.on('error', (err: Error) => this.logger.warn('RPC server channel error', { queue: this.queue, reason: err.message }));
    ch.on('close', () => {
      if (this.channel !== ch) return;
      this.channel = undefined;
      this.model = undefined;
      if (!this.closing) this.lost(model, `channel serving ${this.queue} closed`);
    });
    try {
      await ch.assertQueue(this.queue, { durable: true });
      await ch.prefetch(this.prefetch);
      this.channel = ch;
      this.model = model;
      const ok = await ch.consume(this.queue, (msg) => this.onDelivery(ch, msg), { noAck: false });
      this.consumerTag = ok.consumerTag;
    } catch (err) {
      if (this.channel !== ch) await ch.close().catch(() => undefined);
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.detach(this);
    const ch = this.channel;
    if (ch && this.consumerTag) await ch.cancel(this.consumerTag).catch(() => undefined);
    // Requests already delivered finish, reply and are acked before the channel goes.
    await Promise.allSettled([...this.running]);
    this.channel = undefined;
    this.model = undefined;
    if (ch) await ch.close().catch(() => undefined);
  }

  private onDelivery(ch: Channel, msg: ConsumeMessage | null): void {
    if (msg === null) {
      // The broker cancelled the consumer (queue deleted): rebuild it through a reconnection.
      if (!this.closing && this.channel === ch && this.model) this.lost(this.model, `consumer of ${this.queue} was cancelled by the broker`);
      return;
    }
    const work = this.answer(msg)
      .then((reply) => this.respond(ch, msg, reply))
      .finally(() => this.running.delete(work));
    this.running.add(work);
  }

  private async answer(msg: ConsumeMessage): Promise<RpcReply> {
    try {
      const request = decodeRequest(msg.content.toString('utf8'));
      if (msg.fields.redelivered) {
        this.logger.debug('RPC request redelivered', { queue: this.queue, method: request.method, idempotency_key: request.meta.idempotencyKey });
      }
      return await this.dedup.run(request.meta.idempotencyKey, () => invokeHandler(this.handler, request));
    } catch (err) {
      return errorReply(err);
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
