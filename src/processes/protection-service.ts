/**
 * `bulwark protection-service`: the app serving the ProtectionService on the RPC queue (several
 * processes share the queue as competing consumers), publishing its operation events.
 */
import { serveProtection } from '../rpc/protection-rpc.js';
import { openBulwark } from './app.js';
import { publishEvents } from './publish-events.js';
import { Held, type RunningProcess } from './process.js';
import { transportFromConfig } from './transport.js';
import type { RpcServer } from '../rpc/port.js';
import { ServiceRegistration, serviceHost } from './service-registration.js';
import { withMetricsPort, type ProcessOptions } from './options.js';
import { listenMetrics } from '../api/metrics-listener.js';

export async function startProtectionService(opts: ProcessOptions & { prefetch: number }): Promise<RunningProcess> {
  const held = new Held();
  return held.starting(async () => {
    const app = held.add(await openBulwark(opts.home), (a) => a.close());
    const transport = held.add(await transportFromConfig(app.config, app.logger), (t) => t.close());
    publishEvents(held, app, transport);
    const metrics = held.add(await listenMetrics(withMetricsPort(app.config, opts.metricsPort).metrics, app.logger), (m) => m?.close());
    // Disabling cancels the queue consumer: requests already taken finish and reply, and operations
    // running go on; the broker gives new requests to the other protection services. Enabling consumes again.
    let server: RpcServer | null = null;
    const registration = await ServiceRegistration.start({
      store: app.store.services,
      host: serviceHost(app.config),
      binary: 'bulwark-protection-service',
      config: app.config,
      logger: app.logger,
      onStatus: async (enabled) => {
        if (enabled && !server)
          server = await serveProtection(transport, app.config.rpc.queue, app.manager, app.logger, { prefetch: opts.prefetch });
        if (!enabled && server) {
          const closing = server;
          server = null;
          await closing.close();
        }
      },
    });
    // Released first: requests in progress finish and reply, then the app drains while events still flow.
    held.add(registration, async (r) => {
      await r.stop();
      await server?.close();
    });
    const { queue, transport: kind } = app.config.rpc;
    return {
      note: `bulwark protection-service (pid ${process.pid}) serving ${queue} over ${kind}; SIGTERM stops, SIGHUP reloads resource scopes`,
      ready: {
        ready: true,
        pid: process.pid,
        queue,
        prefetch: opts.prefetch,
        service_id: registration.id,
        ...(metrics ? { metrics_url: metrics.url } : {}),
      },
      reload: async () => app.scopes.reload(app.home),
      stop: () => held.release(),
    };
  });
}
