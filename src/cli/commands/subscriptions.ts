import type { Command } from 'commander';
import { appAction } from '../actions.js';
import { bwkError } from '../../core/errors.js';
import type { Run } from '../context.js';
import { SubscriptionService } from '../../notifications/subscriptions.js';
import type { BulwarkApp } from '../../processes/app.js';
import type { RequestContext } from '../../protection-manager/request.js';

const COLUMNS = ['id', 'project_id', 'target_type', 'url', 'status', 'filter', 'created_at'];
const DELIVERY_COLUMNS = ['id', 'event_type', 'status', 'attempts', 'last_status_code', 'next_attempt_at', 'last_error'];

/** A comma-separated option as a list; absent or empty: no restriction. */
const list = (value?: string): string[] =>
  (value ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);

const serviceOf = (app: BulwarkApp) =>
  new SubscriptionService({ store: app.store.notifications, config: app.config.notifications, logger: app.logger });
/** The local CLI administers the home's catalog: the project is --project, else the configured one. */
const ctxOf = (app: BulwarkApp, project?: string): RequestContext => ({ projectId: project ?? app.config.project, admin: true });

/** `bulwark subscription create|list|show|delete|deliveries`: webhook notifications (docs/notifications.md). */
export function registerSubscriptionCommands(program: Command, run: Run): void {
  const sub = program.command('subscription').description('webhook notifications of operation outcomes, per project');
  sub
    .command('create')
    .description('subscribe a webhook URL (its signing secret is printed once) or e-mail addresses')
    .option('--webhook <url>', 'the receiver (checked against notifications.allowed_hosts / allow_private)')
    .option('--email <addresses>', 'comma-separated recipients (needs notifications.email.smtp_host)')
    .option('--kinds <list>', 'comma-separated: protect, restore, verify, delete (default: all)')
    .option('--outcomes <list>', 'comma-separated: available, error, deleted, success, fail (default: all)')
    .option('--plans <ids>', 'comma-separated plan ids (default: all)')
    .option('--project <id>')
    .action(
      appAction(
        run,
        async (
          cli,
          app,
          opts: { webhook?: string; email?: string; kinds?: string; outcomes?: string; plans?: string; project?: string },
        ) => {
          if ((opts.webhook === undefined) === (opts.email === undefined))
            throw bwkError('BWK_ERR_INVALID_INPUT', { reason: 'give exactly one of --webhook URL and --email ADDRESSES' });
          const created = await serviceOf(app).create(ctxOf(app, opts.project), {
            target: opts.webhook !== undefined ? { type: 'webhook', url: opts.webhook } : { type: 'email', addresses: list(opts.email) },
            filter: { kinds: list(opts.kinds) as never, outcomes: list(opts.outcomes), plan_ids: list(opts.plans) },
          });
          cli.out.result(created);
          if (opts.webhook !== undefined)
            cli.out.note('store the secret now: it signs every delivery (x-bulwark-signature) and is never shown again');
        },
      ),
    );
  sub
    .command('list')
    .description("the project's subscriptions (never their secrets)")
    .option('--project <id>')
    .action(
      appAction(run, async (cli, app, opts: { project?: string }) => {
        cli.out.result(await serviceOf(app).list(ctxOf(app, opts.project)), COLUMNS);
      }),
    );
  sub
    .command('show <id>')
    .option('--project <id>')
    .action(
      appAction(run, async (cli, app, id: string, opts: { project?: string }) => {
        cli.out.result(await serviceOf(app).show(ctxOf(app, opts.project), id));
      }),
    );
  sub
    .command('delete <id>')
    .description('delete a subscription and its delivery log')
    .option('--project <id>')
    .action(
      appAction(run, async (cli, app, id: string, opts: { project?: string }) => {
        await serviceOf(app).delete(ctxOf(app, opts.project), id);
        cli.out.result({ id, deleted: true });
      }),
    );
  sub
    .command('deliveries <id>')
    .description('the delivery log: attempts, last status code, next try')
    .option('--project <id>')
    .action(
      appAction(run, async (cli, app, id: string, opts: { project?: string }) => {
        cli.out.result(await serviceOf(app).deliveries(ctxOf(app, opts.project), id), DELIVERY_COLUMNS);
      }),
    );
}
