import type { FastifyInstance } from 'fastify';
import { buildApi, type ApiOptions } from '../../src/api/server.js';
import { tokenVerifier } from '../../src/api/listen.js';
import { openBulwark, type BulwarkApp } from '../../src/processes/app.js';
import { SubscriptionService } from '../../src/notifications/subscriptions.js';

export interface ApiApp {
  app: BulwarkApp;
  api: FastifyInstance;
  /** A token's secret for `project` with `role`. */
  token(project: string, role?: 'admin' | 'member'): Promise<string>;
  close(): Promise<void>;
}

/**
 * An embedded app of `home` and its REST API built in this process, as `bulwark serve` builds it, for
 * API tests that talk to it with `api.inject` (or `api.listen`). `over` sets ApiOptions a test needs
 * (a function of the app when they depend on it).
 */
export async function openApiApp(
  home: string,
  over: Partial<ApiOptions> | ((app: BulwarkApp) => Partial<ApiOptions>) = {},
): Promise<ApiApp> {
  const app = await openBulwark(home);
  const api = await buildApi({
    service: app.manager,
    scheduling: app.scheduling,
    quotas: app.quotas,
    services: app.services,
    subscriptions: new SubscriptionService({ store: app.store.notifications, config: app.config.notifications, logger: app.logger }),
    tokens: tokenVerifier(app.store.tokens),
    events: app.events,
    logger: app.logger,
    bodyLimit: 16 * 1024,
    version: 'test',
    ...(typeof over === 'function' ? over(app) : over),
  });
  return {
    app,
    api,
    token: async (project, role = 'member') => (await app.store.tokens.createToken({ project_id: project, role })).token,
    async close() {
      await api.close();
      await app.close();
    },
  };
}
