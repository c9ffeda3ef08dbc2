/**
 * `GET /metrics`: this process's Prometheus metrics, on the API port (serve, api) or on a listener
 * of its own (`metrics.port`). Who may scrape is `metrics.access`: by default callers on loopback
 * (a Prometheus or agent on the same machine) freely, others with the scrape token.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { MetricsConfig } from '../common/config.js';
import { metricsRegistry, startProcessMetrics } from '../common/metrics.js';
import { bwkError } from '../core/errors.js';

/** What a scrape must show: the access rule and the token (read from metrics.token_env at start-up). */
export interface MetricsAccess {
  access: MetricsConfig['access'];
  token?: string | undefined;
}

/** The access rule of a configuration, its token read from the environment once. */
export function metricsAccessOf(config: MetricsConfig, env: NodeJS.ProcessEnv = process.env): MetricsAccess {
  const token = config.token_env ? env[config.token_env] : undefined;
  return { access: config.access, ...(token ? { token } : {}) };
}

const isLoopback = (address: string | undefined): boolean =>
  address !== undefined && (address === '::1' || /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address));

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** Whether the request carries the scrape token (compared in constant time; no token configured: never). */
function carriesToken(req: FastifyRequest, token: string | undefined): boolean {
  const header = req.headers.authorization;
  const m = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return token !== undefined && m !== null && timingSafeEqual(digest(m[1]!), digest(token));
}

export function metricsRoute(app: FastifyInstance, access: MetricsAccess): void {
  startProcessMetrics();
  app.get('/metrics', async (req, reply) => {
    const address = req.socket.remoteAddress;
    const free = access.access === 'open' || (access.access === 'loopback' && isLoopback(address));
    if (!free && !carriesToken(req, access.token))
      throw bwkError('BWK_ERR_METRICS_UNAUTHORIZED', { address: address ?? 'unknown', access: access.access });
    return reply.type(metricsRegistry.contentType).send(await metricsRegistry.metrics());
  });
}
