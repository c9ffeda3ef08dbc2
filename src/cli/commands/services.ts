import type { Command } from 'commander';
import { appAction } from '../actions.js';
import type { Run } from '../context.js';
import type { RequestContext } from '../../protection-manager/request.js';

/** The local CLI administers the home's catalog, as `token` does: it acts as an admin. */
const LOCAL_ADMIN: RequestContext = { projectId: 'admin', admin: true };
const COLUMNS = ['id', 'binary', 'host', 'status', 'state', 'updated_at', 'disabled_reason'];

/** `bulwark service list|enable|disable`: Karbor's os-services on the home's catalog (docs/service.md "Services"). */
export function registerServiceCatalogCommands(program: Command, run: Run): void {
  const service = program.command('service').description('the running Bulwark processes: list, enable, disable');
  service
    .command('list')
    .description('every registered process: host, binary, status (enabled/disabled), state (up/down)')
    .option('--host <host>')
    .option('--binary <binary>', 'bulwark-api, bulwark-protection-service, bulwark-operation-engine, bulwark-worker or bulwark-agent')
    .action(
      appAction(run, async (cli, app, opts: { host?: string; binary?: string }) => {
        const filter = { ...(opts.host ? { host: opts.host } : {}), ...(opts.binary ? { binary: opts.binary } : {}) };
        cli.out.result(await app.services.list(LOCAL_ADMIN, filter), COLUMNS);
      }),
    );
  service
    .command('enable <id>')
    .description('let a disabled process take work again (at its next heartbeat)')
    .action(
      appAction(run, async (cli, app, id: string) => {
        cli.out.result(await app.services.update(LOCAL_ADMIN, id, { status: 'enabled' }));
      }),
    );
  service
    .command('disable <id>')
    .description('let a process finish what it runs and take no new work (at its next heartbeat)')
    .option('--reason <text>')
    .action(
      appAction(run, async (cli, app, id: string, opts: { reason?: string }) => {
        cli.out.result(await app.services.update(LOCAL_ADMIN, id, { status: 'disabled', disabled_reason: opts.reason ?? null }));
      }),
    );
}
