import type { Command } from 'commander';
import type { Run } from '../context.js';
import { parseLimit, parsePort } from '../context.js';

/** `serve` (the embedded all-in-one) and `token` management. */
export function registerServiceCommands(program: Command, run: Run): void {
  program.command('serve').description('run the all-in-one service: REST API (api.host:api.port, default 127.0.0.1:8780) with the configured engine')
    .option('--port <n>', 'override api.port (0: any free port)')
    .action((opts: { port?: string }) => run(async (cli) => {
      const port = parsePort(opts.port);
      // The API server (fastify and its plugins) is loaded only by the commands that serve it.
      const { startEmbedded } = await import('../../processes/embedded.js');
      await cli.runProcess(await startEmbedded({ home: await cli.localHome(), ...(port === undefined ? {} : { port }) }));
    })());

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
