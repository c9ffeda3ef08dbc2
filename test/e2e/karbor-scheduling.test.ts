import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dump } from 'js-yaml';
import { cliJson } from '../helpers/cli.js';
import { tempDir } from '../helpers/paths.js';
import { allowAll } from '../helpers/scopes.js';
import type { Daemon } from '../helpers/processes.js';
import { startDaemon } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';
import { requirePrerequisite } from '../helpers/services.js';

const FS = 'cf56bd3e-97a7-4078-b6d5-f36246333fd9';
const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Every five seconds, in Karbor's calendar format: it has no comma, so it passes through the client's key=value,... syntax. */
const CALENDAR = 'BEGIN:VEVENT\nRRULE:FREQ=SECONDLY;INTERVAL=5\nEND:VEVENT';
const karborBinary = (): string | undefined => {
  const r = spawnSync('sh', ['-c', 'command -v karbor'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
};

/**
 * Karbor's own client (Debian's python3-karborclient), unmodified, manages triggers, scheduled
 * operations and operation logs of `bulwark serve`, and a trigger it made fires a protect through
 * the operation engine serve embeds.
 */
describe('e2e: OpenStack Karbor client schedules protects on bulwark serve', function () {
  this.timeout(240_000);
  const home = tempDir('karbor-sched');
  const work = tempDir('karbor-sched-data');
  let serve: Daemon;
  let karbor: (...args: string[]) => { code: number | null; out: string };
  let planId = '';

  /** A value from the client's `| Property | Value |` table (the first line of a multi-line one). */
  const field = (out: string, name: string) => new RegExp(`\\|\\s*${name}\\s*\\|\\s*([^|]*?)\\s*\\|`).exec(out)?.[1];
  /** The cells of the list row whose first column is `id`. */
  const row = (out: string, id: string) =>
    out
      .split('\n')
      .find((l) => new RegExp(`^\\|\\s*${id}\\s*\\|`).test(l))
      ?.split('|')
      .slice(1, -1)
      .map((c) => c.trim());
  const ok = (r: { code: number | null; out: string }) => {
    expect(r.code, r.out).to.equal(0);
    return r.out;
  };

  before(async function () {
    const bin = requirePrerequisite(this, 'karbor client (apt-get install python3-karborclient)', karborBinary());
    // Fires a minute apart are allowed here (Karbor's and Bulwark's minimum is an hour), and looked for often.
    writeFileSync(join(home.path, 'bulwark.yaml'), dump({ operation_engine: { min_interval_ms: 1000, tick_interval_ms: 200 } }));
    allowAll(home.path, ['kp']);
    serve = await startDaemon(home.path, ['serve', '--port', '0'], /"url":"[^"]+"/);
    const url = (JSON.parse(/\{"url".*\}/.exec(serve.output())![0]) as { url: string }).url;
    const { token } = await cliJson<{ token: string }>(home.path, ['token', 'create', '--project', 'kp', '--role', 'member']);
    karbor = (...args) => {
      const r = spawnSync(
        bin,
        ['--os-no-client-auth', '--os-auth-token', token, '--os-project-id', 'kp', '--karbor-url', `${url}/v1/kp`, ...args],
        { encoding: 'utf8' },
      );
      return { code: r.status, out: `${r.stdout}${r.stderr}` };
    };
    const data = join(work.path, 'data');
    mkdirSync(data);
    writeFileSync(join(data, 'file.txt'), 'scheduled by karbor\n');
    planId = field(ok(karbor('plan-create', 'scheduled', FS, `${data}=fs.directory=data`)), 'id')!;
    expect(planId).to.match(ID);
  });
  after(async () => {
    await serve?.stop();
    home.cleanup();
    work.cleanup();
  });

  it('creates, lists, shows, updates and deletes a trigger', () => {
    const created = ok(karbor('trigger-create', 'every-5', 'time', 'pattern=*/5 * * * *,format=crontab,window=120'));
    const id = field(created, 'id')!;
    expect(id).to.match(ID);
    expect(field(created, 'name')).to.equal('every-5');
    expect(field(created, 'type')).to.equal('time');
    expect(created).to.include('"pattern": "*/5 * * * *"').and.to.include('"window": 120').and.to.include('"format": "crontab"');

    const listed = ok(karbor('trigger-list'));
    expect(row(listed, id)?.slice(0, 3)).to.deep.equal([id, 'every-5', 'time']);
    expect(ok(karbor('trigger-list', '--name', 'every-5'))).to.include(id);
    expect(ok(karbor('trigger-list', '--type', 'event'))).to.not.include(id);
    expect(ok(karbor('trigger-list', '--sort', 'created_at:desc'))).to.include(id);

    const shown = ok(karbor('trigger-show', id));
    expect(field(shown, 'id')).to.equal(id);
    expect(field(shown, 'name')).to.equal('every-5');

    // A rename alone: the client sends "properties": {} with it, which keeps the schedule.
    const renamed = ok(karbor('trigger-update', id, '--name', 'renamed'));
    expect(field(renamed, 'name')).to.equal('renamed');
    expect(renamed).to.include('"pattern": "*/5 * * * *"');
    const rescheduled = ok(karbor('trigger-update', id, '--properties', 'pattern=0 3 * * *,window=300'));
    expect(field(rescheduled, 'name')).to.equal('renamed');
    expect(rescheduled).to.include('"pattern": "0 3 * * *"').and.to.include('"window": 300');

    const bad = karbor('trigger-create', 'bad', 'time', 'pattern=every tuesday');
    expect(bad.code).to.not.equal(0);
    expect(bad.out).to.include('trigger pattern is invalid').and.to.include('HTTP 400');

    ok(karbor('trigger-delete', id));
    expect(ok(karbor('trigger-list'))).to.not.include(id);
    const gone = karbor('trigger-show', id);
    expect(gone.code).to.not.equal(0);
    expect(gone.out).to.include('HTTP 404');
  });

  it('creates, lists, shows and deletes a scheduled operation; its trigger cannot go meanwhile', () => {
    const triggerId = field(ok(karbor('trigger-create', 'nightly', 'time', 'pattern=0 3 * * *,window=600')), 'id')!;
    const created = ok(karbor('scheduledoperation-create', 'protect-nightly', 'protect', triggerId, `plan_id=${planId},provider_id=${FS}`));
    const id = field(created, 'id')!;
    expect(id).to.match(ID);
    expect(field(created, 'name')).to.equal('protect-nightly');
    expect(field(created, 'operation_type')).to.equal('protect');
    expect(field(created, 'trigger_id')).to.equal(triggerId);
    expect(field(created, 'enabled')).to.equal('True');
    expect(created).to.include(`"plan_id": "${planId}"`).and.to.include(`"provider_id": "${FS}"`);

    // Karbor's client asks for columns (OperationType...) under names its own API never had: Id and Name show.
    expect(row(ok(karbor('scheduledoperation-list')), id)?.slice(0, 2)).to.deep.equal([id, 'protect-nightly']);
    expect(ok(karbor('scheduledoperation-list', '--trigger_id', triggerId))).to.include(id);
    expect(ok(karbor('scheduledoperation-list', '--name', 'someone-else'))).to.not.include(id);
    const shown = ok(karbor('scheduledoperation-show', id));
    expect(field(shown, 'id')).to.equal(id);
    expect(field(shown, 'plan_id')).to.equal(planId);

    const inUse = karbor('trigger-delete', triggerId);
    expect(inUse.code).to.not.equal(0);
    expect(inUse.out).to.include(`is used by scheduled operation(s) ${id}`).and.to.include('HTTP 409');

    ok(karbor('scheduledoperation-delete', id));
    expect(ok(karbor('scheduledoperation-list'))).to.not.include(id);
    ok(karbor('trigger-delete', triggerId));
  });

  it('a calendar trigger it created fires a protect, shown by operationlog-list, operationlog-show and checkpoint-show', async () => {
    const trigger = ok(karbor('trigger-create', 'every-5s', 'time', `pattern=${CALENDAR},format=calendar,window=60`));
    const triggerId = field(trigger, 'id')!;
    expect(trigger).to.include('"format": "calendar"').and.to.include(JSON.stringify(CALENDAR));
    const opId = field(
      ok(karbor('scheduledoperation-create', 'protect-often', 'protect', triggerId, `plan_id=${planId},provider_id=${FS}`)),
      'id',
    )!;

    // Columns: Id, Operation Type, Checkpoint id, Plan Id, Provider id, Restore Id, Scheduled Operation Id, Status, ...
    const fired = await waitFor(
      'a scheduled protect to succeed in operationlog-list',
      () =>
        ok(karbor('operationlog-list'))
          .split('\n')
          .map((l) => l.split('|').map((c) => c.trim()))
          .find((cells) => cells[7] === opId && cells[8] === 'success'),
      150_000,
      2000,
    );
    const [logId, type, checkpointId, logPlan, provider] = fired.slice(1, 6);
    expect(logId).to.match(ID);
    expect({ type, logPlan, provider }).to.deep.equal({ type: 'protect', logPlan: planId, provider: FS });
    expect(ok(karbor('operationlog-list', '--status', 'success'))).to.include(logId);

    const log = ok(karbor('operationlog-show', logId!));
    expect(field(log, 'id')).to.equal(logId);
    expect(field(log, 'scheduled_operation_id')).to.equal(opId);
    expect(field(log, 'trigger_id')).to.equal(triggerId);
    expect(field(log, 'checkpoint_id')).to.equal(checkpointId);
    expect(field(log, 'status')).to.equal('success');

    const checkpoint = ok(karbor('checkpoint-show', FS, checkpointId!));
    expect(field(checkpoint, 'status')).to.equal('available');
    // The client prints extra_info as a Python dict.
    expect(field(checkpoint, 'extra_info')).to.include(`'scheduled_operation_id': '${opId}'`);
    expect(ok(karbor('checkpoint-list', FS))).to.include(checkpointId);

    ok(karbor('scheduledoperation-delete', opId));
    ok(karbor('trigger-delete', triggerId));
  });
});
