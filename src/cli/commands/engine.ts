import type { Command } from 'commander';
import type { BulwarkApp } from '../../processes/app.js';
import { bwkError } from '../../core/errors.js';
import type { CliContext } from '../context.js';

type Run = (fn: (cli: CliContext) => Promise<void>) => () => Promise<void>;

function requireTemporal(app: BulwarkApp, what: string): void {
  if (app.config.engine !== 'temporal') {
    throw bwkError('BWK_ERR_INVALID_INPUT', { reason: `${what} needs the temporal engine (engine: temporal in bulwark.yaml, or BULWARK_ENGINE=temporal); this home uses "${app.config.engine}"` });
  }
}

/** Runs a worker until SIGTERM/SIGINT, which drain it within temporal.shutdown_grace_time_ms. */
async function serve(cli: CliContext, app: BulwarkApp, role: { role: 'worker' } | { role: 'agent'; node: string }): Promise<void> {
  requireTemporal(app, `bulwark ${role.role}`);
  const { startWorker } = await import('../../protection-manager/worker.js'); // the Temporal worker SDK: only here
  const worker = await startWorker(role, { config: app.config, home: app.home, steps: app.steps, logger: app.logger });
  const queue = role.role === 'worker' ? app.config.temporal.task_queue : `bulwark-agent-${role.node}`;
  cli.out.note(`bulwark ${role.role} (pid ${process.pid}) serving task queue ${queue} at ${app.config.temporal.address}; SIGTERM drains and stops`);
  // The SDK's runtime already turns SIGTERM/SIGINT into a graceful shutdown of every worker.
  await worker.done;
  cli.out.note(`bulwark ${role.role} stopped`);
}

/** `worker` and `agent`: the processes of the temporal engine. */
export function registerEngineCommands(program: Command, run: Run): void {
  program.command('worker').description('run a Temporal worker: operation workflows and their activities (engine: temporal)')
    .action(run((cli) => cli.withApp((app) => serve(cli, app, { role: 'worker' }), { runWorker: false })));
  program.command('agent').description('run an agent on this node: the hooks of resources planned with `node: N` (engine: temporal)')
    .requiredOption('--node <name>', 'the node name resources refer to')
    .action((opts: { node: string }) => run((cli) => cli.withApp(async (app) => {
      if (!/^[A-Za-z0-9_.-]{1,64}$/.test(opts.node)) throw bwkError('BWK_ERR_INVALID_INPUT', { reason: '--node must be 1-64 letters, digits, "_", "." or "-"' });
      await serve(cli, app, { role: 'agent', node: opts.node });
    }, { runWorker: false }))());
}
