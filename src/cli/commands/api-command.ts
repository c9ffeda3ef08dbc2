import type { Command } from 'commander';
import type { RunningProcess } from '../../processes/process.js';
import type { Run } from '../context.js';
import type { ProcessOptions } from '../../processes/options.js';
import { parsePort } from '../context.js';

/** A process module's start function for a process that serves the REST API. */
export type StartApiProcess = (opts: ProcessOptions & { port?: number }) => Promise<RunningProcess>;

/** `--metrics-port`, as every long-running process takes it. */
export const METRICS_PORT_OPTION = [
  '--metrics-port <n>',
  'serve /metrics on this port too, overriding metrics.port (0: any free port)',
] as const;

/**
 * Adds a command that serves the REST API until stopped (`serve`, `api`), `--port` overriding api.port.
 * The API server (fastify and its plugins) is loaded, by `load`, only when such a command runs.
 */
export function addApiCommand(
  program: Command,
  run: Run,
  name: string,
  description: string,
  load: () => Promise<StartApiProcess>,
  options: { allowUrl?: boolean } = {},
): void {
  program
    .command(name)
    .description(description)
    .option('--port <n>', 'override api.port (0: any free port)')
    .option(...METRICS_PORT_OPTION)
    .action((opts: { port?: string; metricsPort?: string }) =>
      run(async (cli) => {
        const port = parsePort(opts.port);
        const metricsPort = parsePort(opts.metricsPort, '--metrics-port');
        const start = await load();
        const home = options.allowUrl ? await cli.home() : await cli.localHome();
        await cli.runProcess(
          await start({ home, ...(port === undefined ? {} : { port }), ...(metricsPort === undefined ? {} : { metricsPort }) }),
        );
      })(),
    );
}
