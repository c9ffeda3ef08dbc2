import type { SubscriptionService } from '../notifications/subscriptions.js';
import type { FastifyInstance } from 'fastify';
import type { Server as TlsServer } from 'node:tls';
import type { BulwarkConfig } from '../common/config.js';
import type { Logger } from '../common/logging.js';
import { buildApi } from './server.js';
import { metricsAccessOf } from './metrics-route.js';
import { tokenVerifier } from './token-verifier.js';
import { answerPlainHttp, plainHttpWarning, readTlsMaterial, reloadTls, tlsFilesOf, type SecureContextHolder } from './tls.js';
import type { ServerPlaces } from './public-message.js';
import type { OperationEvents } from '../protection-manager/events.js';
import type { SchedulingService } from '../operation-engine/service.js';
import type { ProtectionService } from '../protection-manager/service.js';
import type { QuotaService } from '../protection-manager/quota-service.js';
import type { ServiceCatalog } from '../protection-manager/service-catalog.js';
import type { TokenStore } from '../store/tokens.js';

export { tokenVerifier } from './token-verifier.js';

/** A listening API: its URL, start-up warnings for the process's note, and its reload (SIGHUP). */
export interface ListeningApi {
  app: FastifyInstance;
  url: string;
  warnings: string[];
  /**
   * Re-reads api.tls's files for new connections; the note says what is served now. Throws, keeping
   * the old pair, when they do not check out.
   */
  reload(): Promise<string>;
}

/**
 * Builds the API and listens on api.host:api.port (port 0: any free port; the bound URL is returned),
 * over https when api.tls names a certificate and key (relative paths from `home`).
 */
export async function listenApi(deps: {
  config: BulwarkConfig;
  home: string;
  service: ProtectionService;
  scheduling: SchedulingService;
  quotas: QuotaService;
  services: ServiceCatalog;
  subscriptions?: SubscriptionService;
  tokens: TokenStore;
  events: OperationEvents;
  logger: Logger;
  version: string;
  /** The home and banks this process knows (the embedded service): error messages name them by label. */
  named?: ServerPlaces['named'];
}): Promise<ListeningApi> {
  const tlsFiles = tlsFilesOf(deps.config, deps.home);
  const material = tlsFiles ? readTlsMaterial(tlsFiles) : undefined;
  const app = await buildApi({
    ...(material ? { tls: material } : {}),
    service: deps.service,
    scheduling: deps.scheduling,
    quotas: deps.quotas,
    services: deps.services,
    ...(deps.subscriptions ? { subscriptions: deps.subscriptions } : {}),
    tokens: tokenVerifier(deps.tokens, { logger: deps.logger, useIntervalMs: deps.config.api.token_use_interval_ms }),
    authFailures: deps.config.api.auth_failures,
    events: deps.events,
    logger: deps.logger,
    bodyLimit: deps.config.api.body_limit_bytes,
    jsonMaxDepth: deps.config.api.json_max_depth,
    limits: deps.config.api,
    places: { named: deps.named ?? [], visible: deps.config.restore.allowed_target_paths },
    version: deps.version,
    metrics: metricsAccessOf(deps.config.metrics),
  });
  if (material) answerPlainHttp(app.server as unknown as TlsServer);
  await app.listen({ host: deps.config.api.host, port: deps.config.api.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : deps.config.api.port;
  const host = deps.config.api.host;
  const url = `${material ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  deps.logger.info('API listening', { url, ...(material ? { tls_serial: material.serial, tls_valid_to: material.validTo } : {}) });
  const warning = plainHttpWarning(host, tlsFiles);
  if (warning) deps.logger.warn('API without TLS beyond loopback', { warning });
  const reload = async (): Promise<string> => {
    if (!tlsFiles) return 'reload: the API serves plain http (no api.tls): nothing to reload';
    try {
      const now = reloadTls(app.server as unknown as SecureContextHolder, tlsFiles);
      const facts = { tls_serial: now.serial, tls_sha256: now.fingerprint256, tls_valid_to: now.validTo };
      deps.logger.info('TLS certificate reloaded', facts);
      return `reload: TLS certificate serial ${now.serial} (SHA-256 ${now.fingerprint256}, valid to ${now.validTo}) for new connections`;
    } catch (err) {
      deps.logger.error('TLS reload failed; the previous certificate is still served', { error: (err as Error).message });
      throw err;
    }
  };
  return { app, url, warnings: warning ? [warning] : [], reload };
}
