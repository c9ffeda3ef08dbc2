/**
 * The `/metrics` listener of a process without the API (protection-service, worker,
 * operation-engine) or beside it (api): `metrics.port` on `metrics.host`, nothing else served.
 */
import Fastify from 'fastify';
import type { MetricsConfig } from '../common/config.js';
import type { Logger } from '../common/logging.js';
import { NO_PLACES } from './public-message.js';
import { errorBody, errorHandler } from './errors.js';
import { metricsAccessOf, metricsRoute } from './metrics-route.js';

export interface MetricsListener {
  url: string;
  close(): Promise<void>;
}

/** Listens when metrics.port is set (port 0: any free port, the URL says which); null otherwise. */
export async function listenMetrics(config: MetricsConfig, logger: Logger): Promise<MetricsListener | null> {
  if (config.port === undefined) return null;
  const app = Fastify({ logger: false, connectionTimeout: 30_000, requestTimeout: 30_000 });
  app.setErrorHandler(errorHandler(logger, NO_PLACES));
  app.setNotFoundHandler((req, reply) => {
    void reply
      .status(404)
      .send(errorBody('BWK_ERR_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}: this port serves /metrics`));
  });
  metricsRoute(app, metricsAccessOf(config));
  await app.listen({ host: config.host, port: config.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}/metrics`;
  logger.info('metrics listening', { url, access: config.access });
  return { url, close: () => app.close() };
}
