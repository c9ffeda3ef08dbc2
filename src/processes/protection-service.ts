/**
 * `bulwark protection-service`: the app serving the ProtectionService on the RPC queue (several
 * processes share the queue as competing consumers), publishing its operation events.
 */
import { serveProtection } from '../rpc/protection-rpc.js';
import { openBulwark } from './app.js';
import { publishEvents } from './publish-events.js';
import { Held, type RunningProcess } from './process.js';
import { transportFromConfig } from './transport.js';

export async function startProtectionService(opts: { home: string; prefetch: number }): Promise<RunningProcess> {
  const held = new Held();
  return held.starting(async () => {
    const app = held.add(await openBulwark(opts.home), (a) => a.close());
    const transport = held.add(await transportFromConfig(app.config, app.logger), (t) => t.close());
    publishEvents(held, app, transport);
    // Released first: requests in progress finish and reply, then the app drains while events still flow.
    held.add(await serveProtection(transport, app.config.rpc.queue, app.manager, app.logger, { prefetch: opts.prefetch }), (s) =>
      s.close(),
    );
    const { queue, transport: kind } = app.config.rpc;
    return {
      note: `bulwark protection-service (pid ${process.pid}) serving ${queue} over ${kind}; SIGTERM stops, SIGHUP reloads resource scopes`,
      ready: { ready: true, pid: process.pid, queue, prefetch: opts.prefetch },
      reload: async () => app.scopes.reload(app.home),
      stop: () => held.release(),
    };
  });
}
