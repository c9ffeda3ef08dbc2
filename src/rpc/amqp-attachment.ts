import type { Channel, ChannelModel } from 'amqplib';
import type { Logger } from '../common/logging.js';

/** Something the transport re-creates on every (re)connection: a queue server or an event subscription. */
export interface Attachment {
  /** The connection this is currently consuming on, if any. */
  readonly model: ChannelModel | undefined;
  /** Opens its channel on `model`, declares what it needs and starts consuming. */
  attach(model: ChannelModel): Promise<void>;
  /** Stops consuming for good and closes its channel. */
  close(): Promise<void>;
}

/** How an attachment names itself when its channel fails. */
export interface ChannelLabels {
  /** The warning logged on a channel error, with `fields` and the reason. */
  error: string;
  fields: Record<string, string>;
  /** The reason the connection is reported lost when the channel closes under it. */
  closed: string;
}

/**
 * An attachment consuming on a channel of its own. The channel it holds is the only one it acts on:
 * when that channel closes (not by close()), it is forgotten and the connection reported lost, so the
 * transport reconnects and attaches again; a channel left half set up is closed.
 */
export abstract class ChannelAttachment implements Attachment {
  model: ChannelModel | undefined;
  protected channel: Channel | undefined;
  protected closing = false;

  protected constructor(
    protected readonly logger: Logger,
    protected readonly lost: (model: ChannelModel, reason: string) => void,
    private readonly labels: ChannelLabels,
  ) {}

  /** Declares on `ch` what this consumes from (queue, bindings, prefetch) and returns the queue. */
  protected abstract declare(ch: Channel): Promise<string>;

  /** Starts consuming `queue` on `ch`, which is by then the current channel. */
  protected abstract consume(ch: Channel, queue: string): Promise<void>;

  abstract close(): Promise<void>;

  async attach(model: ChannelModel): Promise<void> {
    if (this.closing) return;
    const ch = await model.createChannel();
    ch.on('error', (err: Error) => this.logger.warn(this.labels.error, { ...this.labels.fields, reason: err.message }));
    ch.on('close', () => {
      if (this.channel !== ch) return;
      this.channel = undefined;
      this.model = undefined;
      if (!this.closing) this.lost(model, this.labels.closed);
    });
    try {
      const queue = await this.declare(ch);
      this.channel = ch;
      this.model = model;
      await this.consume(ch, queue);
    } catch (err) {
      if (this.channel !== ch) await ch.close().catch(() => undefined);
      throw err;
    }
  }

  /** Forgets the current channel and closes it (which also cancels its consumer). */
  protected async closeChannel(): Promise<void> {
    const ch = this.channel;
    this.channel = undefined;
    this.model = undefined;
    if (ch) await ch.close().catch(() => undefined);
  }
}
