import type { Channel, ChannelModel } from 'amqplib';
import type { Logger } from '../common/logging.js';
import { ChannelAttachment } from './amqp-attachment.js';

/**
 * One `subscribe(pattern)`: an exclusive, auto-delete queue bound to the events exchange with the pattern, on a
 * channel of its own. The queue dies with its channel, so each reconnection declares and binds a new one.
 */
export class AmqpSubscription extends ChannelAttachment {
  constructor(
    private readonly exchange: string,
    private readonly pattern: string,
    private readonly listener: (routingKey: string, event: unknown) => void,
    logger: Logger,
    lost: (model: ChannelModel, reason: string) => void,
  ) {
    super(logger, lost, {
      error: 'event subscription channel error',
      fields: { pattern },
      closed: `channel of subscription ${pattern} closed`,
    });
  }

  protected async declare(ch: Channel): Promise<string> {
    await ch.assertExchange(this.exchange, 'topic', { durable: true });
    const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
    await ch.bindQueue(queue, this.exchange, this.pattern);
    return queue;
  }

  protected async consume(ch: Channel, queue: string): Promise<void> {
    await ch.consume(
      queue,
      (msg) => {
        if (!msg || this.closing) return;
        this.deliver(msg.fields.routingKey, msg.content.toString('utf8'));
      },
      { noAck: true },
    );
  }

  /** Stops deliveries; closing the channel cancels the consumer, which deletes the auto-delete queue. */
  async close(): Promise<void> {
    this.closing = true;
    await this.closeChannel();
  }

  private deliver(routingKey: string, text: string): void {
    try {
      this.listener(routingKey, JSON.parse(text));
    } catch (err) {
      this.logger.warn('event listener threw or event was not JSON', { routing_key: routingKey, reason: (err as Error).message });
    }
  }
}
