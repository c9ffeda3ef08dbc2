/**
 * `bulwark api`, the distributed front door: the REST API, calling protection services over RPC,
 * with their operation events fed from `bulwark.events` to its SSE streams. It opens no provider
 * or bank: only the catalog (for tokens) and the transport.
 */
import { serveNotifications } from '../notifications/serve.js';
import { configWarnings, homePath, loadConfig, pageSizesOf } from '../common/config.js';
import { createLogger, fileSink } from '../common/logging.js';
import { privacyWarnings } from '../common/private-files.js';
import { VERSION } from '../common/version.js';
import { listenApi } from '../api/listen.js';
import { InProcessEvents } from '../protection-manager/events.js';
import { bridgeEventsIn } from '../rpc/event-bridge.js';
import { rpcProtectionService } from '../rpc/protection-rpc.js';
import { QuotaService } from '../protection-manager/quota-service.js';
import { ServiceCatalog } from '../protection-manager/service-catalog.js';
import { ServiceRegistration, serviceHost } from './service-registration.js';
import { CatalogScheduling } from '../operation-engine/scheduling.js';
import { openCatalogStore } from '../store/factory.js';
import { withApiPort, withMetricsPort, type ProcessOptions } from './options.js';
import { listenMetrics } from '../api/metrics-listener.js';
import { Held, type RunningProcess } from './process.js';
import { transportFromConfig } from './transport.js';

export async function startApi(opts: ProcessOptions & { port?: number }): Promise<RunningProcess> {
  const loaded = loadConfig(opts.home);
  const config = withMetricsPort(withApiPort(loaded, opts.port), opts.metricsPort);
  const logger = createLogger(fileSink(homePath(opts.home, config.log.file)), config.log.level, { pid: process.pid, process: 'api' });
  for (const warning of configWarnings(loaded)) logger.warn('deprecated configuration', { warning });
  for (const warning of privacyWarnings(opts.home, [])) logger.warn('directory open to other users', { warning });
  const held = new Held();
  return held.starting(async () => {
    const store = held.add(await openCatalogStore(config.catalog.url, opts.home, { pageSizes: pageSizesOf(config) }), (s) => s.close());
    const metrics = held.add(await listenMetrics(config.metrics, logger), (m) => m?.close());
    const transport = held.add(await transportFromConfig(config, logger), (t) => t.close());
    const events = new InProcessEvents();
    held.add(await bridgeEventsIn(transport, events), (unbridge) => unbridge());
    const service = rpcProtectionService(transport, config.rpc.queue, config.rpc.timeout_ms, config.rpc.long_timeout_ms);
    held.add(
      await ServiceRegistration.start({ store: store.services, host: serviceHost(config), binary: 'bulwark-api', config, logger }),
      (r) => r.stop(),
    );
    const api = held.add(
      await listenApi({
        config,
        home: opts.home,
        service,
        scheduling: new CatalogScheduling({ store, service, config }),
        quotas: new QuotaService({ store, config, logger }),
        services: new ServiceCatalog({ store: store.services, logger }),
        subscriptions: serveNotifications(held, store.notifications, config, logger),
        tokens: store.tokens,
        events,
        logger,
        version: VERSION,
        // The banks live with the protection services; this process knows only its own home.
        named: [{ path: opts.home, label: 'Bulwark home' }],
      }),
      (a) => a.app.close(),
    );
    return {
      note: [
        ...api.warnings.map((w) => `warning: ${w}`),
        `bulwark api (pid ${process.pid}) listening on ${api.url}; calling ${config.rpc.queue} over ${config.rpc.transport}; ` +
          'SIGHUP reloads',
      ].join('\n'),
      ready: { url: api.url, pid: process.pid, ...(metrics ? { metrics_url: metrics.url } : {}) },
      reload: api.reload,
      stop: () => held.release(),
    };
  });
}
