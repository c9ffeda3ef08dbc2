import type { Command } from 'commander';
import { bwkError } from '../../core/errors.js';
import type { CliContext } from '../context.js';
import { stopSignal } from '../stop-signal.js';

type Run = (fn: (cli: CliContext) => Promise<void>) => () => Promise<void>;


/** The distributed processes: `protection-service` (runs operations) and `api` (serves HTTP), joined by RPC. */
export function registerDistributedCommands(program: Command, run: Run): void {
  program.command('protection-service').description('serve the protection service on the RPC queue (rpc.*); run several to share the load')
    .option('--prefetch <n>', 'requests handled at once by this process', '8')
    .action((opts: { prefetch: string }) => run((cli) => cli.withApp(async (app) => {
      // The RPC layer (amqplib) is loaded only by the distributed processes.
      const [{ transportFromConfig }, { bridgeEventsOut, serveProtection }] = await Promise.all([
        import('../../processes/transport.js'), import('../../rpc/protection-rpc.js'),
      ]);
      const transport = await transportFromConfig(app.config, app.logger);
      try {
        const prefetch = Number(opts.prefetch);
        if (!Number.isInteger(prefetch) || prefetch < 1 || prefetch > 1000) throw bwkError('BWK_ERR_INVALID_INPUT', { reason: '--prefetch must be 1-1000' });
        const server = await serveProtection(transport, app.config.rpc.queue, app.manager, app.logger, { prefetch });
        const unbridge = bridgeEventsOut(app.events, transport);
        cli.out.note(`bulwark protection-service (pid ${process.pid}) serving ${app.config.rpc.queue} over ${app.config.rpc.transport}; SIGTERM stops`);
        process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid, queue: app.config.rpc.queue, prefetch: Number(opts.prefetch) })}\n`);
        await stopSignal();
        await server.close();
        unbridge();
      } finally {
        await transport.close();
      }
    }))());

  program.command('api').description('serve the REST API, calling protection services over RPC (rpc.*)')
    .option('--port <n>', 'override api.port (0: any free port)')
    .action((opts: { port?: string }) => run(async (cli) => {
      const [
        { resolveHome }, { loadConfig, homePath }, { createLogger, fileSink }, { VERSION }, { InProcessEvents },
        { bridgeEventsIn, RpcProtectionService }, { listenApi }, { transportFromConfig }, { openCatalogStore },
      ] = await Promise.all([
        import('../../processes/app.js'), import('../../common/config.js'), import('../../common/logging.js'), import('../../common/version.js'),
        import('../../protection-manager/events.js'), import('../../rpc/protection-rpc.js'), import('../../api/listen.js'),
        import('../../processes/transport.js'), import('../../store/factory.js'),
      ]);
      const home = resolveHome(cli.globals.home);
      const base = loadConfig(home);
      const config = opts.port === undefined ? base : { ...base, api: { ...base.api, port: Number(opts.port) } };
      const logger = createLogger(fileSink(homePath(home, config.log.file)), config.log.level, { pid: process.pid, process: 'api' });
      const store = await openCatalogStore(config.catalog.url, home);
      const transport = await transportFromConfig(config, logger);
      const events = new InProcessEvents();
      const unbridge = await bridgeEventsIn(transport, events);
      try {
        const service = new RpcProtectionService(transport, config.rpc.queue, config.rpc.timeout_ms);
        const { app, url } = await listenApi({ config, service, tokens: store.tokens, events, logger, version: VERSION });
        cli.out.note(`bulwark api (pid ${process.pid}) listening on ${url}; calling ${config.rpc.queue} over ${config.rpc.transport}`);
        process.stdout.write(`${JSON.stringify({ url, pid: process.pid })}\n`);
        await stopSignal();
        await app.close();
      } finally {
        await unbridge();
        await transport.close();
        await store.close();
      }
    })());
}
