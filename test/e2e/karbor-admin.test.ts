import { expect } from 'chai';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { dump } from 'js-yaml';
import { cliJson } from '../helpers/cli.js';
import { field, karborAs, karborBinary, karborSubcommands, type KarborRun } from '../helpers/karbor.js';
import { waitFor } from '../helpers/wait.js';
import { tempDir } from '../helpers/paths.js';
import { allowAll } from '../helpers/scopes.js';
import type { Daemon } from '../helpers/processes.js';
import { startServe } from '../helpers/serve.js';
import { requirePrerequisite } from '../helpers/services.js';

const NOOP = 'b766f37c-d011-4026-8228-28730d734a3f';
const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Not requests to a server: the client's own. */
const CLIENT_ONLY = ['bash-completion', 'help'];

/** The first cell of every row of a client list whose first cell is a UUID. */
const ids = (out: string) =>
  out
    .split('\n')
    .map((l) => /^\|\s*([0-9a-f-]{36})\s*\|/.exec(l)?.[1])
    .filter((x): x is string => x !== undefined);

/**
 * Karbor's own client, unmodified, on the admin side of `bulwark serve`: quotas and quota classes
 * (issue 25); members read their quotas and cannot set them.
 */
describe('e2e: OpenStack Karbor client administers bulwark serve', function () {
  this.timeout(180_000);
  const home = tempDir('karbor-admin');
  let serve: Daemon;
  let url = '';
  let admin: KarborRun;
  let member: KarborRun;
  let memberToken = '';
  let bin = '';
  /** The subcommands run so far (as admin): the last test checks every one of `karbor help` was. */
  const ran = new Set<string>();
  const ok = (r: { code: number | null; out: string }) => {
    expect(r.code, r.out).to.equal(0);
    return r.out;
  };

  before(async function () {
    bin = requirePrerequisite(this, 'karbor client (apt-get install python3-karborclient)', karborBinary());
    writeFileSync(join(home.path, 'bulwark.yaml'), dump({ quotas: { triggers_per_project: 5 }, services: { heartbeat_interval_ms: 200 } }));
    allowAll(home.path, ['kq', 'full']);
    ({ serve, url } = await startServe(home.path));
    const adminToken = (await cliJson<{ token: string }>(home.path, ['token', 'create', '--project', 'ops', '--role', 'admin'])).token;
    memberToken = (await cliJson<{ token: string }>(home.path, ['token', 'create', '--project', 'kq', '--role', 'member'])).token;
    const asAdmin = karborAs(bin, url, 'ops', adminToken);
    admin = (...args) => {
      ran.add(args[0]!);
      return asAdmin(...args);
    };
    member = karborAs(bin, url, 'kq', memberToken);
  });
  after(async () => {
    await serve?.stop();
    home.cleanup();
  });

  it('refuses the 51st plan of a project at the default quota, naming the quota; a raised quota lets it in', async () => {
    const memberOf = async (project: string) =>
      (await cliJson<{ token: string }>(home.path, ['token', 'create', '--project', project, '--role', 'member'])).token;
    const token = await memberOf('full');
    const post = (name: string) =>
      fetch(`${url}/v1/full/plans`, {
        method: 'POST',
        headers: { 'x-auth-token': token, 'content-type': 'application/json' },
        body: JSON.stringify({ plan: { name, provider_id: NOOP, resources: [{ id: 'demo', type: 'noop', name: 'demo' }] } }),
      });
    for (let i = 0; i < 50; i++) expect((await post(`p${i}`)).status).to.equal(200);
    const fiftyFirst = await post('p50');
    const body = (await fiftyFirst.json()) as { code: string; message: string };
    expect(fiftyFirst.status).to.equal(403);
    expect(body.code).to.equal('BWK_ERR_QUOTA_EXCEEDED');
    expect(body.message, body.message).to.include(
      'project full already has 50 plans, its quota plans (quotas.plans_per_project in bulwark.yaml) is 50',
    );
    // The same through Karbor's client, as a member of the project.
    const run = karborAs(karborBinary()!, url, 'full', token);
    const refused = run('plan-create', 'p50', NOOP, 'demo=noop=demo');
    expect(refused.code).to.not.equal(0);
    expect(refused.out).to.include('its quota plans').and.to.include('HTTP 403');
    expect(refused.out.match(/p50/g)?.length ?? 0).to.be.at.most(1); // nothing was stored: no plan row shows
    ok(admin('quota-update', 'full', '--plans', '51'));
    expect(field(ok(run('plan-create', 'p50', NOOP, 'demo=noop=demo')), 'name')).to.equal('p50');
    expect(ok(admin('quota-show', '--tenant', 'full', '--detail'))).to.include('in_use = 51');
  });
  it('shows, details and sets quotas and quota classes; the config is the default', () => {
    const shown = ok(admin('quota-show', '--tenant', 'kq'));
    expect(field(shown, 'id')).to.equal('kq');
    expect(field(shown, 'plans')).to.equal('50');
    expect(field(shown, 'triggers')).to.equal('5'); // from bulwark.yaml
    expect(field(ok(admin('quota-defaults', '--tenant', 'kq')), 'plans')).to.equal('50');

    const set = ok(admin('quota-update', 'kq', '--plans', '3'));
    expect(field(set, 'plans')).to.equal('3');
    const detail = ok(admin('quota-show', '--tenant', 'kq', '--detail'));
    // The client prints each quota of the detail as "key = value" lines.
    expect(detail).to.include('limit = 3').and.to.include('in_use = 0');

    const cls = ok(admin('quota-class-update', 'default', '--plans', '40'));
    expect(field(cls, 'id')).to.equal('default');
    expect(field(cls, 'plans')).to.equal('40');
    expect(field(ok(admin('quota-class-show', 'default')), 'plans')).to.equal('40');
    expect(field(ok(admin('quota-defaults', '--tenant', 'other')), 'plans')).to.equal('40');
    expect(field(ok(admin('quota-show', '--tenant', 'other')), 'plans')).to.equal('40');
    // The project's own limit wins over the class.
    expect(field(ok(admin('quota-show', '--tenant', 'kq')), 'plans')).to.equal('3');
    // Karbor's client sends plans: 50 when --plans is left out.
    expect(field(ok(admin('quota-class-update', 'default')), 'plans')).to.equal('50');
  });

  it("a member reads its project's quotas; setting one is 403, and another project's are 404", () => {
    // --tenant is needed: without Keystone the client cannot tell its own project (HTTPClient has no get_project_id).
    expect(field(ok(member('quota-show', '--tenant', 'kq')), 'id')).to.equal('kq');
    expect(ok(member('quota-show', '--tenant', 'kq', '--detail'))).to.include('in_use = ');
    const refused = member('quota-update', 'kq', '--plans', '1000');
    expect(refused.code).to.not.equal(0);
    expect(refused.out).to.include('quota-update needs an admin token').and.to.include('HTTP 403');
    const classRefused = member('quota-class-update', 'default', '--plans', '1000');
    expect(classRefused.out).to.include('HTTP 403');
    const other = member('quota-show', '--tenant', 'someone-else');
    expect(other.code).to.not.equal(0);
    expect(other.out).to.include('HTTP 404');
    expect(field(ok(admin('quota-show', '--tenant', 'kq')), 'plans')).to.equal('3');
  });

  it('runs every other subcommand of `karbor help` as an admin, and each succeeds', async () => {
    expect(ok(admin('provider-list'))).to.include('noop');
    expect(field(ok(admin('provider-show', NOOP)), 'name')).to.equal('noop');
    expect(ok(admin('protectable-list'))).to.include('noop');
    expect(field(ok(admin('protectable-show', 'noop')), 'name')).to.equal('noop');
    expect(ok(admin('protectable-list-instances', 'noop'))).to.include('demo');
    expect(ok(admin('protectable-show-instance', 'noop', 'demo'))).to.include('demo');

    const planId = field(ok(admin('plan-create', 'every-command', NOOP, 'demo=noop=demo')), 'id')!;
    expect(planId).to.match(ID);
    expect(ids(ok(admin('plan-list')))).to.include(planId);
    expect(field(ok(admin('plan-update', planId, '--name', 'renamed')), 'name')).to.equal('renamed');
    expect(field(ok(admin('plan-show', planId)), 'name')).to.equal('renamed');

    const checkpointId = field(ok(admin('checkpoint-create', NOOP, planId)), 'id')!;
    const status = () => field(ok(admin('checkpoint-show', NOOP, checkpointId)), 'status');
    await waitFor('the checkpoint to be available', () => (status() === 'available' ? true : undefined), 30_000, 500);
    expect(ids(ok(admin('checkpoint-list', NOOP)))).to.include(checkpointId);
    ok(admin('checkpoint-reset-state', NOOP, checkpointId));
    expect(status()).to.equal('error');
    ok(admin('checkpoint-reset-state', NOOP, checkpointId, '--available'));
    expect(status()).to.equal('available');

    const restoreId = field(ok(admin('restore-create', NOOP, checkpointId)), 'id')!;
    await waitFor(
      'the restore to succeed',
      () => (field(ok(admin('restore-show', restoreId)), 'status') === 'success' ? true : undefined),
      30_000,
      500,
    );
    expect(ids(ok(admin('restore-list')))).to.include(restoreId);
    const verificationId = field(ok(admin('verification-create', NOOP, checkpointId)), 'id')!;
    await waitFor(
      'the verification to succeed',
      () => (field(ok(admin('verification-show', verificationId)), 'status') === 'success' ? true : undefined),
      30_000,
      500,
    );
    expect(ids(ok(admin('verification-list')))).to.include(verificationId);
    const logId = ids(ok(admin('operationlog-list')))[0]!;
    expect(field(ok(admin('operationlog-show', logId)), 'id')).to.equal(logId);

    const triggerId = field(ok(admin('trigger-create', 'nightly', 'time', 'pattern=0 3 * * *,window=600')), 'id')!;
    expect(ids(ok(admin('trigger-list')))).to.include(triggerId);
    expect(field(ok(admin('trigger-update', triggerId, '--name', 'later')), 'name')).to.equal('later');
    expect(field(ok(admin('trigger-show', triggerId)), 'name')).to.equal('later');
    const opId = field(
      ok(admin('scheduledoperation-create', 'nightly-protect', 'protect', triggerId, `plan_id=${planId},provider_id=${NOOP}`)),
      'id',
    )!;
    expect(ids(ok(admin('scheduledoperation-list')))).to.include(opId);
    expect(field(ok(admin('scheduledoperation-show', opId)), 'id')).to.equal(opId);
    ok(admin('scheduledoperation-delete', opId));
    ok(admin('trigger-delete', triggerId));

    // serve's three services; disabling its protection service refuses new operations until it is enabled.
    const listed = ok(admin('service-list'));
    expect(listed).to.include('bulwark-api').and.to.include('bulwark-protection-service').and.to.include('bulwark-operation-engine');
    const protection = ok(admin('service-list', '--binary', 'bulwark-protection-service'));
    const serviceId = ids(protection)[0]!;
    expect(protection).to.include('enabled').and.to.include('up');
    expect(ok(admin('service-disable', serviceId, '--reason', 'upgrade')))
      .to.include('disabled')
      .and.to.include('upgrade');
    await waitFor(
      'new protects to be refused',
      () => {
        const r = admin('checkpoint-create', NOOP, planId);
        return r.code !== 0 && r.out.includes('is disabled (upgrade)') && r.out.includes('HTTP 503') ? true : undefined;
      },
      10_000,
      300,
    );
    expect(ok(admin('service-enable', serviceId))).to.include('enabled');
    await waitFor(
      'protects to be taken again',
      () => (admin('checkpoint-create', NOOP, planId).code === 0 ? true : undefined),
      10_000,
      300,
    );

    ok(admin('checkpoint-delete', NOOP, checkpointId));
    expect(ids(ok(admin('checkpoint-list', NOOP)))).to.not.include(checkpointId);
    ok(admin('plan-delete', planId));
    expect(ids(ok(admin('plan-list')))).to.not.include(planId);

    const missing = karborSubcommands(bin).filter((c) => !CLIENT_ONLY.includes(c) && !ran.has(c));
    expect(missing, 'subcommands of `karbor help` this test did not run').to.deep.equal([]);
    expect(karborSubcommands(bin)).to.include('quota-class-update').and.to.include('service-disable'); // the help was read
  });
});
