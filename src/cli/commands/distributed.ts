import type { Command } from 'commander';
import { bwkError } from '../../core/errors.js';
import type { Run } from '../context.js';
import { addApiCommand, METRICS_PORT_OPTION } from './api-command.js';
import { parsePort } from '../context.js';

function parsePrefetch(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw bwkError('BWK_ERR_INVALID_INPUT', { reason: '--prefetch must be 1-1000' });
  return n;
}

/** The distributed processes: `protection-service` (runs operations) and `api` (serves HTTP), joined by RPC. */
export function registerDistributedCommands(program: Command, run: Run): void {
  program
    .command('protection-service')
    .description('serve the protection service on the RPC queue (rpc.*); run several to share the load')
    .option('--prefetch <n>', 'requests handled at once by this process', '8')
    .option(...METRICS_PORT_OPTION)
    .action((opts: { prefetch: string; metricsPort?: string }) =>
      run(async (cli) => {
        const prefetch = parsePrefetch(opts.prefetch);
        const metricsPort = parsePort(opts.metricsPort, '--metrics-port');
        // The RPC layer (amqplib) and the app are loaded only by the process that serves them.
        const { startProtectionService } = await import('../../processes/protection-service.js');
        await cli.runProcess(
          await startProtectionService({ home: await cli.localHome(), prefetch, ...(metricsPort === undefined ? {} : { metricsPort }) }),
        );
      })(),
    );

  program
    .command('operation-engine')
    .description('fire scheduled operations, calling protection services over RPC (operation_engine.*, rpc.*)')
    .option(...METRICS_PORT_OPTION)
    .action((opts: { metricsPort?: string }) =>
      run(async (cli) => {
        const metricsPort = parsePort(opts.metricsPort, '--metrics-port');
        const { startOperationEngine } = await import('../../processes/operation-engine.js');
        await cli.runProcess(
          await startOperationEngine({ home: await cli.localHome(), ...(metricsPort === undefined ? {} : { metricsPort }) }),
        );
      })(),
    );

  addApiCommand(
    program,
    run,
    'api',
    'serve the REST API, calling protection services over RPC (rpc.*)',
    async () => (await import('../../processes/api.js')).startApi,
    // It holds no data of its own (only the catalog's tokens), so a BULWARK_URL meant for the CLI does not stop it.
    { allowUrl: true },
  );
}
