import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { Logger } from '../common/logging.js';
import { ChannelAttachment } from './amqp-attachment.js';
import { decodeRequest, encodeReply, errorReply, invokeHandler, type RpcReply } from './envelope.js';
import type { IdempotencyCache } from './idempotency.js';
import type { RpcHandler, RpcServer } from './port.js';

/**
 * One `serve(queue)`: a channel of its own (so `prefetch` bounds this server's in-flight requests), a durable
 * queue, and manual acks sent only after the reply, so a request whose server dies is redelivered to another.
 */
export class AmqpQueueServer extends ChannelAttachment implements RpcServer {
  private consumerTag: string | undefined;
  private readonly running = new Set<Promise<void>>();

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
    await this.closeChannel();
  }

  private onDelivery(ch: Channel, msg: ConsumeMessage | null): void {
    if (msg === null) {
      // The broker cancelled the consumer (queue deleted): rebuild it through a reconnection.
      if (!this.closing && this.channel === ch && this.model)
        this.lost(this.model, `consumer of ${this.queue} was cancelled by the broker`);
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
