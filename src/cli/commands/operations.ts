import type { Command } from 'commander';
import type { BulwarkApp } from '../../app.js';
import type { CheckpointStatus } from '../../checkpoints/model.js';
import type { OperationHandle } from '../../protection-manager/protection-manager.js';
import type { OperationStatus } from '../../store/records.js';
import { bwkError } from '../../common/errors.js';
import type { CliContext } from '../context.js';
import { parseDateOption, parseJsonOption, parseLimit, resolveProviderId } from '../context.js';
import { showProgress } from '../progress.js';

type Run = (fn: (cli: CliContext) => Promise<void>) => () => Promise<void>;

const FAILED = new Set(['error', 'fail']);
const CHECKPOINT_COLUMNS = ['id', 'status', 'protection_plan', 'provider_id', 'created_at'];
const OPERATION_COLUMNS = ['id', 'checkpoint_id', 'status', 'created_at'];

/**
 * Waits for an operation with a progress bar on a terminal. Ctrl-C cancels it (it ends with reason
 * `cancelled`) rather than killing the process mid-write.
 */
async function follow<T extends { id: string; status: string }>(cli: CliContext, app: BulwarkApp, kind: string, handle: OperationHandle<T>, wait = true): Promise<void> {
  if (!wait) {
    // The durable engine runs it without us: print the record as it is now and leave.
    cli.out.result(await handle.started());
    cli.out.note(`follow it with: bulwark operation wait ${handle.operationId}`);
    return;
  }
  const stop = showProgress(app.events, handle.operationId);
  const onSigint = () => { cli.out.note('\ncancelling...'); void app.manager.cancel(handle.operationId); };
  process.on('SIGINT', onSigint);
  try {
    const { record, outcome } = await handle.done;
    cli.out.result(record);
    if (FAILED.has(record.status)) {
      // The record is the result (stdout); why it failed goes to stderr, coded like any other failure.
      cli.exitCode = 1;
      const cause = outcome.error ?? { code: 'BWK_ERR_OPERATION_FAILED', message: 'see resources_reason' };
      cli.out.error(Object.assign(new Error(`${kind} ${record.id} ended ${record.status}: ${cause.message}`), { code: cause.code }));
    }
  } finally {
    process.off('SIGINT', onSigint);
    stop();
  }
}

export function registerOperationCommands(program: Command, run: Run): void {
  const checkpoint = program.command('checkpoint').description('checkpoints: protected copies of a plan\'s resources');
  checkpoint.command('create').description('protect a plan now and wait for the checkpoint').requiredOption('--plan <id>', 'plan id')
    .option('--no-wait', 'return at once with the checkpoint `protecting` (temporal engine)')
    .action((opts: { plan: string; wait: boolean }) => run((cli) => cli.withApp(async (app, req) => {
      requireDurableForNoWait(app, opts.wait);
      await follow(cli, app, 'checkpoint', await app.manager.protect(req, opts.plan), opts.wait);
    }))());
  checkpoint.command('list').description('list checkpoints, newest first')
    .option('--plan <id>').option('--provider <id>').option('--status <status>').option('--since <time>').option('--until <time>')
    .option('--limit <n>').option('--marker <id>', 'id of the last checkpoint of the previous page').option('--sort <dir>', 'desc (default) or asc')
    .action((opts: Record<string, string | undefined>) => run((cli) => cli.withApp(async (app, req) => {
      const limit = parseLimit(opts.limit);
      const since = parseDateOption('--since', opts.since);
      const until = parseDateOption('--until', opts.until);
      if (opts.sort !== undefined && opts.sort !== 'asc' && opts.sort !== 'desc') throw Object.assign(new Error(`--sort must be asc or desc, not "${opts.sort}"`), { code: 'BWK_ERR_INVALID_INPUT' });
      const list = await app.manager.listCheckpoints(req, {
        ...(opts.plan ? { planId: opts.plan } : {}), ...(opts.provider ? { providerId: resolveProviderId(app, opts.provider) } : {}),
        ...(opts.status ? { status: opts.status as CheckpointStatus } : {}), ...(since ? { since } : {}), ...(until ? { until } : {}),
        ...(limit ? { limit } : {}), ...(opts.marker ? { marker: opts.marker } : {}), ...(opts.sort ? { sort: opts.sort as 'asc' | 'desc' } : {}),
      });
      cli.out.result(cli.out.format === 'json' ? list : list.map((c) => ({ ...c, protection_plan: c.protection_plan.name })), CHECKPOINT_COLUMNS);
    }))());
  checkpoint.command('show <id>').description('show a checkpoint').action((id: string) => run((cli) => cli.withApp(async (app, req) => {
    cli.out.result(await app.manager.showCheckpoint(req, id));
  }))());
  checkpoint.command('delete <id>').description('delete a checkpoint and its data').action((id: string) => run((cli) => cli.withApp(async (app, req) => {
    await app.manager.deleteCheckpoint(req, id);
    cli.out.result({ id, status: 'deleted' });
  }))());

  const restore = program.command('restore').description('restores of checkpoints');
  restore.command('create').description('restore a checkpoint and wait').requiredOption('--checkpoint <id>')
    .option('--parameters <json>', 'restore parameters, e.g. {"fs.directory": {"target_path": "/srv/restored"}}')
    .option('--no-wait', 'return at once with the restore `in_progress` (temporal engine)')
    .action((opts: { checkpoint: string; parameters?: string; wait: boolean }) => run((cli) => cli.withApp(async (app, req) => {
      requireDurableForNoWait(app, opts.wait);
      const parameters = parseJsonOption('--parameters', opts.parameters);
      await follow(cli, app, 'restore', await app.manager.restore(req, { checkpoint_id: opts.checkpoint, ...(parameters ? { parameters } : {}) }), opts.wait);
    }))());
  restore.command('list').description('list restores').option('--status <s>').option('--checkpoint <id>').option('--limit <n>').option('--marker <id>')
    .action((opts: Record<string, string | undefined>) => run((cli) => cli.withApp(async (app, req) => {
      cli.out.result(await app.manager.listRestores(req, listQuery(opts)), OPERATION_COLUMNS);
    }))());
  restore.command('show <id>').description('show a restore').action((id: string) => run((cli) => cli.withApp(async (app, req) => {
    cli.out.result(await app.manager.showRestore(req, id));
  }))());

  const verification = program.command('verification').description('verifications: read a checkpoint back and check every byte');
  verification.command('create').description('verify a checkpoint and wait').requiredOption('--checkpoint <id>').option('--parameters <json>')
    .option('--no-wait', 'return at once with the verification `in_progress` (temporal engine)')
    .action((opts: { checkpoint: string; parameters?: string; wait: boolean }) => run((cli) => cli.withApp(async (app, req) => {
      requireDurableForNoWait(app, opts.wait);
      const parameters = parseJsonOption('--parameters', opts.parameters);
      await follow(cli, app, 'verification', await app.manager.verify(req, { checkpoint_id: opts.checkpoint, ...(parameters ? { parameters } : {}) }), opts.wait);
    }))());
  verification.command('list').description('list verifications').option('--status <s>').option('--checkpoint <id>').option('--limit <n>').option('--marker <id>')
    .action((opts: Record<string, string | undefined>) => run((cli) => cli.withApp(async (app, req) => {
      cli.out.result(await app.manager.listVerifications(req, listQuery(opts)), OPERATION_COLUMNS);
    }))());
  verification.command('show <id>').description('show a verification').action((id: string) => run((cli) => cli.withApp(async (app, req) => {
    cli.out.result(await app.manager.showVerification(req, id));
  }))());
}

/** The local engine runs an operation inside the CLI process: leaving early would abandon it. */
function requireDurableForNoWait(app: BulwarkApp, wait: boolean): void {
  if (!wait && !app.engine.durable) {
    throw bwkError('BWK_ERR_INVALID_INPUT', { reason: `--no-wait needs the temporal engine: the ${app.engine.name} engine runs the operation inside this process, which must stay until it ends` });
  }
}

function listQuery(opts: Record<string, string | undefined>) {
  const limit = parseLimit(opts.limit);
  return {
    ...(opts.status ? { status: opts.status as OperationStatus } : {}), ...(opts.checkpoint ? { checkpointId: opts.checkpoint } : {}),
    ...(limit ? { limit } : {}), ...(opts.marker ? { marker: opts.marker } : {}),
  };
}
