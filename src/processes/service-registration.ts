/**
 * A process's row in the service catalog: registered at start, its heartbeat renewed every
 * services.heartbeat_interval_ms, and its enabled/disabled status — set by an admin through the API
 * or `bulwark service disable` — handed to the process, which stops taking new work while disabled.
 */
import { hostname } from 'node:os';
import type { BulwarkConfig } from '../common/config.js';
import { reasonOf } from '../core/errors.js';
import type { Logger } from '../common/logging.js';
import type { ServiceStore } from '../store/services.js';

/** What each process kind is called in the catalog (Karbor named them karbor-api, karbor-protection...). */
export type ServiceBinary = 'bulwark-api' | 'bulwark-protection-service' | 'bulwark-operation-engine' | 'bulwark-worker' | 'bulwark-agent';

/** The host a process registers under: $BULWARK_SERVICE_HOST, else services.host, else the machine's name. */
export function serviceHost(config: Pick<BulwarkConfig, 'services'>, env: NodeJS.ProcessEnv = process.env): string {
  return env.BULWARK_SERVICE_HOST || config.services.host || hostname();
}

export class ServiceRegistration {
  private timer: NodeJS.Timeout | undefined;
  private enabled = true;
  private applying: Promise<void> = Promise.resolve();

  private constructor(
    readonly id: string,
    private readonly store: ServiceStore,
    private readonly ttlMs: number,
    private readonly logger: Logger,
    private readonly onStatus: (enabled: boolean) => Promise<void>,
  ) {}

  /**
   * Registers `binary` on `host` and starts the heartbeat. `onStatus` is called when the status
   * changes (and once at start when the row was left disabled); calls never overlap.
   */
  static async start(opts: {
    store: ServiceStore;
    host: string;
    binary: ServiceBinary;
    config: Pick<BulwarkConfig, 'services'>;
    logger: Logger;
    onStatus?: (enabled: boolean) => Promise<void>;
  }): Promise<ServiceRegistration> {
    const { heartbeat_interval_ms: interval, heartbeat_ttl_ms: ttl } = opts.config.services;
    const row = await opts.store.register(opts.host, opts.binary, ttl);
    const reg = new ServiceRegistration(row.id, opts.store, ttl, opts.logger, opts.onStatus ?? (async () => {}));
    opts.logger.info('service registered', { service: row.id, host: opts.host, binary: opts.binary, status: row.status });
    // onStatus runs once at start with the stored status (a restarted process stays disabled), then on
    // changes. At start its failure (no broker, no Temporal) fails the start, as it did before registration.
    reg.enabled = row.status === 'enabled';
    reg.disabledReason = row.disabled_reason;
    if (!reg.enabled) opts.logger.info('service disabled: finishing what runs, taking no new work', { service: row.id });
    await reg.onStatus(reg.enabled);
    // Not unref'd: a disabled worker or agent has nothing else keeping it alive while it waits to be enabled.
    reg.timer = setInterval(() => void reg.beat(), interval);
    return reg;
  }

  private disabledReason: string | null = null;

  /** Whether the catalog last said this service is enabled. */
  get isEnabled(): boolean {
    return this.enabled;
  }

  /** Why it is disabled, as the admin said (null: no reason given, or enabled). */
  get reason(): string | null {
    return this.disabledReason;
  }

  /** Stops the heartbeat and marks the service down at once (a crash shows down when its heartbeat expires). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.applying;
    await this.store.markStopped(this.id).catch((err: unknown) => this.logger.warn('service stop not recorded', { error: reasonOf(err) }));
  }

  private async beat(): Promise<void> {
    try {
      const row = await this.store.heartbeat(this.id, this.ttlMs);
      if (row && this.timer) {
        this.disabledReason = row.disabled_reason;
        this.apply(row.status === 'enabled');
      }
    } catch (err) {
      // A catalog hiccup: the next beat tries again; past the TTL the service shows down meanwhile.
      this.logger.warn('service heartbeat failed', { service: this.id, error: reasonOf(err) });
    }
  }

  private apply(enabled: boolean): void {
    if (enabled === this.enabled) return;
    this.enabled = enabled;
    this.logger.info(enabled ? 'service enabled: taking work' : 'service disabled: finishing what runs, taking no new work', {
      service: this.id,
    });
    this.applying = this.applying
      .then(() => this.onStatus(enabled))
      .catch((err: unknown) => this.logger.error('service status change failed', { service: this.id, enabled, error: reasonOf(err) }));
  }
}
