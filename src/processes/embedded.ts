/**
 * `bulwark serve`, the all-in-one process: the app (catalog, providers, engine), the REST API over it
 * in-process, and its operation events on the configured transport's `bulwark.events`.
 */
import { serveNotifications } from '../notifications/serve.js';
import { VERSION } from '../common/version.js';
import { listenApi } from '../api/listen.js';
import { openBulwark, type BulwarkApp } from './app.js';
import { publishEvents } from './publish-events.js';
import { runOperationEngine } from './operation-engine-runner.js';
import { Held, type RunningProcess } from './process.js';
import { transportFromConfig } from './transport.js';
import { gatedService } from './disabled-gate.js';
import { ServiceRegistration, serviceHost, type ServiceBinary } from './service-registration.js';
import { withApiPort, withMetricsPort, type ProcessOptions } from './options.js';
import { listenMetrics } from '../api/metrics-listener.js';
import { localBankDirectories } from '../protection-manager/restore-policy.js';
import { InProcessEvents, type OperationEvents } from '../protection-manager/events.js';
import { bridgeEventsIn } from '../rpc/event-bridge.js';
import type { RpcTransport } from '../rpc/port.js';

/**
 * The events serve's API streams and its operation engine follows. With the temporal engine and a
 * broker, hooks run in workers of other processes, which publish on `bulwark.events`: everything is
 * heard from there (this process's own events included, once: they go out and come back). Otherwise
 * every operation runs here, and the app's bus has them all.
 */
async function operationEventsHeard(held: Held, app: BulwarkApp, transport: RpcTransport): Promise<OperationEvents> {
  if (app.config.engine !== 'temporal' || app.config.rpc.transport !== 'amqp') return app.events;
  const heard = new InProcessEvents();
  held.add(await bridgeEventsIn(transport, heard), (unbridge) => unbridge());
  return heard;
}

/** The home and the banks on this machine, as API error messages name them instead of their paths. */
export const namedPlaces = (app: BulwarkApp) => [
  { path: app.home, label: 'Bulwark home' },
  ...localBankDirectories(app.providers).map((path) => ({ path, label: 'a bank directory' })),
];

export async function startEmbedded(opts: ProcessOptions & { port?: number }): Promise<RunningProcess> {
  const held = new Held();
  return held.starting(async () => {
    const app = held.add(await openBulwark(opts.home), (a) => a.close());
    const transport = held.add(await transportFromConfig(app.config, app.logger), (t) => t.close());
    publishEvents(held, app, transport);
    const heard = await operationEventsHeard(held, app, transport);
    // The three services serve embeds, each in the service catalog (Karbor's os-services).
    const host = serviceHost(app.config);
    const register = async (binary: ServiceBinary) =>
      held.add(await ServiceRegistration.start({ store: app.store.services, host, binary, config: app.config, logger: app.logger }), (r) =>
        r.stop(),
      );
    const protection = await register('bulwark-protection-service');
    const service = gatedService(app.manager, protection, host);
    const scheduler = await register('bulwark-operation-engine');
    // Stopped before the app (held releases newest first): no fire starts while the app drains.
    held.add(
      await runOperationEngine({
        config: app.config,
        store: app.store,
        service,
        events: heard,
        logger: app.logger,
        enabled: () => scheduler.isEnabled,
      }),
      (e) => e.stop(),
    );
    await register('bulwark-api');
    const config = withMetricsPort(withApiPort(app.config, opts.port), opts.metricsPort);
    // Everything serve does is in this process: its metrics are on the API port, and on metrics.port when set.
    const metrics = held.add(await listenMetrics(config.metrics, app.logger), (m) => m?.close());
    const api = held.add(
      await listenApi({
        config,
        home: app.home,
        service,
        scheduling: app.scheduling,
        quotas: app.quotas,
        services: app.services,
        subscriptions: serveNotifications(held, app.store.notifications, app.config, app.logger),
        tokens: app.store.tokens,
        events: heard,
        logger: app.logger,
        version: VERSION,
        named: namedPlaces(app),
      }),
      (a) => a.app.close(),
    );
    return {
      note: [
        ...[...app.warnings, ...api.warnings].map((w) => `warning: ${w}`),
        ...(Object.keys(app.config.scopes).length === 0
          ? ['note: bulwark.yaml has no resource scopes: member tokens can use no resources until you add one (docs/security.md)']
          : []),
        `bulwark serve (pid ${process.pid}) listening on ${api.url} (engine ${app.config.engine}); SIGTERM stops, SIGHUP reloads`,
      ].join('\n'),
      ready: { url: api.url, pid: process.pid, ...(metrics ? { metrics_url: metrics.url } : {}) },
      // Both are tried, whatever the other does: a broken bulwark.yaml must not keep a renewed certificate out.
      reload: async () => {
        const results = await Promise.allSettled([(async () => app.scopes.reload(app.home))(), api.reload()]);
        const failed = results.find((r) => r.status === 'rejected');
        if (failed) throw failed.reason;
        return results.map((r) => (r as PromiseFulfilledResult<string>).value).join('; ');
      },
      stop: () => held.release(),
    };
  });
}
