import type { Channel, ChannelModel } from 'amqplib';
import type { Logger } from '../common/logging.js';
import { EVENTS_EXCHANGE } from './envelope.js';
import type { Attachment } from './amqp-server.js';

/**
 * One `subscribe(pattern)`: an exclusive, auto-delete queue bound to `bulwark.events` with the pattern, on a
 * channel of its own. The queue dies with its channel, so each reconnection declares and binds a new one.
 */
export class AmqpSubscription implements Attachment {
  model: ChannelModel | undefined;
  private channel: Channel | undefined;
  private closing = false;

  constructor(
    private readonly pattern: string,
    private readonly listener: (routingKey: string, event: unknown) => void,
    private readonly logger: Logger,
    private readonly lost: (model: ChannelModel, reason: string) => void,
  ) {}

  async attach(model: ChannelModel): Promise<void> {
    if (this.closing) return;
    const ch = await model.createChannel();
    ch.on('error', (err: Error) => this.logger.warn('event subscription channel error', { pattern: this.pattern, reason: err.message }));
    ch.on('close', () => {
      if (this.channel !== ch) return;
      this.channel = undefined;
      this.model = undefined;
      if (!this.closing) this.lost(model, `channel of subscription ${this.pattern} closed`);
    });
    try {
      await ch.assertExchange(EVENTS_EXCHANGE, 'topic', { durable: true });
      const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
      await ch.bindQueue(queue, EVENTS_EXCHANGE, this.pattern);
      this.channel = ch;
      this.model = model;
      await ch.consume(queue, (msg) => {
        if (!msg || this.closing) return;
        this.deliver(msg.fields.routingKey, msg.content.toString('utf8'));
      }, { noAck: true });
    } catch (err) {
      if (this.channel !== ch) await ch.close().catch(() => undefined);
      throw err;
    }
  }

  /** Stops deliveries; closing the channel cancels the consumer, which deletes the auto-delete queue. */
  async close(): Promise<void> {
    this.closing = true;
    const ch = this.channel;
    this.channel = undefined;
    this.model = undefined;
    if (ch) await ch.close().catch(() => undefined);
  }

  private deliver(routingKey: string, text: string): void {
    try {
      this.listener(routingKey, JSON.parse(text));
    } catch (err) {
      this.logger.warn('event listener threw or event was not JSON', { routing_key: routingKey, reason: (err as Error).message });
    }
  }
}
