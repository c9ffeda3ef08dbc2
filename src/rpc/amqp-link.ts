import { connect, type ChannelModel } from 'amqplib';
import type { Logger } from '../common/logging.js';

/** How the link retries after a connection or channel loss: capped exponential backoff with jitter. */
export interface ReconnectOptions {
  /** First delay after a loss (default 200 ms). */
  initialDelayMs?: number;
  /** Cap on the delay between attempts (default 15 s). */
  maxDelayMs?: number;
}

/** `amqp://user:secret@host/vhost` → `amqp://user:***@host/vhost`: the only form of the URL that is logged or thrown. */
export function maskUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/?#]*):[^@/?#]*@/i, '$1:***@');
}

/** Removes the URL's password (raw and percent-decoded) from a text that may echo it, such as a driver error. */
export function scrubber(url: string): (text: string) => string {
  const raw = /^[a-z][a-z0-9+.-]*:\/\/[^:@/?#]*:([^@/?#]*)@/i.exec(url)?.[1] ?? '';
  let decoded = raw;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    /* keep the raw form */
  }
  const secrets = [url, raw, decoded].filter((s) => s.length > 0);
  return (text) => secrets.reduce((t, s) => t.split(s).join(s === url ? maskUrl(url) : '***'), text);
}

/** Delay before reconnect attempt `attempt` (0-based): doubling, capped, with "equal jitter" (50-100%). */
export function backoffDelay(attempt: number, options: ReconnectOptions = {}): number {
  const initial = options.initialDelayMs ?? 200;
  const cap = options.maxDelayMs ?? 15_000;
  const base = Math.min(cap, initial * 2 ** Math.min(attempt, 30));
  return Math.round(base / 2 + Math.random() * (base / 2));
}

export interface LinkHooks {
  /** Declares and consumes everything on a fresh connection; a failure drops it and the link retries. */
  setup(model: ChannelModel): Promise<void>;
  /** The connection went away (lost, or setup failed on it): everything built on it is dead. */
  down(reason: string): void;
}

/**
 * Keeps one AMQP connection alive for a transport: connects, runs the transport's setup, waits for the
 * connection to close, reports it and reconnects after a backoff, until closed. Channel losses are turned into
 * connection losses by the transport (`fail`) so that one recovery path re-creates everything.
 */
export class AmqpLink {
  readonly address: string;
  readonly scrub: (text: string) => string;
  /** Why the last attempt failed or the last connection closed, scrubbed; for errors the transport throws. */
  lastError = 'not connected yet';
  private model: ChannelModel | undefined;
  private closed = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly url: string,
    private readonly logger: Logger,
    private readonly hooks: LinkHooks,
    private readonly options: { reconnect?: ReconnectOptions; socketTimeoutMs?: number; connectionName?: string } = {},
  ) {
    this.address = maskUrl(url);
    this.scrub = scrubber(url);
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Drops `model` because something built on it broke, unless it is already gone; the link reconnects. */
  fail(model: ChannelModel, reason: string): void {
    if (this.model !== model || this.closed) return;
    this.logger.warn('AMQP channel lost; reconnecting', { broker: this.address, reason: this.scrub(reason) });
    model.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    const model = this.model;
    if (model) await model.close().catch(() => undefined);
    await this.loop;
  }

  private async run(): Promise<void> {
    let attempt = 0;
    let everConnected = false;
    while (!this.closed) {
      let model: ChannelModel | undefined;
      try {
        model = await connect(this.url, {
          timeout: this.options.socketTimeoutMs ?? 10_000,
          clientProperties: { connection_name: this.options.connectionName ?? 'bulwark-rpc' },
        });
        this.model = model;
        if (this.closed) break;
        const closedWith = new Promise<string>((resolve) =>
          model?.once('close', (err?: Error) => resolve(err?.message ?? 'connection closed')),
        );
        model.on('error', (err: Error) =>
          this.logger.debug('AMQP connection error', { broker: this.address, reason: this.scrub(err.message) }),
        );
        await this.hooks.setup(model);
        if (this.closed) break;
        this.logger.info(everConnected ? 'AMQP connection re-established' : 'AMQP connected', {
          broker: this.address,
          attempts: attempt + 1,
        });
        everConnected = true;
        attempt = 0;
        this.lastError = this.scrub(await closedWith);
        this.model = undefined;
        this.hooks.down(this.lastError);
        if (this.closed) break;
        this.logger.warn('AMQP connection lost; reconnecting', { broker: this.address, reason: this.lastError });
      } catch (err) {
        this.lastError = this.scrub((err as Error).message ?? String(err));
        this.model = undefined;
        if (model) await model.close().catch(() => undefined);
        this.hooks.down(this.lastError);
        if (this.closed) break;
        this.logger.warn('AMQP connection attempt failed', { broker: this.address, attempt: attempt + 1, reason: this.lastError });
      }
      await this.sleep(backoffDelay(attempt++, this.options.reconnect));
    }
    // Closed while connecting or setting up: that connection is ours to close.
    const leftover = this.model;
    this.model = undefined;
    if (leftover) await leftover.close().catch(() => undefined);
  }

  private sleep(ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
