import type { Command } from 'commander';
import { bwkError } from '../../core/errors.js';
import type { Run } from '../context.js';
import { parsePort } from '../context.js';
import { METRICS_PORT_OPTION } from './api-command.js';
import type { WorkerRole } from '../../processes/worker.js';

/** `worker` and `agent`: the processes of the temporal engine; SIGTERM drains them within temporal.shutdown_grace_time_ms. */
export function registerEngineCommands(program: Command, run: Run): void {
  const start = (role: WorkerRole, metricsPortText: string | undefined) =>
    run(async (cli) => {
      const metricsPort = parsePort(metricsPortText, '--metrics-port');
      if (role.role === 'agent' && !/^[A-Za-z0-9_.-]{1,64}$/.test(role.node)) {
        throw bwkError('BWK_ERR_INVALID_INPUT', { reason: '--node must be 1-64 letters, digits, "_", "." or "-"' });
      }
      const { startWorkerProcess } = await import('../../processes/worker.js'); // the Temporal SDK: only here
      await cli.runProcess(
        await startWorkerProcess({ home: await cli.localHome(), ...role, ...(metricsPort === undefined ? {} : { metricsPort }) }),
      );
      cli.out.note(`bulwark ${role.role} stopped`);
    })();
  program
    .command('worker')
    .description('run a Temporal worker: operation workflows and their activities (engine: temporal)')
    .option(...METRICS_PORT_OPTION)
    .action((opts: { metricsPort?: string }) => start({ role: 'worker' }, opts.metricsPort));
  program
    .command('agent')
    .description('run an agent on this node: the hooks of resources planned with `node: N` (engine: temporal)')
    .requiredOption('--node <name>', 'the node name resources refer to')
    .option(...METRICS_PORT_OPTION)
    .action((opts: { node: string; metricsPort?: string }) => start({ role: 'agent', node: opts.node }, opts.metricsPort));
}
