/**
 * `trigger`, `scheduled-operation` and `operation-log` commands: when Bulwark protects or verifies
 * on its own (docs/scheduling.md). Embedded they work on the home's catalog; with --url on the
 * server's. An operation engine (`bulwark serve`, `bulwark operation-engine`) does the firing: these
 * commands only record what it should do, and read what it did.
 */
import type { Command } from 'commander';
import { bwkError } from '../../core/errors.js';
import { parseYamlSource, YamlSyntaxError } from '../../common/yaml-source.js';
import type { OperationLogQuery, ScheduledOperationListQuery, TriggerListQuery } from '../../operation-engine/service.js';
import type { OperationLogRecord, OperationLogStatus, OverlapPolicy, TriggerRecord, TriggerType } from '../../store/scheduling-records.js';
import { addPageOptions, addShowCommand, allPages, listAction, serviceAction } from '../actions.js';
import type { PageOptions } from '../actions.js';
import type { CliSession, Run } from '../context.js';
import { collect, localAdmin, parseDateOption, readTextFile, resolveProviderId } from '../context.js';

const TRIGGER_COLUMNS = ['id', 'name', 'type', 'schedule', 'created_at'];
const SCHEDULED_COLUMNS = ['id', 'name', 'operation_type', 'status', 'trigger_id', 'plan_id', 'next_due_at'];
const LOG_COLUMNS = ['id', 'operation_type', 'status', 'scheduled_operation_id', 'due_at', 'started_at', 'ended_at'];

const LOG_STATUSES: readonly OperationLogStatus[] = ['queued', 'running', 'success', 'error', 'dropped_out_of_window', 'skipped_overlap'];
/** The scheduled operation types this CLI knows take a plan (the service checks the type itself). */
const PLAN_TYPES = ['protect', 'retention_protect', 'verify', 'copy'];
/** The types whose definition takes retention rules (copy: over the copies it made). */
const RETENTION_TYPES = ['retention_protect', 'copy'];

const invalid = (reason: string): Error => bwkError('BWK_ERR_INVALID_INPUT', { reason });

function oneOf<T extends string>(flag: string, value: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(value))
    throw invalid(`${flag} must be ${choices.length === 2 ? choices.join(' or ') : `one of ${choices.join(', ')}`}, not "${value}"`);
  return value as T;
}

function wholeNumber(flag: string, text: string, min: number): number {
  const n = Number(text);
  if (!/^\d{1,12}$/.test(text) || n < min) throw invalid(`${flag} must be a whole number of at least ${min}, not "${text}"`);
  return n;
}

/** `--sort asc|desc` (newest first when absent). */
function sortOf(text: string | undefined): { sort?: 'asc' | 'desc' } {
  return text === undefined ? {} : { sort: oneOf('--sort', text, ['asc', 'desc'] as const) };
}

/** Drops undefined values, so a record or query carries only what was given. */
const given = <T extends Record<string, unknown>>(o: T): Partial<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

// ---------------------------------------------------------------------------------------------- triggers

/** The flags that set a trigger's properties: option key, property name, flag. */
const TIME_FLAGS = [
  ['format', 'format', '--format'],
  ['pattern', 'pattern', '--pattern'],
  ['timezone', 'timezone', '--timezone'],
  ['startTime', 'start_time', '--start-time'],
  ['endTime', 'end_time', '--end-time'],
  ['window', 'window', '--window'],
] as const;
const TIME_FLAG_NAMES = TIME_FLAGS.map(([, , flag]) => flag).join(', ');

interface PropertyOptions {
  format?: string;
  pattern?: string;
  timezone?: string;
  startTime?: string;
  endTime?: string;
  window?: string;
  event?: string;
  propertiesFile?: string;
}

function addPropertyOptions(command: Command): Command {
  return command
    .option('--format <format>', 'time: crontab (default) or calendar')
    .option('--pattern <pattern>', "time: five cron fields ('0 3 * * *'), or a VEVENT with an RRULE for --format calendar")
    .option('--timezone <zone>', 'time: the IANA zone the pattern is read in (default UTC), e.g. Europe/Berlin')
    .option('--start-time <time>', 'time: no fire before this ISO 8601 time (zone-less is UTC)')
    .option('--end-time <time>', 'time: no fire after this ISO 8601 time')
    .option('--window <seconds>', "time: how late a fire may still start after its due time (default: operation_engine's minimum)")
    .option('--event <event>', 'event: what fires it: checkpoint.available')
    .option('--properties-file <file>', 'the properties as a JSON or YAML object (the flags above override its fields)');
}

/** The properties the flags set, checked against the trigger's type. */
function propertiesFromFlags(type: TriggerType, opts: PropertyOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, property, flag] of TIME_FLAGS) {
    const value = opts[key];
    if (value === undefined) continue;
    if (type !== 'time') throw invalid(`${flag} is for a time trigger; an event trigger takes only --event`);
    if (key === 'format') out.format = oneOf('--format', value, ['crontab', 'calendar'] as const);
    else if (key === 'window') out.window = wholeNumber('--window', value, 1);
    else out[property] = value;
  }
  if (opts.event !== undefined) {
    if (type !== 'event') throw invalid(`--event is for an event trigger; a time trigger takes ${TIME_FLAG_NAMES}`);
    out.event = opts.event;
  }
  return out;
}

const anyPropertyFlag = (opts: PropertyOptions): boolean => opts.event !== undefined || TIME_FLAGS.some(([key]) => opts[key] !== undefined);

/** `--properties-file`: a JSON or YAML object of properties. */
function readPropertiesFile(path: string): Record<string, unknown> {
  const text = readTextFile(path);
  let value: unknown;
  try {
    value = parseYamlSource(text, path).value;
  } catch (err) {
    if (err instanceof YamlSyntaxError) throw invalid(`${path}:${err.line}: ${err.reason}`);
    throw err;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw invalid(`${path} must hold an object of trigger properties, e.g. {"pattern": "0 3 * * *", "timezone": "UTC"}`);
  return value as Record<string, unknown>;
}

/** The schedule column: `crontab 0 3 * * * UTC`, or the event's name. */
function scheduleOf(t: TriggerRecord): string {
  const p = t.properties;
  if (t.type === 'event') return String(p.event ?? '');
  return [p.format ?? 'crontab', p.pattern, p.timezone ?? 'UTC'].filter((v) => v !== undefined).join(' ');
}

function registerTriggerCommands(program: Command, run: Run): void {
  const trigger = program.command('trigger').description('triggers: when scheduled operations fire (a time pattern, or an event)');

  addPropertyOptions(
    trigger
      .command('create')
      .description('create a trigger: a time trigger needs --pattern, an event trigger --event')
      .requiredOption('--name <name>', 'trigger name')
      .requiredOption('--type <type>', 'time or event'),
  ).action(
    serviceAction(run, async (cli, s, opts: PropertyOptions & { name: string; type: string }) => {
      const type = oneOf('--type', opts.type, ['time', 'event'] as const);
      const properties = { ...(opts.propertiesFile ? readPropertiesFile(opts.propertiesFile) : {}), ...propertiesFromFlags(type, opts) };
      if (type === 'time' && properties.pattern === undefined)
        throw invalid("a time trigger needs --pattern (e.g. --pattern '0 3 * * *'), or a pattern in --properties-file");
      if (type === 'event' && properties.event === undefined) throw invalid('an event trigger needs --event checkpoint.available');
      cli.out.result(await s.scheduling.createTrigger(s.ctx, { name: opts.name, type, properties }));
    }),
  );

  const list = trigger
    .command('list')
    .description('list triggers, newest first')
    .option('--name <name>')
    .option('--type <type>', 'time or event');
  addPageOptions(list, 'id of the last trigger of the previous page')
    .option('--sort <dir>', 'desc (default) or asc')
    .action(
      listAction(
        run,
        { columns: TRIGGER_COLUMNS, asRows: (records: TriggerRecord[]) => records.map((t) => ({ ...t, schedule: scheduleOf(t) })) },
        (s, opts: PageOptions & { name?: string; type?: string; sort?: string }) => {
          const query: TriggerListQuery = {
            ...given({
              name: opts.name,
              type: opts.type === undefined ? undefined : oneOf('--type', opts.type, ['time', 'event'] as const),
            }),
            ...sortOf(opts.sort),
          };
          return allPages(opts, (page) => s.scheduling.listTriggers(s.ctx, { ...query, ...page }));
        },
      ),
    );

  addShowCommand(trigger, run, 'show a trigger and its properties', (s, id) => s.scheduling.showTrigger(s.ctx, id));

  addPropertyOptions(
    trigger
      .command('update <id>')
      .description(
        "change a trigger's name or properties. The service replaces the properties as a whole; this command sends the " +
          "trigger's current properties with the flags applied, so --pattern alone changes only the pattern " +
          '(--properties-file: start from the file instead; --unset: drop a property). Its scheduled operations fire ' +
          'from the new next due time.',
      )
      .option('--name <name>', 'new name')
      .option('--unset <property>', 'drop a property (start_time, end_time, timezone, window), repeatable', collect, []),
  ).action(
    serviceAction(run, async (cli, s, id: string, opts: PropertyOptions & { name?: string; unset: string[] }) => {
      const changesProperties = anyPropertyFlag(opts) || opts.propertiesFile !== undefined || opts.unset.length > 0;
      if (opts.name === undefined && !changesProperties)
        throw invalid(`nothing to change: give --name, a property flag (${TIME_FLAG_NAMES}, --event), --unset or --properties-file`);
      let properties: Record<string, unknown> | undefined;
      if (changesProperties) {
        const current = await s.scheduling.showTrigger(s.ctx, id);
        const flags = propertiesFromFlags(current.type, opts);
        properties = { ...(opts.propertiesFile ? readPropertiesFile(opts.propertiesFile) : current.properties), ...flags };
        for (const name of opts.unset) {
          const key = name.replace(/-/g, '_');
          if (key in flags) throw invalid(`--unset ${name} and a flag setting ${key}: give one of them`);
          if (!(key in properties))
            throw invalid(`--unset ${name}: the trigger has no such property (it has ${Object.keys(properties).join(', ') || 'none'})`);
          delete properties[key];
        }
      }
      cli.out.result(await s.scheduling.updateTrigger(s.ctx, id, given({ name: opts.name, properties })));
    }),
  );

  trigger
    .command('delete <id>')
    .description('delete a trigger (refused while a scheduled operation uses it: delete those first)')
    .action(
      serviceAction(run, async (cli, s, id: string) => {
        await s.scheduling.deleteTrigger(s.ctx, id);
        cli.out.result({ id, deleted: true });
      }),
    );
}

// ------------------------------------------------------------------------------- scheduled operations

interface ScheduledOperationOptions {
  name: string;
  type: string;
  trigger: string;
  plan?: string;
  provider?: string;
  maxBackups?: string;
  retentionDays?: string;
  keep?: string;
  readDataPercent?: string;
  toProvider?: string;
  overlap?: string;
  description?: string;
}

/** `--keep last=3,daily=7,weekly=4`: grandfather-father-son counts (the service checks the period names). */
function parseKeep(text: string): Record<string, number> {
  const keep: Record<string, number> = {};
  for (const item of text.split(',')) {
    const m = /^\s*([a-z]+)\s*=\s*(\d{1,12})\s*$/.exec(item);
    if (!m) throw invalid(`--keep must be PERIOD=N pairs joined by commas, e.g. last=3,daily=7,weekly=4, not "${text}"`);
    keep[m[1]!] = Number(m[2]);
  }
  return keep;
}

/** The operation_definition the flags describe. */
function definitionOf(opts: ScheduledOperationOptions, providerId: string | undefined, toProviderId?: string): Record<string, unknown> {
  const retention = [
    ['--max-backups', opts.maxBackups],
    ['--retention-days', opts.retentionDays],
    ['--keep', opts.keep],
  ].filter(([, v]) => v !== undefined);
  if (retention.length > 0 && !RETENTION_TYPES.includes(opts.type))
    throw invalid(`${retention.map(([flag]) => flag).join(', ')}: only for --type retention_protect or copy`);
  if ((opts.toProvider !== undefined) !== (opts.type === 'copy'))
    throw invalid('--to-provider <id or name>: needed by --type copy, and only by it');
  if (opts.plan === undefined && PLAN_TYPES.includes(opts.type)) throw invalid(`--type ${opts.type} needs --plan <plan id>`);
  if (opts.readDataPercent !== undefined && opts.type !== 'bank_check') throw invalid('--read-data-percent: only for --type bank_check');
  if (opts.type.startsWith('bank_') && opts.provider === undefined) throw invalid(`--type ${opts.type} needs --provider <id or name>`);
  return given({
    plan_id: opts.plan,
    provider_id: providerId,
    to_provider_id: toProviderId ?? opts.toProvider,
    max_backups: opts.maxBackups === undefined ? undefined : wholeNumber('--max-backups', opts.maxBackups, 1),
    retention_duration: opts.retentionDays === undefined ? undefined : wholeNumber('--retention-days', opts.retentionDays, 1),
    keep: opts.keep === undefined ? undefined : parseKeep(opts.keep),
    read_data_percent: opts.readDataPercent === undefined ? undefined : wholeNumber('--read-data-percent', opts.readDataPercent, 0),
  });
}

/** suspend, resume: print the scheduled operation as it is after. */
function addStateCommand(group: Command, run: Run, verb: 'suspend' | 'resume', description: string): void {
  group
    .command(`${verb} <id>`)
    .description(description)
    .action(
      serviceAction(run, async (cli, s, id: string) =>
        cli.out.result(
          verb === 'suspend'
            ? await s.scheduling.suspendScheduledOperation(localAdmin(s).ctx, id)
            : await s.scheduling.resumeScheduledOperation(localAdmin(s).ctx, id),
        ),
      ),
    );
}

function registerScheduledOperationCommands(program: Command, run: Run): void {
  const group = program
    .command('scheduled-operation')
    .description('scheduled operations: protect, protect with retention, or verify a plan whenever a trigger fires');

  group
    .command('create')
    .description("create a scheduled operation (enabled: it fires from its trigger's next due time)")
    .requiredOption('--name <name>', 'name')
    .requiredOption('--type <type>', 'protect | retention_protect | verify | copy | bank_check | bank_gc (the last two: admins)')
    .requiredOption('--trigger <id>', 'trigger id (see: bulwark trigger list); verify also takes an event trigger')
    .option('--plan <id>', 'the plan to protect, verify or copy')
    .option('--provider <id>', "provider UUID or name (default: the plan's)")
    .option('--max-backups <n>', 'retention_protect, copy: keep the newest N available checkpoints')
    .option('--retention-days <n>', 'retention_protect, copy: delete checkpoints made more than N days ago')
    .option('--keep <rules>', 'retention_protect, copy, instead of the two above: e.g. last=3,daily=7,weekly=4,monthly=12,yearly=2')
    .option('--read-data-percent <n>', 'bank_check: read and hash this share of the packs (0, the default: structure only)')
    .option('--to-provider <id>', 'copy: the provider (id or name) whose bank receives the copies')
    .option('--overlap <policy>', "skip (default) or queue: what a fire does while the plan's previous run is going")
    .option('--description <text>', 'description')
    .action(
      serviceAction(run, async (cli, s, opts: ScheduledOperationOptions) => {
        const overlap = opts.overlap === undefined ? undefined : oneOf<OverlapPolicy>('--overlap', opts.overlap, ['skip', 'queue']);
        definitionOf(opts, undefined); // flag errors before any call to the service
        const providerId = opts.provider === undefined ? undefined : await resolveProviderId(s, opts.provider);
        const toProviderId = opts.toProvider === undefined ? undefined : await resolveProviderId(s, opts.toProvider);
        cli.out.result(
          await s.scheduling.createScheduledOperation(opts.type.startsWith('bank_') ? localAdmin(s).ctx : s.ctx, {
            name: opts.name,
            ...given({ description: opts.description, overlap }),
            operation_type: opts.type,
            trigger_id: opts.trigger,
            operation_definition: definitionOf(opts, providerId, toProviderId),
          }),
        );
      }),
    );

  const list = group
    .command('list')
    .description('list scheduled operations, newest first')
    .option('--name <name>')
    .option('--type <type>', 'operation type: protect, retention_protect, verify, bank_check, bank_gc')
    .option('--trigger <id>')
    .option('--plan <id>');
  addPageOptions(list, 'id of the last scheduled operation of the previous page')
    .option('--sort <dir>', 'desc (default) or asc')
    .action(
      listAction(
        run,
        { columns: SCHEDULED_COLUMNS },
        (s, opts: PageOptions & { name?: string; type?: string; trigger?: string; plan?: string; sort?: string }) => {
          const query: ScheduledOperationListQuery = {
            ...given({ name: opts.name, operation_type: opts.type, trigger_id: opts.trigger, plan_id: opts.plan }),
            ...sortOf(opts.sort),
          };
          return allPages(opts, (page) => s.scheduling.listScheduledOperations(s.ctx, { ...query, ...page }));
        },
      ),
    );

  addShowCommand(group, run, 'show a scheduled operation (enabled, next_due_at, its definition)', (s, id) =>
    s.scheduling.showScheduledOperation(s.ctx, id),
  );
  addStateCommand(group, run, 'suspend', 'stop firing it (a run under way goes on)');
  addStateCommand(group, run, 'resume', "fire again from its trigger's next due time (due times while suspended are not run)");

  group
    .command('run <id>')
    .description("run it now, outside its schedule (its overlap policy applies); prints the run's operation log")
    .action(
      serviceAction(run, async (cli, s, id: string) => {
        const log = await s.scheduling.runScheduledOperation(localAdmin(s).ctx, id);
        cli.out.result(log);
        cli.out.note(runNote(s, log));
      }),
    );

  group
    .command('delete <id>')
    .description('delete a scheduled operation (its operation logs and checkpoints stay)')
    .action(
      serviceAction(run, async (cli, s, id: string) => {
        await s.scheduling.deleteScheduledOperation(localAdmin(s).ctx, id);
        cli.out.result({ id, deleted: true });
      }),
    );
}

/** Who starts a run: never this command. */
function runNote(s: CliSession, log: OperationLogRecord): string {
  if (log.status !== 'running' && log.status !== 'queued') return `not run: ${log.error_info ?? log.status}`;
  const engine = s.app
    ? "an operation engine on this home starts it (bulwark serve, or bulwark operation-engine): this command doesn't"
    : "the server's operation engine starts it";
  const waits = log.status === 'queued' ? "queued behind the plan's previous run; " : '';
  return `${waits}${engine}; follow it with: bulwark operation-log show ${log.id}`;
}

// ------------------------------------------------------------------------------------- operation logs

function registerOperationLogCommands(program: Command, run: Run): void {
  const group = program.command('operation-log').description('operation logs: one row per run, scheduled or not, and how it ended');
  const list = group
    .command('list')
    .description('list operation logs, newest first')
    .option('--status <status>', LOG_STATUSES.join(' | '))
    .option('--scheduled-operation <id>')
    .option('--plan <id>')
    .option('--since <time>', 'made at or after this ISO 8601 time')
    .option('--until <time>', 'made before this ISO 8601 time');
  addPageOptions(list, 'id of the last operation log of the previous page')
    .option('--sort <dir>', 'desc (default) or asc')
    .action(
      listAction(
        run,
        { columns: LOG_COLUMNS },
        (
          s,
          opts: PageOptions & {
            status?: string;
            scheduledOperation?: string;
            plan?: string;
            since?: string;
            until?: string;
            sort?: string;
          },
        ) => {
          const query: OperationLogQuery = {
            ...given({
              status: opts.status === undefined ? undefined : oneOf('--status', opts.status, LOG_STATUSES),
              scheduled_operation_id: opts.scheduledOperation,
              plan_id: opts.plan,
              since: parseDateOption('--since', opts.since)?.toISOString(),
              until: parseDateOption('--until', opts.until)?.toISOString(),
            }),
            ...sortOf(opts.sort),
          };
          return allPages(opts, (page) => s.scheduling.listOperationLogs(s.ctx, { ...query, ...page }));
        },
      ),
    );
  addShowCommand(group, run, 'show an operation log', (s, id) => s.scheduling.showOperationLog(s.ctx, id));
}

/** `trigger`, `scheduled-operation` and `operation-log`. */
export function registerSchedulingCommands(program: Command, run: Run): void {
  registerTriggerCommands(program, run);
  registerScheduledOperationCommands(program, run);
  registerOperationLogCommands(program, run);
}
