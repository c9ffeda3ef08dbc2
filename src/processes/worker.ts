/**
 * `bulwark worker` and `bulwark agent --node N`: the processes of the temporal engine. A worker runs
 * operation workflows and their activities on the main task queue; an agent only the activities of
 * resources planned on its node. Both publish the events of the hooks they run.
 */
import { bwkError } from '../core/errors.js';
import { openBulwark } from './app.js';
import { publishEvents } from './publish-events.js';
import { Held, type RunningProcess } from './process.js';
import { transportFromConfig } from './transport.js';
import type { RunningWorker } from '../protection-manager/engines/temporal-worker.js';
import { ServiceRegistration, serviceHost } from './service-registration.js';
import { withMetricsPort, type ProcessOptions } from './options.js';
import { listenMetrics } from '../api/metrics-listener.js';

export type WorkerRole = { role: 'worker' } | { role: 'agent'; node: string };

export async function startWorkerProcess(opts: ProcessOptions & WorkerRole): Promise<RunningProcess> {
  const held = new Held();
  return held.starting(async () => {
    const app = held.add(await openBulwark(opts.home, { runWorker: false }), (a) => a.close());
    if (app.config.engine !== 'temporal') {
      throw bwkError('BWK_ERR_INVALID_INPUT', {
        reason:
          `bulwark ${opts.role} needs the temporal engine (engine: temporal in bulwark.yaml, or BULWARK_ENGINE=temporal); this ` +
          `home uses "${app.config.engine}"`,
      });
    }
    const transport = held.add(await transportFromConfig(app.config, app.logger), (t) => t.close());
    publishEvents(held, app, transport);
    const metrics = held.add(await listenMetrics(withMetricsPort(app.config, opts.metricsPort).metrics, app.logger), (m) => m?.close());
    const { startWorker } = await import('../protection-manager/engines/temporal-worker.js'); // the Temporal worker SDK: only here
    const role = opts.role === 'worker' ? { role: 'worker' as const } : { role: 'agent' as const, node: opts.node };
    const start = () => startWorker(role, { config: app.config, home: app.home, steps: app.steps, logger: app.logger });
    // Disabling drains the Temporal worker (running hooks finish within the grace time, no new task is
    // polled; Temporal gives them to other workers); enabling starts a new one. `done` resolves only when
    // a worker ends otherwise (a fatal error) or on SIGTERM/SIGINT: that ends the process, and stopping
    // it drains the worker (the SDK's own signal handling is off: temporal-worker.ts).
    let worker: RunningWorker | null = null;
    let ended!: () => void;
    const done = new Promise<void>((resolve) => {
      ended = resolve;
      process.once('SIGTERM', () => resolve()).once('SIGINT', () => resolve());
    });
    const watch = (w: RunningWorker) =>
      void w.done.then(
        () => worker === w && ended(),
        () => worker === w && ended(),
      );
    const registration = await ServiceRegistration.start({
      store: app.store.services,
      // An agent is its node: that is where the plans' resources say it runs.
      host: opts.role === 'agent' ? opts.node : serviceHost(app.config),
      binary: opts.role === 'agent' ? 'bulwark-agent' : 'bulwark-worker',
      config: app.config,
      logger: app.logger,
      onStatus: async (enabled) => {
        if (enabled && !worker) watch((worker = await start()));
        if (!enabled && worker) {
          const draining = worker;
          worker = null;
          await draining.shutdown();
        }
      },
    });
    held.add(registration, async (r) => {
      await r.stop();
      const last = worker;
      worker = null;
      await last?.shutdown();
    });
    const queue = opts.role === 'worker' ? app.config.temporal.task_queue : `bulwark-agent-${opts.node}`;
    return {
      note:
        `bulwark ${opts.role} (pid ${process.pid}) serving task queue ${queue} at ${app.config.temporal.address}; SIGTERM drains and ` +
        `stops`,
      // SIGTERM/SIGINT resolve `done`; stop() then drains the worker (running hooks get the grace time).
      done,
      ready: { ready: true, pid: process.pid, service_id: registration.id, ...(metrics ? { metrics_url: metrics.url } : {}) },
      stop: () => held.release(),
    };
  });
}
