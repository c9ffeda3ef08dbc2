import type { FastifyInstance } from 'fastify';
import type { BulwarkConfig } from '../common/config.js';
import type { Logger } from '../common/logging.js';
import { buildApi } from './server.js';
import { tokenVerifier } from './token-verifier.js';
import type { ServerPlaces } from './public-message.js';
import type { OperationEvents } from '../protection-manager/events.js';
import type { ProtectionService } from '../protection-manager/service.js';
import type { TokenStore } from '../store/tokens.js';

export { tokenVerifier } from './token-verifier.js';

/** Builds the API and listens on api.host:api.port (port 0: any free port; the bound URL is returned). */
export async function listenApi(deps: {
  config: BulwarkConfig;
  service: ProtectionService;
  tokens: TokenStore;
  events: OperationEvents;
  logger: Logger;
  version: string;
  /** The home and banks this process knows (the embedded service): error messages name them by label. */
  named?: ServerPlaces['named'];
}): Promise<{ app: FastifyInstance; url: string }> {
  const app = await buildApi({
    service: deps.service,
    tokens: tokenVerifier(deps.tokens, { logger: deps.logger, useIntervalMs: deps.config.api.token_use_interval_ms }),
    authFailures: deps.config.api.auth_failures,
    events: deps.events,
    logger: deps.logger,
    bodyLimit: deps.config.api.body_limit_bytes,
    jsonMaxDepth: deps.config.api.json_max_depth,
    limits: deps.config.api,
    places: { named: deps.named ?? [], visible: deps.config.restore.allowed_target_paths },
    version: deps.version,
  });
  await app.listen({ host: deps.config.api.host, port: deps.config.api.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : deps.config.api.port;
  const url = `http://${deps.config.api.host.includes(':') ? `[${deps.config.api.host}]` : deps.config.api.host}:${port}`;
  deps.logger.info('API listening', { url });
  return { app, url };
}
