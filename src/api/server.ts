import Fastify from 'fastify';
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../common/logging.js';
import type { OperationEvents } from '../protection-manager/events.js';
import type { SchedulingService } from '../operation-engine/service.js';
import type { ProtectionService } from '../protection-manager/service.js';
import type { QuotaService } from '../protection-manager/quota-service.js';
import type { ServiceCatalog } from '../protection-manager/service-catalog.js';
import type { TokenVerifier } from './auth.js';
import { authenticate } from './auth.js';
import { AuthFailureLimiter, DEFAULT_AUTH_FAILURE_LIMITS, type AuthFailureLimits } from './auth-failures.js';
import { logMutatingRequests } from './request-log.js';
import { errorBody, errorHandler } from './errors.js';
import { jsonDepthLimit } from './json-body.js';
import { consoleRoutes } from './console.js';
import { clientErrorHandler, frameworkErrorHandler } from './fastify-errors.js';
import { capConnections, closeUnfinishedRequests, serverLimits, withDefaultLimits, type ApiLimits } from './limits.js';
import { OpenApiCollector, renderDocs } from './openapi.js';
import { requireProjectIdFormat } from './project-scope.js';
import { NO_PLACES, namedPlacesRedactor, type ServerPlaces } from './public-message.js';
import { bankRoutes } from './routes/bank.js';
import { catalogRoutes } from './routes/catalog.js';
import { operationRoutes } from './routes/operations.js';
import { quotaRoutes } from './routes/quotas.js';
import { serviceRoutes } from './routes/services.js';
import { subscriptionRoutes } from './routes/subscriptions.js';
import type { SubscriptionService } from '../notifications/subscriptions.js';
import { schedulingRoutes } from './routes/scheduling.js';
import { validatorCompiler } from './validation.js';
import { metricsRoute, type MetricsAccess } from './metrics-route.js';
import { EventReplay } from './event-replay.js';

export interface ApiOptions {
  service: ProtectionService;
  /** Triggers, scheduled operations and operation logs (served from the catalog in every shape). */
  scheduling: SchedulingService;
  /** Karbor's quotas and quota classes (served from the catalog in every shape). */
  quotas: QuotaService;
  /** Karbor's os-services: the running processes (the catalog's service table). */
  services: ServiceCatalog;
  /** Notification subscriptions (docs/notifications.md); no /subscriptions routes when absent. */
  subscriptions?: SubscriptionService;
  tokens: TokenVerifier;
  events: OperationEvents;
  logger: Logger;
  /** Largest accepted request body, bytes. */
  bodyLimit: number;
  /** Deepest accepted nesting of a JSON body (api.json_max_depth); DEFAULT_JSON_MAX_DEPTH when absent. */
  jsonMaxDepth?: number;
  /** Timeouts and the connection cap (src/api/limits.ts); unset ones take the configuration's defaults. */
  limits?: Partial<ApiLimits>;
  /** The home, banks and allowed restore targets: how error messages may name them (src/api/public-message.ts). */
  places?: ServerPlaces;
  /** When repeated failed authentications from one address get 429 (api.auth_failures); defaults when absent. */
  authFailures?: AuthFailureLimits;
  version: string;
  /** Serve this process's Prometheus metrics at /metrics, under this access rule; no /metrics when absent. */
  metrics?: MetricsAccess;
  /** Serve https with this certificate chain and key (src/api/tls.ts); plain http when absent. */
  tls?: { cert: Buffer; key: Buffer };
}

/**
 * `Content-Type: application/json` with no body is what many clients send on DELETE and POST
 * actions (the README walkthrough's own header file does): it means "no body", not malformed JSON.
 * Non-empty bodies keep fastify's parser, which refuses `__proto__` and `constructor` keys.
 */
function acceptEmptyJsonBodies(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = body.toString();
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    parseJson(req, text, done);
  });
}

/**
 * The REST API: Karbor's v1 shape under /v1/{project_id}. Routes are thin: they validate, build the
 * request and call the ProtectionService (in-process or over RPC); errors become `{code, message}`.
 */
export async function buildApi(opts: ApiOptions): Promise<FastifyInstance> {
  const limits = withDefaultLimits({ ...opts.limits, body_limit_bytes: opts.bodyLimit });
  const serverOptions = serverLimits(limits);
  // With TLS, Node's https server takes the same timeouts as the http one, beside the certificate.
  const https = opts.tls ? { https: { ...serverOptions.http, cert: opts.tls.cert, key: opts.tls.key } } : {};
  const app = Fastify({
    ...serverOptions,
    ...https,
    logger: false,
    // A request id the log and a 500's message share, unique across restarts.
    genReqId: () => randomUUID(),
    // Errors before routing (a bad URL) and before a request exists (431, 408, bad HTTP): coded too.
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler: clientErrorHandler(limits),
    routerOptions: { maxParamLength: 4096, ignoreTrailingSlash: true },
  });
  capConnections(app, limits);
  closeUnfinishedRequests(app);
  const openapi = new OpenApiCollector();
  // Before the OpenAPI collector, so the reference shows the project id's format on every route.
  app.addHook('onRoute', requireProjectIdFormat);
  app.addHook('onRoute', openapi.onRoute);
  app.setValidatorCompiler(validatorCompiler);
  app.setErrorHandler(errorHandler(opts.logger, opts.places ?? NO_PLACES));
  acceptEmptyJsonBodies(app);
  app.addHook('preParsing', jsonDepthLimit(opts.jsonMaxDepth));
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send(errorBody('BWK_ERR_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`));
  });

  // An event stream opened after its operation began still gets its start and latest figures.
  const events = new EventReplay(opts.events);
  app.addHook('onClose', async () => events.close());
  await app.register(async (v1) => {
    v1.addHook('onRequest', authenticate(opts.tokens, new AuthFailureLimiter(opts.authFailures ?? DEFAULT_AUTH_FAILURE_LIMITS)));
    v1.addHook('onResponse', logMutatingRequests(opts.logger));
    const places = opts.places ?? NO_PLACES;
    if (places.named.length > 0) {
      const redact = namedPlacesRedactor(places);
      v1.addHook('onSend', async (_req, _reply, payload) => (typeof payload === 'string' ? redact(payload) : payload));
    }
    // Who the token is: lets clients (the CLI in --url mode) find their project.
    v1.get('/v1/identity', { schema: { tags: ['identity'] } }, async (req) => ({
      project_id: req.principal!.projectId,
      role: req.principal!.role,
    }));
    catalogRoutes(v1, opts.service);
    operationRoutes(v1, opts.service, events);
    schedulingRoutes(v1, opts.scheduling);
    quotaRoutes(v1, opts.quotas);
    serviceRoutes(v1, opts.services);
    if (opts.subscriptions) subscriptionRoutes(v1, opts.subscriptions);
    bankRoutes(v1, opts.service);
  });
  app.get('/openapi.json', async () => openapi.document(opts.version));
  app.get('/docs', async (_req, reply) => reply.type('text/html; charset=utf-8').send(renderDocs(openapi.document(opts.version))));
  app.get('/healthz', async () => ({ status: 'ok' }));
  if (opts.metrics) metricsRoute(app, opts.metrics);
  // The web console: static files only; it signs in with a token and calls /v1 like any client.
  consoleRoutes(app);
  return app;
}
