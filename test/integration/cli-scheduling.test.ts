import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OperationLogRecord, TriggerRecord } from '../../src/store/scheduling-records.js';
import type { ScheduledOperationView } from '../../src/operation-engine/service.js';
import { openApiApp, type ApiApp } from '../helpers/api-app.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { tempDir } from '../helpers/paths.js';
import { allowAll } from '../helpers/scopes.js';

const NOOP = 'b766f37c-d011-4026-8228-28730d734a3f';
const UNKNOWN = '00000000-0000-4000-8000-000000000000';

/** The CLI of one mode: embedded on a home, or --url against a server. */
type Cli = (args: string[], options?: { json?: boolean }) => Promise<CliResult>;

/** Runs and requires exit 0 with one JSON document on stdout. */
async function ok<T>(cli: Cli, args: string[]): Promise<T> {
  const r = await cli(args);
  expect(r.code, `bulwark ${args.join(' ')}: ${r.stderr}`).to.equal(0);
  return r.json<T>();
}

/** Runs and requires exit 1, nothing on stdout and `code` on stderr (as `{code, message}`). */
async function refused(cli: Cli, args: string[], code: string, message?: RegExp): Promise<{ code: string; message: string }> {
  const r = await cli(args);
  expect(r.code, `bulwark ${args.join(' ')}: ${r.stdout}${r.stderr}`).to.equal(1);
  expect(r.stdout).to.equal('');
  const err = r.error();
  expect(err.code, err.message).to.equal(code);
  if (message) expect(err.message).to.match(message);
  return err;
}

/**
 * What every mode must do, through the CLI alone: a trigger's life, a scheduled operation's, and the
 * log of a run. The run's log stays running: no operation engine runs in a CLI (or in the test's API).
 */
function coreScheduling(cli: () => Cli, project: () => string): void {
  let planId = '';
  let trigger: TriggerRecord;
  let op: ScheduledOperationView;
  let log: OperationLogRecord;

  before(async () => {
    planId = (await ok<{ id: string }>(cli(), ['plan', 'create', '--name', 'sched', '--provider', 'noop', '--resource', 'noop=demo'])).id;
  });

  it('trigger create, list, show: the record as the service returns it', async () => {
    trigger = await ok<TriggerRecord>(cli(), [
      'trigger',
      'create',
      '--name',
      'hourly',
      '--type',
      'time',
      '--pattern',
      '0 * * * *',
      '--timezone',
      'Europe/Berlin',
      '--window',
      '600',
    ]);
    expect(trigger).to.include({ name: 'hourly', type: 'time', project_id: project() });
    expect(trigger.properties).to.deep.equal({ format: 'crontab', pattern: '0 * * * *', timezone: 'Europe/Berlin', window: 600 });
    expect(await ok(cli(), ['trigger', 'show', trigger.id])).to.deep.equal(trigger);
    const listed = await ok<TriggerRecord[]>(cli(), ['trigger', 'list', '--type', 'time']);
    expect(listed).to.deep.equal([trigger]);
    expect(await ok(cli(), ['trigger', 'list', '--name', 'nothing-by-this-name'])).to.deep.equal([]);
  });

  it('trigger update changes one property and keeps the others; --name alone leaves the properties', async () => {
    const updated = await ok<TriggerRecord>(cli(), ['trigger', 'update', trigger.id, '--pattern', '0 3 * * *']);
    expect(updated.properties).to.deep.equal({ format: 'crontab', pattern: '0 3 * * *', timezone: 'Europe/Berlin', window: 600 });
    const renamed = await ok<TriggerRecord>(cli(), ['trigger', 'update', trigger.id, '--name', 'nightly']);
    expect(renamed.name).to.equal('nightly');
    expect(renamed.properties).to.deep.equal(updated.properties);
    trigger = await ok<TriggerRecord>(cli(), ['trigger', 'update', trigger.id, '--unset', 'timezone']);
    expect(trigger.properties).to.deep.equal({ format: 'crontab', pattern: '0 3 * * *', window: 600 });
  });

  it('scheduled-operation create, list, show', async () => {
    op = await ok<ScheduledOperationView>(cli(), [
      'scheduled-operation',
      'create',
      '--name',
      'keep a week',
      '--type',
      'retention_protect',
      '--trigger',
      trigger.id,
      '--plan',
      planId,
      '--keep',
      'last=3,daily=7',
      '--overlap',
      'queue',
      '--description',
      'nightly, a week of dailies',
    ]);
    expect(op).to.include({
      name: 'keep a week',
      operation_type: 'retention_protect',
      trigger_id: trigger.id,
      plan_id: planId,
      provider_id: NOOP,
      status: 'enabled',
      enabled: true,
      overlap: 'queue',
      description: 'nightly, a week of dailies',
    });
    expect(op.operation_definition).to.deep.equal({ plan_id: planId, keep: { last: 3, daily: 7 } });
    expect(op.next_due_at).to.match(/T03:00:00\.000Z$/);
    expect(await ok(cli(), ['scheduled-operation', 'show', op.id])).to.deep.equal(op);
    expect(await ok(cli(), ['scheduled-operation', 'list', '--plan', planId])).to.deep.equal([op]);
    expect(await ok(cli(), ['scheduled-operation', 'list', '--type', 'verify'])).to.deep.equal([]);
  });

  it('scheduled-operation suspend and resume', async () => {
    const suspended = await ok<ScheduledOperationView>(cli(), ['scheduled-operation', 'suspend', op.id]);
    expect(suspended).to.include({ id: op.id, status: 'suspended', enabled: false });
    const resumed = await ok<ScheduledOperationView>(cli(), ['scheduled-operation', 'resume', op.id]);
    expect(resumed).to.include({ id: op.id, status: 'enabled', enabled: true });
    expect(resumed.next_due_at).to.match(/T03:00:00\.000Z$/);
  });

  it("scheduled-operation run prints the run's log; operation-log list and show find it", async () => {
    log = await ok<OperationLogRecord>(cli(), ['scheduled-operation', 'run', op.id]);
    expect(log).to.include({ scheduled_operation_id: op.id, trigger_id: trigger.id, plan_id: planId, operation_type: 'retention_protect' });
    expect(log.status).to.be.oneOf(['queued', 'running']);
    expect(await ok(cli(), ['operation-log', 'show', log.id])).to.deep.equal(log);
    const listed = await ok<OperationLogRecord[]>(cli(), ['operation-log', 'list', '--scheduled-operation', op.id]);
    expect(listed).to.deep.equal([log]);
    expect(await ok(cli(), ['operation-log', 'list', '--status', log.status, '--plan', planId, '--since', log.created_at])).to.deep.equal([
      log,
    ]);
    expect(await ok(cli(), ['operation-log', 'list', '--scheduled-operation', op.id, '--until', log.created_at])).to.deep.equal([]);
  });

  it('refuses a bad pattern (BWK_ERR_TRIGGER_INVALID) and unknown ids (not found)', async () => {
    await refused(
      cli(),
      ['trigger', 'create', '--name', 'bad', '--type', 'time', '--pattern', '61 * * * *'],
      'BWK_ERR_TRIGGER_INVALID',
      /61/,
    );
    await refused(cli(), ['trigger', 'show', UNKNOWN], 'BWK_ERR_TRIGGER_NOT_FOUND');
    await refused(cli(), ['scheduled-operation', 'run', UNKNOWN], 'BWK_ERR_SCHEDULED_OPERATION_NOT_FOUND');
    await refused(cli(), ['operation-log', 'show', UNKNOWN], 'BWK_ERR_OPERATION_LOG_NOT_FOUND');
  });

  it('trigger delete is refused while in use; scheduled-operation delete, then trigger delete', async () => {
    await refused(cli(), ['trigger', 'delete', trigger.id], 'BWK_ERR_TRIGGER_IN_USE', new RegExp(op.id));
    expect(await ok(cli(), ['scheduled-operation', 'delete', op.id])).to.deep.equal({ id: op.id, deleted: true });
    await refused(cli(), ['scheduled-operation', 'show', op.id], 'BWK_ERR_SCHEDULED_OPERATION_NOT_FOUND');
    expect(await ok(cli(), ['trigger', 'delete', trigger.id])).to.deep.equal({ id: trigger.id, deleted: true });
    await refused(cli(), ['trigger', 'show', trigger.id], 'BWK_ERR_TRIGGER_NOT_FOUND');
    // The log of the run outlives its scheduled operation.
    expect(await ok(cli(), ['operation-log', 'show', log.id])).to.deep.equal(log);
  });
}

describe('CLI: trigger, scheduled-operation and operation-log commands', function () {
  this.timeout(180_000);

  describe('embedded', () => {
    const home = tempDir('cli-sched');
    const cli: Cli = (args, options) => runCli(home.path, args, options);
    after(() => home.cleanup());

    coreScheduling(
      () => cli,
      () => 'default',
    );

    it('bad flags: BWK_ERR_INVALID_INPUT saying what to do, and nothing made', async () => {
      const time = ['trigger', 'create', '--name', 't', '--type', 'time'];
      await refused(cli, ['trigger', 'create', '--name', 't', '--type', 'cron'], 'BWK_ERR_INVALID_INPUT', /--type must be time or event/);
      await refused(cli, time, 'BWK_ERR_INVALID_INPUT', /needs --pattern/);
      await refused(
        cli,
        [...time, '--pattern', '0 3 * * *', '--window', 'ten'],
        'BWK_ERR_INVALID_INPUT',
        /--window must be a whole number/,
      );
      await refused(cli, [...time, '--pattern', '0 3 * * *', '--format', 'ical'], 'BWK_ERR_INVALID_INPUT', /crontab or calendar/);
      await refused(cli, [...time, '--pattern', '0 3 * * *', '--event', 'checkpoint.available'], 'BWK_ERR_INVALID_INPUT', /event trigger/);
      await refused(cli, ['trigger', 'create', '--name', 'e', '--type', 'event'], 'BWK_ERR_INVALID_INPUT', /--event checkpoint\.available/);
      await refused(cli, ['trigger', 'list', '--sort', 'up'], 'BWK_ERR_INVALID_INPUT', /asc or desc/);
      await refused(cli, ['operation-log', 'list', '--status', 'done'], 'BWK_ERR_INVALID_INPUT', /one of queued, running/);
      await refused(cli, ['operation-log', 'list', '--since', 'yesterday'], 'BWK_ERR_INVALID_INPUT', /ISO-8601/);
      expect(await ok(cli, ['trigger', 'list'])).to.deep.equal([]);

      const t = await ok<TriggerRecord>(cli, [...time, '--pattern', '0 3 * * *']);
      await refused(cli, ['trigger', 'update', t.id], 'BWK_ERR_INVALID_INPUT', /nothing to change/);
      await refused(cli, ['trigger', 'update', t.id, '--unset', 'end_time'], 'BWK_ERR_INVALID_INPUT', /no such property/);
      await refused(cli, ['trigger', 'update', t.id, '--event', 'checkpoint.available'], 'BWK_ERR_INVALID_INPUT', /event trigger/);
      const op = ['scheduled-operation', 'create', '--name', 'o', '--trigger', t.id];
      await refused(cli, [...op, '--type', 'protect'], 'BWK_ERR_INVALID_INPUT', /needs --plan/);
      await refused(
        cli,
        [...op, '--type', 'protect', '--plan', UNKNOWN, '--max-backups', '3'],
        'BWK_ERR_INVALID_INPUT',
        /retention_protect/,
      );
      await refused(
        cli,
        [...op, '--type', 'retention_protect', '--plan', UNKNOWN, '--max-backups', '0'],
        'BWK_ERR_INVALID_INPUT',
        /at least 1/,
      );
      await refused(
        cli,
        [...op, '--type', 'retention_protect', '--plan', UNKNOWN, '--keep', 'daily:7'],
        'BWK_ERR_INVALID_INPUT',
        /PERIOD=N/,
      );
      await refused(cli, [...op, '--type', 'protect', '--plan', UNKNOWN, '--overlap', 'wait'], 'BWK_ERR_INVALID_INPUT', /skip or queue/);
      // What the service checks comes back with its own code.
      await refused(
        cli,
        [...op, '--type', 'replicate', '--plan', UNKNOWN],
        'BWK_ERR_SCHEDULED_OPERATION_INVALID',
        /protect, retention_protect, verify, copy/,
      );
      await refused(cli, [...op, '--type', 'copy', '--plan', UNKNOWN], 'BWK_ERR_INVALID_INPUT', /--to-provider/);
      await refused(cli, [...op, '--type', 'protect', '--plan', UNKNOWN, '--to-provider', 'noop'], 'BWK_ERR_INVALID_INPUT', /only by it/);
      await refused(cli, [...op, '--type', 'protect', '--plan', UNKNOWN], 'BWK_ERR_PLAN_NOT_FOUND');
      await refused(cli, ['trigger', 'update', t.id, '--pattern', '*/5 * * * *'], 'BWK_ERR_TRIGGER_INVALID', /minimum interval/);
      await refused(cli, [...op, '--type', 'bank_check'], 'BWK_ERR_INVALID_INPUT', /needs --provider/);
      await refused(
        cli,
        [...op, '--type', 'bank_gc', '--provider', 'noop', '--read-data-percent', '5'],
        'BWK_ERR_INVALID_INPUT',
        /bank_check/,
      );
      expect(await ok(cli, ['scheduled-operation', 'list'])).to.deep.equal([]);
      // Bank upkeep (the local CLI acts as an admin): the provider by name, the share of packs to read.
      const check = await ok<ScheduledOperationView>(cli, [
        ...op,
        '--type',
        'bank_check',
        '--provider',
        'noop',
        '--read-data-percent',
        '10',
      ]);
      expect(check).to.include({ operation_type: 'bank_check', plan_id: null, provider_id: NOOP });
      expect(check.operation_definition).to.deep.equal({ provider_id: NOOP, read_data_percent: 10 });
      await ok(cli, ['scheduled-operation', 'delete', check.id]);
      expect(await ok(cli, ['trigger', 'delete', t.id])).to.deep.equal({ id: t.id, deleted: true });
    });

    it('an event trigger, a calendar trigger from --properties-file, and the table output', async () => {
      const event = await ok<TriggerRecord>(cli, [
        'trigger',
        'create',
        '--name',
        'ev',
        '--type',
        'event',
        '--event',
        'checkpoint.available',
      ]);
      expect(event.properties).to.deep.equal({ event: 'checkpoint.available' });
      const file = join(home.path, 'weekly.yaml');
      writeFileSync(
        file,
        'format: calendar\npattern: |\n  BEGIN:VEVENT\n  RRULE:FREQ=WEEKLY;BYDAY=MO;BYHOUR=3;BYMINUTE=0\n  END:VEVENT\ntimezone: UTC\n',
      );
      const weekly = await ok<TriggerRecord>(cli, ['trigger', 'create', '--name', 'weekly', '--type', 'time', '--properties-file', file]);
      expect(weekly.properties).to.include({ format: 'calendar', timezone: 'UTC' });
      expect(weekly.properties.pattern).to.match(/^BEGIN:VEVENT\nRRULE:FREQ=WEEKLY/);

      const table = await cli(['trigger', 'list'], { json: false });
      expect(table.code, table.stderr).to.equal(0);
      const lines = table.stdout.trimEnd().split('\n');
      expect(lines[0]).to.match(/^id\s+name\s+type\s+schedule\s+created_at$/);
      expect(lines.find((l) => l.startsWith(event.id))).to.match(/\bev\s+event\s+checkpoint\.available\b/);
      // A multi-line pattern shows on one row, its newlines escaped.
      expect(lines.find((l) => l.startsWith(weekly.id))).to.match(/\bweekly\s+time\s+calendar BEGIN:VEVENT\\nRRULE/);

      const plan = await ok<{ id: string }>(cli, ['plan', 'create', '--name', 'v', '--provider', 'noop', '--resource', 'noop=demo']);
      const verify = await ok<ScheduledOperationView>(cli, [
        'scheduled-operation',
        'create',
        '--name',
        'verify each',
        '--type',
        'verify',
        '--trigger',
        event.id,
        '--plan',
        plan.id,
      ]);
      expect(verify).to.include({ operation_type: 'verify', next_due_at: null });
      const run = await cli(['scheduled-operation', 'run', verify.id], { json: false });
      expect(run.code).to.equal(1);
      expect(run.stderr).to.match(/start a verification of that checkpoint instead \[BWK_ERR_SCHEDULED_OPERATION_INVALID\]/);
      const shown = await cli(['scheduled-operation', 'show', verify.id], { json: false });
      expect(shown.stdout).to.match(/^operation_type\s+verify$/m);
      expect(shown.stdout).to.match(/^enabled\s+true$/m);
    });
  });

  describe('with --url against the REST API', () => {
    const home = tempDir('cli-sched-server');
    const client = tempDir('cli-sched-client');
    const project = 'sched-url';
    let server: ApiApp;
    let env: NodeJS.ProcessEnv = {};
    const cli: Cli = (args, options) => runCli(client.path, args, { ...options, env });

    before(async () => {
      allowAll(home.path, [project]);
      server = await openApiApp(home.path);
      await server.api.listen({ host: '127.0.0.1', port: 0 });
      const { port } = server.api.server.address() as { port: number };
      env = { BULWARK_URL: `http://127.0.0.1:${port}`, BULWARK_TOKEN: await server.token(project) };
    });
    after(async () => {
      await server?.close();
      home.cleanup();
      client.cleanup();
    });

    coreScheduling(
      () => cli,
      () => project,
    );

    it("prints exactly what the server's service holds", async () => {
      const ctx = { projectId: project, admin: false };
      const t = await ok<TriggerRecord>(cli, ['trigger', 'create', '--name', 'x', '--type', 'time', '--pattern', '0 4 * * *']);
      expect(await server.app.scheduling.showTrigger(ctx, t.id)).to.deep.equal(t);
      expect(await ok(cli, ['operation-log', 'list', '--limit', '1'])).to.deep.equal(
        await server.app.scheduling.listOperationLogs(ctx, { limit: 1 }),
      );
      expect(await ok(cli, ['trigger', 'delete', t.id])).to.deep.equal({ id: t.id, deleted: true });
    });
  });
});
