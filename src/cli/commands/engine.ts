import type { Command } from 'commander';
import { bwkError } from '../../core/errors.js';
import type { Run } from '../context.js';
import type { WorkerRole } from '../../processes/worker.js';

/** `worker` and `agent`: the processes of the temporal engine; SIGTERM drains them within temporal.shutdown_grace_time_ms. */
export function registerEngineCommands(program: Command, run: Run): void {
  const start = (role: WorkerRole) =>
    run(async (cli) => {
      if (role.role === 'agent' && !/^[A-Za-z0-9_.-]{1,64}$/.test(role.node)) {
        throw bwkError('BWK_ERR_INVALID_INPUT', { reason: '--node must be 1-64 letters, digits, "_", "." or "-"' });
      }
      const { startWorkerProcess } = await import('../../processes/worker.js'); // the Temporal SDK: only here
      await cli.runProcess(await startWorkerProcess({ home: await cli.localHome(), ...role }));
      cli.out.note(`bulwark ${role.role} stopped`);
    })();
  program
    .command('worker')
    .description('run a Temporal worker: operation workflows and their activities (engine: temporal)')
    .action(() => start({ role: 'worker' }));
  program
    .command('agent')
    .description('run an agent on this node: the hooks of resources planned with `node: N` (engine: temporal)')
    .requiredOption('--node <name>', 'the node name resources refer to')
    .action((opts: { node: string }) => start({ role: 'agent', node: opts.node }));
}
