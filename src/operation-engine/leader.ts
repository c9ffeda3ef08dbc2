/**
 * Which engine instance scans: a leader lease in Redis (SET NX PX, renewed and released by
 * compare-and-set scripts, so an instance can only extend or drop its own lease). The catalog's claim
 * rows stay the final word: when Redis loses the key (a restart without persistence) two instances
 * may both lead for one tick, and the unique fire keys still let one of them run each fire.
 */
import type { Redis } from 'ioredis';
import { bwkError } from '../core/errors.js';
import type { Logger } from '../common/logging.js';

export interface LeaderLease {
  /** Takes or renews the lease; whether this instance leads until its next call. */
  lead(): Promise<boolean>;
  /** Gives the lease up (another instance may lead at once). */
  release(): Promise<void>;
  close(): Promise<void>;
}

/** Without Redis the engine runs alone: it always leads, on catalog claims. */
export class SoloLeader implements LeaderLease {
  lead = async (): Promise<boolean> => true;
  release = async (): Promise<void> => {};
  close = async (): Promise<void> => {};
}

/**
 * Leads only while `enabled()` says so: a disabled engine steps down (gives its lease up, so a
 * standby takes over) and stands by until enabled again.
 */
export class GatedLeader implements LeaderLease {
  constructor(
    private readonly inner: LeaderLease,
    private readonly enabled: () => boolean,
  ) {}

  async lead(): Promise<boolean> {
    if (this.enabled()) return this.inner.lead();
    await this.inner.release();
    return false;
  }

  release = (): Promise<void> => this.inner.release();
  close = (): Promise<void> => this.inner.close();
}

const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export class RedisLeader implements LeaderLease {
  /** Until when this instance's lease is sure to last (set by the last successful take or renew). */
  private heldUntil = 0;

  private constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly me: string,
    private readonly ttlMs: number,
    private readonly logger: Logger,
  ) {}

  static async open(opts: {
    url: string;
    password?: string;
    key: string;
    me: string;
    ttlMs: number;
    logger: Logger;
  }): Promise<RedisLeader> {
    const { Redis } = await import('ioredis');
    const redis = new Redis(opts.url, {
      ...(opts.password !== undefined ? { password: opts.password } : {}),
      lazyConnect: true,
      // Fail fast while Redis is away: a command that waits would keep a stale leader scanning.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => Math.min(1000, opts.ttlMs / 4),
    });
    let lastError = '';
    redis.on('error', (err: Error) => {
      if (err.message !== lastError) opts.logger.warn('operation engine: redis unreachable', { error: err.message });
      lastError = err.message;
    });
    redis.on('ready', () => (lastError = ''));
    await redis.connect().catch((err: unknown) => {
      // Started while Redis is down: go on without leading; the client keeps reconnecting.
      opts.logger.warn('operation engine: redis not reachable at start; waiting for it', { error: (err as Error).message });
    });
    return new RedisLeader(redis, opts.key, opts.me, opts.ttlMs, opts.logger);
  }

  async lead(): Promise<boolean> {
    const now = Date.now();
    try {
      if (this.heldUntil > now) {
        const renewed = Number(await this.redis.eval(RENEW, 1, this.key, this.me, String(this.ttlMs)));
        if (renewed === 1) {
          this.heldUntil = now + this.ttlMs;
          return true;
        }
        this.logger.warn('operation engine: leader lease lost', { key: this.key });
        this.heldUntil = 0;
      }
      const taken = await this.redis.set(this.key, this.me, 'PX', this.ttlMs, 'NX');
      if (taken === 'OK') {
        this.heldUntil = now + this.ttlMs;
        this.logger.info('operation engine: leading', { key: this.key });
        return true;
      }
      return false;
    } catch {
      // Redis is away: nobody can take the lease meanwhile, so a leader leads until its lease would end.
      return this.heldUntil > Date.now();
    }
  }

  async release(): Promise<void> {
    if (this.heldUntil === 0) return;
    this.heldUntil = 0;
    await this.redis.eval(RELEASE, 1, this.key, this.me).catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.release();
    this.redis.disconnect();
  }
}

export function redisPassword(passwordEnv: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (passwordEnv === undefined) return undefined;
  const password = env[passwordEnv];
  if (password === undefined)
    throw bwkError('BWK_ERR_CONFIG_INVALID', {
      file: 'bulwark.yaml',
      reason: `operation_engine.password_env names ${passwordEnv}, which is not set`,
    });
  return password;
}
