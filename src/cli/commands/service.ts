import type { Command } from 'commander';
import { bwkError } from '../../core/errors.js';
import type { CliContext } from '../context.js';
import { stopSignal } from '../stop-signal.js';
import { parseLimit } from '../context.js';

type Run = (fn: (cli: CliContext) => Promise<void>) => () => Promise<void>;


/** `serve` (the embedded all-in-one) and `token` management. */
export function registerServiceCommands(program: Command, run: Run): void {
  program.command('serve').description('run the all-in-one service: REST API (api.host:api.port, default 127.0.0.1:8780) with the configured engine')
    .option('--port <n>', 'override api.port (0: any free port)')
    .action((opts: { port?: string }) => run((cli) => cli.withApp(async (app) => {
      const port = opts.port === undefined ? undefined : Number(opts.port);
      if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) throw bwkError('BWK_ERR_INVALID_INPUT', { reason: '--port must be 0-65535' });
      const config = port === undefined ? app.config : { ...app.config, api: { ...app.config.api, port } };
      // The API server (fastify and its plugins) is loaded only by the commands that serve it.
      const [{ listenApi }, { VERSION }] = await Promise.all([import('../../api/listen.js'), import('../../common/version.js')]);
      const { app: api, url } = await listenApi({ config, service: app.manager, tokens: app.store.tokens, events: app.events, logger: app.logger, version: VERSION });
      cli.out.note(`bulwark serve (pid ${process.pid}) listening on ${url} (engine ${app.config.engine}); SIGTERM stops`);
      process.stdout.write(`${JSON.stringify({ url, pid: process.pid })}\n`);
      await stopSignal();
      await api.close();
    }))());

  const token = program.command('token').description('API tokens: each bound to one project and a role');
  token.command('create').description('create a token; its secret is printed once').requiredOption('--project <id>').requiredOption('--role <role>', 'admin or member')
    .option('--description <text>')
    .action((opts: { project: string; role: string; description?: string }) => run((cli) => cli.withApp(async (app) => {
      const { token: secret, record } = await app.store.tokens.createToken({ project_id: opts.project, role: opts.role as 'admin' | 'member', ...(opts.description ? { description: opts.description } : {}) });
      cli.out.result({ ...record, token: secret });
      cli.out.note('store the token now: only its hash is kept');
    }))());
  token.command('list').description('list tokens (never their secrets)').option('--project <id>').option('--limit <n>')
    .action((opts: { project?: string; limit?: string }) => run((cli) => cli.withApp(async (app) => {
      const limit = parseLimit(opts.limit);
      const list = await app.store.tokens.listTokens(opts.project ?? null);
      cli.out.result(limit ? list.slice(0, limit) : list, ['id', 'project_id', 'role', 'description', 'created_at']);
    }))());
  token.command('delete <id>').description('revoke a token').action((id: string) => run((cli) => cli.withApp(async (app) => {
    await app.store.tokens.deleteToken(id);
    cli.out.result({ id, deleted: true });
  }))());
}
