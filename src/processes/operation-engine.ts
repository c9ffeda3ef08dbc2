/**
 * `bulwark operation-engine`, the distributed scheduler: fires scheduled operations by calling
 * protection services over RPC, and hears their outcomes on `bulwark.events` (polling covers what
 * it misses). Run several with operation_engine.redis_url: one leads, the others stand by.
 */
import { configWarnings, homePath, loadConfig, pageSizesOf } from '../common/config.js';
import { createLogger, fileSink } from '../common/logging.js';
import { InProcessEvents } from '../protection-manager/events.js';
import { bridgeEventsIn } from '../rpc/event-bridge.js';
import { rpcProtectionService } from '../rpc/protection-rpc.js';
import { openCatalogStore } from '../store/factory.js';
import { runOperationEngine } from './operation-engine-runner.js';
import { Held, type RunningProcess } from './process.js';
import { transportFromConfig } from './transport.js';
import { ServiceRegistration, serviceHost } from './service-registration.js';
import { withMetricsPort, type ProcessOptions } from './options.js';
import { listenMetrics } from '../api/metrics-listener.js';

export async function startOperationEngine(opts: ProcessOptions): Promise<RunningProcess> {
  const loaded = loadConfig(opts.home);
  const config = withMetricsPort(loaded, opts.metricsPort);
  const logger = createLogger(fileSink(homePath(opts.home, config.log.file)), config.log.level, {
    pid: process.pid,
    process: 'operation-engine',
  });
  for (const warning of configWarnings(loaded)) logger.warn('deprecated configuration', { warning });
  const held = new Held();
  return held.starting(async () => {
    const store = held.add(await openCatalogStore(config.catalog.url, opts.home, { pageSizes: pageSizesOf(config) }), (s) => s.close());
    const transport = held.add(await transportFromConfig(config, logger), (t) => t.close());
    const metrics = held.add(await listenMetrics(config.metrics, logger), (m) => m?.close());
    const events = new InProcessEvents();
    held.add(await bridgeEventsIn(transport, events), (unbridge) => unbridge());
    const service = rpcProtectionService(transport, config.rpc.queue, config.rpc.timeout_ms, config.rpc.long_timeout_ms);
    const registration = held.add(
      await ServiceRegistration.start({
        store: store.services,
        host: serviceHost(config),
        binary: 'bulwark-operation-engine',
        config,
        logger,
      }),
      (r) => r.stop(),
    );
    held.add(await runOperationEngine({ config, store, service, events, logger, enabled: () => registration.isEnabled }), (e) => e.stop());
    const leader = config.operation_engine.redis_url ? 'electing a leader in Redis' : 'alone (no operation_engine.redis_url)';
    return {
      note:
        `bulwark operation-engine (pid ${process.pid}) calling ${config.rpc.queue} over ${config.rpc.transport}, ${leader}; ` +
        'SIGTERM stops',
      ready: { ready: true, pid: process.pid, service_id: registration.id, ...(metrics ? { metrics_url: metrics.url } : {}) },
      stop: () => held.release(),
    };
  });
}
