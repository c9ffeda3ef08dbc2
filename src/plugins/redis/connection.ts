/**
 * Opens one short-lived ioredis connection per operation: the plugin API has no shutdown hook, so a
 * connection held between operations would leak when the provider is unloaded. Reconnection is off:
 * a dropped connection fails the hook (and the engine retries it) instead of silently replaying.
 */
import type { Redis } from 'ioredis';
import { PluginError } from '../api.js';
import { describeInstance, readPassword } from './config.js';
import type { InstanceConfig } from './config.js';

/** Node and ioredis failures that say "not now" rather than "never": worth an engine retry. */
const TRANSIENT =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|EPIPE|Connection is closed|LOADING|BUSY |MASTERDOWN|TRYAGAIN/;

/** A Redis error message with the password (should a server ever echo it) blanked out. */
export function scrub(message: string, password: string | undefined): string {
  return password ? message.split(password).join('[redacted]') : message;
}

/** An open connection plus what errors about it need. */
export interface RedisSession {
  client: Redis;
  instance: InstanceConfig;
  db: number;
  /** Wraps a failure of a command on this connection with the instance and the step, password scrubbed. */
  failure(step: string, err: unknown): Error;
  close(): Promise<void>;
}

function unreachable(inst: InstanceConfig, db: number, resource: string, reason: string): PluginError {
  return new PluginError(`resource ${resource} not found: redis instance ${describeInstance(inst, db)} cannot be reached: ${reason}`, {
    code: 'BWK_ERR_RESOURCE_NOT_FOUND',
    retryable: TRANSIENT.test(reason),
  });
}

/**
 * Connects to `inst`, selecting `db`. `resource` names the resource errors are about. Aborting
 * `signal` disconnects, which fails any command in flight at once.
 */
export async function openSession(inst: InstanceConfig, db: number, resource: string, signal?: AbortSignal): Promise<RedisSession> {
  // ioredis is loaded when a Redis resource is first used, not whenever the built-in providers are.
  const { Redis } = await import('ioredis');
  signal?.throwIfAborted();
  const password = await readPassword(inst);
  const client = new Redis({
    host: inst.host,
    port: inst.port,
    db,
    ...(inst.username === undefined ? {} : { username: inst.username }),
    ...(password === undefined ? {} : { password }),
    lazyConnect: true,
    connectTimeout: inst.connect_timeout_ms,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
  });
  let lastError: Error | undefined;
  // Without a listener ioredis prints errors to the console; the reason is reported through the rejection.
  client.on('error', (err: Error) => {
    lastError = err;
  });
  const onAbort = (): void => client.disconnect();
  signal?.addEventListener('abort', onAbort, { once: true });
  const close = async (): Promise<void> => {
    signal?.removeEventListener('abort', onAbort);
    if (client.status === 'ready') await client.quit().catch(() => client.disconnect());
    else client.disconnect();
  };
  try {
    await client.connect();
  } catch (err) {
    await close();
    signal?.throwIfAborted();
    const own = (err as Error).message;
    const reason = lastError && lastError.message !== own && /closed/i.test(own) ? lastError.message : own;
    throw unreachable(inst, db, resource, scrub(reason, password));
  }
  return {
    client,
    instance: inst,
    db,
    close,
    failure(step: string, err: unknown): Error {
      // A command failed because the abort disconnected us: report the abort, as throwIfAborted would.
      if (signal?.aborted)
        return signal.reason instanceof Error
          ? signal.reason
          : new PluginError(`redis instance ${describeInstance(inst, db)}: ${step} stopped: the operation was aborted`);
      const reason = scrub(err instanceof Error ? err.message : String(err), password);
      return new PluginError(`redis instance ${describeInstance(inst, db)}: ${step} failed: ${reason}`, {
        retryable: TRANSIENT.test(reason),
      });
    },
  };
}

/** Runs `fn` on a fresh session and always closes it. */
export async function withSession<T>(
  inst: InstanceConfig,
  db: number,
  resource: string,
  signal: AbortSignal | undefined,
  fn: (s: RedisSession) => Promise<T>,
): Promise<T> {
  const session = await openSession(inst, db, resource, signal);
  try {
    return await fn(session);
  } finally {
    await session.close();
  }
}

/** `redis_version` from INFO server ("unknown" when a proxy hides it). */
export async function serverVersion(session: RedisSession): Promise<string> {
  const info = await session.client.info('server').catch((err: unknown) => {
    throw session.failure('INFO server', err);
  });
  return /^redis_version:(.+)$/m.exec(info)?.[1]?.trim() ?? 'unknown';
}
