import type { Command } from 'commander';
import type { BulwarkApp } from '../../app.js';
import { bwkError } from '../../common/errors.js';
import { startWorker } from '../../protection-manager/worker.js';
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
  const worker = await startWorker(role, { config: app.config, home: app.home, steps: app.steps, logger: app.logger });
  const queue = role.role === 'worker' ? app.config.temporal.task_queue : `bulwark-agent-${role.node}`;
  cli.out.note(`bulwark ${role.role} (pid ${process.pid}) serving task queue ${queue} at ${app.config.temporal.address}; SIGTERM drains and stops`);
  // The SDK's runtime already turns SIGTERM/SIGINT into a graceful shutdown of every worker.
  await worker.done;
  cli.out.note(`bulwark ${role.role} stopped`);
}

/** `worker`, `agent` and `operation` commands: the processes and controls of the temporal engine. */
export function registerEngineCommands(program: Command, run: Run): void {
  program.command('worker').description('run a Temporal worker: operation workflows and their activities (engine: temporal)')
    .action(run((cli) => cli.withApp((app) => serve(cli, app, { role: 'worker' }), { runWorker: false })));
  program.command('agent').description('run an agent on this node: the hooks of resources planned with `node: N` (engine: temporal)')
    .requiredOption('--node <name>', 'the node name resources refer to')
    .action((opts: { node: string }) => run((cli) => cli.withApp(async (app) => {
      if (!/^[A-Za-z0-9_.-]{1,64}$/.test(opts.node)) throw bwkError('BWK_ERR_INVALID_INPUT', { reason: '--node must be 1-64 letters, digits, "_", "." or "-"' });
      await serve(cli, app, { role: 'agent', node: opts.node });
    }, { runWorker: false }))());

  const operation = program.command('operation').description('follow or stop running operations');
  operation.command('show <id>').description('an operation (checkpoint, restore or verification id) and its state')
    .action((id: string) => run((cli) => cli.withApp(async (app, req) => {
      cli.out.result(await app.manager.showOperation(req, id));
    }))());
  operation.command('wait <id>').description('wait until an operation ends; exits 1 if it ended error/fail')
    .action((id: string) => run((cli) => cli.withApp(async (app, req) => {
      const view = await app.manager.waitOperation(req, id);
      cli.out.result(view);
      if (view.status === 'error' || view.status === 'fail') cli.exitCode = 1;
    }))());
  operation.command('cancel <id>').description('cancel a running operation: it ends error/fail with reason cancelled')
    .action((id: string) => run((cli) => cli.withApp(async (app, req) => {
      requireTemporal(app, 'operation cancel');
      await app.manager.showOperation(req, id); // 404 for what is not yours
      await app.manager.cancel(id);
      cli.out.result({ id, cancel_requested: true });
    }))());
}
