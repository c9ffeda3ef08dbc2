import type { Command } from 'commander';
import { appAction } from '../actions.js';
import type { Run } from '../context.js';
import { parseLimit } from '../context.js';
import { addApiCommand } from './api-command.js';
import { parseDuration } from '../../common/duration.js';

/** `serve` (the embedded all-in-one) and `token` management. */
export function registerServiceCommands(program: Command, run: Run): void {
  addApiCommand(
    program,
    run,
    'serve',
    'run the all-in-one service: REST API (api.host:api.port, default 127.0.0.1:8780) with the configured engine',
    async () => (await import('../../processes/embedded.js')).startEmbedded,
  );

  const token = program.command('token').description('API tokens: each bound to one project and a role');
  token
    .command('create')
    .description('create a token; its secret is printed once')
    .requiredOption('--project <id>')
    .requiredOption('--role <role>', 'admin or member')
    .option('--description <text>')
    .option('--expires-in <duration>', 'refuse the token after this long: 30m, 12h, 90d (default: never)')
    .action(
      appAction(run, async (cli, app, opts: { project: string; role: string; description?: string; expiresIn?: string }) => {
        const expiresIn = opts.expiresIn === undefined ? undefined : parseDuration('--expires-in', opts.expiresIn);
        const { token: secret, record } = await app.store.tokens.createToken({
          project_id: opts.project,
          role: opts.role as 'admin' | 'member',
          ...(opts.description ? { description: opts.description } : {}),
          ...(expiresIn === undefined ? {} : { expires_at: new Date(Date.now() + expiresIn).toISOString() }),
        });
        cli.out.result({ ...record, token: secret });
        cli.out.note('store the token now: only its hash is kept');
      }),
    );
  token
    .command('list')
    .description('list tokens (never their secrets)')
    .option('--project <id>')
    .option('--limit <n>')
    .action(
      appAction(run, async (cli, app, opts: { project?: string; limit?: string }) => {
        const limit = parseLimit(opts.limit);
        const list = await app.store.tokens.listTokens(opts.project ?? null);
        cli.out.result(limit ? list.slice(0, limit) : list, [
          'id',
          'project_id',
          'role',
          'description',
          'created_at',
          'expires_at',
          'last_used_at',
        ]);
      }),
    );
  token
    .command('delete <id>')
    .description('revoke a token')
    .action(
      appAction(run, async (cli, app, id: string) => {
        await app.store.tokens.deleteToken(id);
        cli.out.result({ id, deleted: true });
      }),
    );
}
