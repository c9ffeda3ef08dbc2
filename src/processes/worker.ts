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

export type WorkerRole = { role: 'worker' } | { role: 'agent'; node: string };

export async function startWorkerProcess(opts: { home: string } & WorkerRole): Promise<RunningProcess> {
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
    const { startWorker } = await import('../protection-manager/engines/temporal-worker.js'); // the Temporal worker SDK: only here
    const role = opts.role === 'worker' ? { role: 'worker' as const } : { role: 'agent' as const, node: opts.node };
    const worker = held.add(await startWorker(role, { config: app.config, home: app.home, steps: app.steps, logger: app.logger }), (w) =>
      w.shutdown(),
    );
    const queue = opts.role === 'worker' ? app.config.temporal.task_queue : `bulwark-agent-${opts.node}`;
    return {
      note:
        `bulwark ${opts.role} (pid ${process.pid}) serving task queue ${queue} at ${app.config.temporal.address}; SIGTERM drains and ` +
        `stops`,
      // The SDK's runtime turns SIGTERM/SIGINT into a graceful shutdown of every worker: `done` then resolves.
      done: worker.done,
      stop: () => held.release(),
    };
  });
}
