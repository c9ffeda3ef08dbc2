import type { Command } from 'commander';
import type { CheckpointRecord, CheckpointStatus } from '../../checkpoints/model.js';
import { bwkError, isBulwarkError } from '../../core/errors.js';
import { newId } from '../../common/ids.js';
import { rideOut } from '../api-retry.js';
import type { OperationView, ResettableState } from '../../protection-manager/service.js';
import type { OperationStatus } from '../../store/records.js';
import { addPageOptions, addShowCommand, allPages, listAction, serviceAction } from '../actions.js';
import type { PageOptions } from '../actions.js';
import type { CliContext, CliSession, Run } from '../context.js';
import { parseDateOption, parseJsonOption, resolveProviderId } from '../context.js';
import { showProgress } from '../progress.js';
import { isFinalStatus } from '../../protection-manager/final-status.js';
import { registerCheckpointTransferCommands } from './transfer.js';

const FAILED = new Set(['error', 'fail']);
const CHECKPOINT_COLUMNS = ['id', 'status', 'protection_plan', 'provider_id', 'created_at'];
const OPERATION_COLUMNS = ['id', 'checkpoint_id', 'status', 'created_at'];

/** `BWK_ERR_X: message` (how records keep reasons) back into a code and a message. */
function splitReason(reason: string | undefined): { code: string; message: string } {
  const m = /^(BWK_ERR_[A-Z_]+): ([\s\S]*)$/.exec(reason ?? '');
  return m ? { code: m[1]!, message: m[2]! } : { code: 'BWK_ERR_OPERATION_FAILED', message: reason ?? 'see the record' };
}

function reasonOf(view: OperationView): string | undefined {
  const record = view.record as { extra_info?: { reason?: string }; resources_reason?: Record<string, string> };
  return record.extra_info?.reason ?? Object.values(record.resources_reason ?? {})[0];
}

/**
 * Polls an operation until its record reaches a final status (embedded: fast; remote: every 500 ms,
 * waiting out an API that stops answering for --api-retry: the operation goes on without it).
 */
async function untilFinal(cli: CliContext, s: CliSession, id: string): Promise<OperationView> {
  const show = () => s.service.showOperation(s.ctx, id);
  for (;;) {
    const view = s.app ? await show() : await rideOut(cli.apiRetry, `waiting for operation ${id}`, show);
    if (isFinalStatus(view.status)) return view;
    await new Promise((r) => setTimeout(r, s.app ? 100 : 500));
  }
}

/**
 * Starts an operation. Remote, the CLI chooses the operation id itself, so a request whose answer
 * was lost (the API restarted) can be sent again safely: the server finds the operation it already
 * started. If the API stays away past --api-retry, the id is printed so the operator can look it up.
 */
async function start<T extends { id: string }>(cli: CliContext, s: CliSession, begin: (operationId?: string) => Promise<T>): Promise<T> {
  if (s.app) return begin();
  const id = newId();
  try {
    return await rideOut(cli.apiRetry, `starting operation ${id}`, () => begin(id));
  } catch (err) {
    if (isBulwarkError(err, 'BWK_ERR_SERVICE_UNAVAILABLE'))
      cli.out.note(`the request may have reached the server before it went away: look for operation ${id} (bulwark operation show ${id})`);
    throw err;
  }
}

/**
 * Prints a started operation's record: at once with --no-wait, else when it ends (with a progress
 * bar on a terminal: fed by the app's events when embedded, by the server's event stream with --url).
 * A failed end also goes to stderr as {code, message}, exit 1.
 * Ctrl-C cancels the operation (it ends error/fail, reason cancelled) rather than abandoning it.
 */
async function follow(cli: CliContext, s: CliSession, kind: string, record: { id: string }, wait: boolean): Promise<void> {
  if (!wait) {
    cli.out.result(record);
    cli.out.note(`follow it with: bulwark operation wait ${record.id}`);
    return;
  }
  const remote = s.followEvents;
  const stop = s.app
    ? showProgress(s.app.events, record.id)
    : remote
      ? showProgress({ publish: () => undefined, subscribe: (listener) => remote(record.id, listener) }, record.id)
      : () => undefined;
  let cancelling = false;
  const onSigint = () => {
    cancelling = true;
    cli.out.note('\ncancelling...');
    void s.service.cancelOperation(s.ctx, record.id).catch(() => undefined);
  };
  process.on('SIGINT', onSigint);
  try {
    const view = await untilFinal(cli, s, record.id);
    // The bar ends before the result is printed: an event arriving later would draw into it.
    stop();
    cli.out.result(view.record);
    noteNotCaptured(cli, view.record);
    // The cancel raced the last task and lost: say so, or the operator believes nothing was kept.
    if (cancelling && !FAILED.has(view.status))
      cli.out.note(`${kind} ${record.id} completed before the cancel took effect: it ended ${view.status}`);
    if (FAILED.has(view.status)) {
      cli.exitCode = 1;
      const cause = splitReason(reasonOf(view));
      cli.out.error(Object.assign(new Error(`${kind} ${record.id} ended ${view.status}: ${cause.message}`), { code: cause.code }));
    }
  } finally {
    process.off('SIGINT', onSigint);
    stop();
  }
}

/** A protect that stored everything but some entries says so, with where to find them. */
function noteNotCaptured(cli: CliContext, record: unknown): void {
  const r = record as { id?: string; extra_info?: { resources_not_captured?: Record<string, number> } };
  for (const [ref, count] of Object.entries(r.extra_info?.resources_not_captured ?? {})) {
    cli.out.note(`${ref}: ${count} entr${count === 1 ? 'y' : 'ies'} not captured (listed by: bulwark checkpoint show ${r.id})`);
  }
}

/** The local engine runs an operation inside the CLI process: leaving early would abandon it. */
function requireDurableForNoWait(s: CliSession, wait: boolean): void {
  if (!wait && !s.durable) {
    throw bwkError('BWK_ERR_INVALID_INPUT', {
      reason:
        '--no-wait needs an operation that outlives this command: the temporal engine, or a server (--url); the local engine runs it ' +
        'inside this process',
    });
  }
}

/** A restore and a verification are driven alike: only their words and the service methods serving them differ. */
const READINGS = [
  {
    noun: 'restore',
    description: 'restores of checkpoints',
    verb: 'restore',
    parameters: 'restore parameters, e.g. {"fs.directory": {"target_path": "/srv/restored"}}',
    methods: { start: 'startRestore', list: 'listRestores', show: 'showRestore' },
  },
  {
    noun: 'verification',
    description: 'verifications: read a checkpoint back and check every byte',
    verb: 'verify',
    parameters: 'verification parameters',
    methods: { start: 'startVerify', list: 'listVerifications', show: 'showVerification' },
  },
] as const;

export function registerOperationCommands(program: Command, run: Run): void {
  registerCheckpointCommands(program, run);
  for (const reading of READINGS) registerReadingCommands(program, run, reading);

  const operation = program.command('operation').description('follow or stop running operations');
  addShowCommand(operation, run, 'an operation (checkpoint, restore or verification id) and its state', (s, id) =>
    s.service.showOperation(s.ctx, id),
  );
  operation
    .command('wait <id>')
    .description('wait until an operation ends; exits 1 if it ended error/fail')
    .action(
      serviceAction(run, async (cli, s, id: string) => {
        const view = await untilFinal(cli, s, id);
        cli.out.result(view);
        if (FAILED.has(view.status)) cli.exitCode = 1;
      }),
    );
  operation
    .command('cancel <id>')
    .description('cancel a running operation: it ends error/fail with reason cancelled')
    .action(
      serviceAction(run, async (cli, s, id: string) => {
        if (!s.durable)
          throw bwkError('BWK_ERR_INVALID_INPUT', {
            reason: 'with the local engine an operation runs inside the command that started it: interrupt that command (Ctrl-C)',
          });
        await s.service.cancelOperation(s.ctx, id);
        cli.out.result({ id, cancel_requested: true });
      }),
    );
}

function registerCheckpointCommands(program: Command, run: Run): void {
  const checkpoint = program.command('checkpoint').description("checkpoints: protected copies of a plan's resources");
  checkpoint
    .command('create')
    .description('protect a plan now and wait for the checkpoint')
    .requiredOption('--plan <id>', 'plan id')
    .option('--no-wait', 'return at once with the checkpoint `protecting` (temporal engine or --url)')
    .action(
      serviceAction(run, async (cli, s, opts: { plan: string; wait: boolean }) => {
        requireDurableForNoWait(s, opts.wait);
        const record = await start(cli, s, (operationId) =>
          s.service.startProtect(s.ctx, { plan_id: opts.plan, ...(operationId ? { operation_id: operationId } : {}) }),
        );
        await follow(cli, s, 'checkpoint', record, opts.wait);
      }),
    );
  const list = checkpoint
    .command('list')
    .description('list checkpoints, newest first')
    .option('--plan <id>')
    .option('--provider <id>')
    .option('--status <status>')
    .option('--since <time>')
    .option('--until <time>');
  addPageOptions(list, 'id of the last checkpoint of the previous page')
    .option('--sort <dir>', 'desc (default) or asc')
    .action(
      listAction(
        run,
        {
          columns: CHECKPOINT_COLUMNS,
          asRows: (list: CheckpointRecord[]) => list.map((c) => ({ ...c, protection_plan: c.protection_plan.name })),
        },
        async (s, opts: Record<string, string | undefined>) => {
          const since = parseDateOption('--since', opts.since);
          const until = parseDateOption('--until', opts.until);
          if (opts.sort !== undefined && opts.sort !== 'asc' && opts.sort !== 'desc')
            throw bwkError('BWK_ERR_INVALID_INPUT', { reason: `--sort must be asc or desc, not "${opts.sort}"` });
          const query = {
            ...(opts.plan ? { planId: opts.plan } : {}),
            ...(opts.provider ? { providerId: await resolveProviderId(s, opts.provider) } : {}),
            ...(opts.status ? { status: opts.status as CheckpointStatus } : {}),
            ...(since ? { since } : {}),
            ...(until ? { until } : {}),
            ...(opts.sort ? { sort: opts.sort as 'asc' | 'desc' } : {}),
          };
          return allPages(opts, (page) => s.service.listCheckpoints(s.ctx, { ...query, ...page }));
        },
      ),
    );
  addShowCommand(checkpoint, run, 'show a checkpoint', (s, id) => s.service.showCheckpoint(s.ctx, id));
  checkpoint
    .command('delete <id>')
    .description('delete a checkpoint and its data')
    .action(
      serviceAction(run, async (cli, s, id: string) => {
        await s.service.deleteCheckpoint(s.ctx, id);
        cli.out.result({ id, status: 'deleted' });
      }),
    );
  checkpoint
    .command('reset-state <id>')
    .description('set a stuck checkpoint to available or error (admin; refused while an operation holds it)')
    .option('--state <state>', 'available or error', 'error')
    .action(
      serviceAction(run, async (cli, s, id: string, opts: { state: string }) => {
        cli.out.result(await s.service.resetCheckpointState(s.ctx, id, opts.state as ResettableState));
      }),
    );
  registerCheckpointTransferCommands(program, checkpoint, run);
}

function registerReadingCommands(program: Command, run: Run, reading: (typeof READINGS)[number]): void {
  const { noun } = reading;
  const group = program.command(noun).description(reading.description);
  group
    .command('create')
    .description(`${reading.verb} a checkpoint and wait`)
    .requiredOption('--checkpoint <id>')
    .option('--parameters <json>', reading.parameters)
    .option('--no-wait', `return at once with the ${noun} \`in_progress\` (temporal engine or --url)`)
    .action(
      serviceAction(run, async (cli, s, opts: { checkpoint: string; parameters?: string; wait: boolean }) => {
        requireDurableForNoWait(s, opts.wait);
        const parameters = parseJsonOption('--parameters', opts.parameters);
        const record = await start(cli, s, (operationId) =>
          s.service[reading.methods.start](s.ctx, {
            checkpoint_id: opts.checkpoint,
            ...(parameters ? { parameters } : {}),
            ...(operationId ? { operation_id: operationId } : {}),
          }),
        );
        await follow(cli, s, noun, record, opts.wait);
      }),
    );
  const list = group.command('list').description(`list ${noun}s`).option('--status <s>').option('--checkpoint <id>');
  addPageOptions(list).action(
    listAction(run, { columns: OPERATION_COLUMNS }, (s, opts: PageOptions & { status?: string; checkpoint?: string }) =>
      allPages(opts, (page) =>
        s.service[reading.methods.list](s.ctx, {
          ...(opts.status ? { status: opts.status as OperationStatus } : {}),
          ...(opts.checkpoint ? { checkpointId: opts.checkpoint } : {}),
          ...page,
        }),
      ),
    ),
  );
  addShowCommand(group, run, `show a ${noun}`, (s, id) => s.service[reading.methods.show](s.ctx, id));
}
