import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliJson } from '../helpers/cli.js';
import { tempDir } from '../helpers/paths.js';
import { allowAll } from '../helpers/scopes.js';
import type { Daemon } from '../helpers/processes.js';
import { startDaemon, waitFor } from '../helpers/processes.js';
import { writeAmqpHome } from '../helpers/amqp-home.js';
import type { ServiceRow } from '../helpers/service-row.js';
import { TEST_PROVIDER_ID, writeRecorderProvider } from '../helpers/test-provider.js';

type Service = ServiceRow;

const HEARTBEAT = { heartbeat_interval_ms: 200, heartbeat_ttl_ms: 1500 };

/**
 * The service catalog (issue 25): every process registers with a heartbeat, and disabling a
 * protection service really stops it taking work — two share one RabbitMQ queue, one is disabled,
 * the other does every protect; enabled again, it takes work again.
 */
describe('e2e: services registry and disable (api + 2 protection-services over RabbitMQ)', function () {
  this.timeout(180_000);
  const home = tempDir('svc');
  const hooks = join(home.path, 'hooks.log');
  const daemons: Daemon[] = [];
  let url = '';
  let token = '';
  let adminToken = '';
  let psA: Daemon;
  let psB: Daemon;

  before(async function () {
    writeAmqpHome(this, home.path, 'bulwark-svc', [`services: ${JSON.stringify(HEARTBEAT)}`]);
    writeFileSync(hooks, '');
    allowAll(home.path, ['svc']);
    writeRecorderProvider(home.path, { logFile: hooks });
    // Two protection services on one machine: each names its host, or they would share one row.
    psA = await startDaemon(home.path, ['protection-service', '--prefetch', '4'], /"ready":true/, 60_000, { BULWARK_SERVICE_HOST: 'ps-a' });
    psB = await startDaemon(home.path, ['protection-service', '--prefetch', '4'], /"ready":true/, 60_000, { BULWARK_SERVICE_HOST: 'ps-b' });
    daemons.push(psA, psB);
    const api = await startDaemon(home.path, ['api', '--port', '0'], /"url":"[^"]+"/);
    daemons.push(api);
    url = (JSON.parse(/\{"url".*\}/.exec(api.output())![0]) as { url: string }).url;
    token = (await cliJson<{ token: string }>(home.path, ['token', 'create', '--project', 'svc', '--role', 'member'])).token;
    adminToken = (await cliJson<{ token: string }>(home.path, ['token', 'create', '--project', 'svc', '--role', 'admin'])).token;
  });
  after(async () => {
    await Promise.all(daemons.map((d) => d.stop().catch(() => undefined)));
    delete process.env.BWK_TEST_AMQP_PASSWORD;
    home.cleanup();
  });

  const call = async (as: string, method: string, path: string, body?: unknown) => {
    const r = await fetch(`${url}/v1/svc${path}`, {
      method,
      headers: { 'x-auth-token': as, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };
  const services = async (query = '') => (await call(adminToken, 'GET', `/os-services${query}`)).body.services as Service[];
  /** Lines the process with `pid` logged with message `msg`. */
  const logged = (pid: number, msg: string) =>
    readFileSync(join(home.path, 'logs', 'bulwark.log'), 'utf8')
      .split('\n')
      .filter((l) => l.includes(`"pid":${pid}`) && l.includes(msg)).length;
  /** Starts `n` protects of one plan and waits for all to be available; the pids whose hooks ran them. */
  const protectMany = async (n: number): Promise<Map<string, number>> => {
    const plan = await call(token, 'POST', '/plans', {
      plan: {
        name: `p-${randomUUID().slice(0, 6)}`,
        provider_id: TEST_PROVIDER_ID,
        resources: [{ type: 'test.recorder', id: `r-${randomUUID().slice(0, 6)}` }],
        parameters: { 'test.recorder': { delay_ms: 200 } },
      },
    });
    expect(plan.status, JSON.stringify(plan.body)).to.equal(200);
    const { id: planId, resources } = plan.body.plan as { id: string; resources: Array<{ id: string }> };
    const started = await Promise.all(
      Array.from({ length: n }, () =>
        call(token, 'POST', `/providers/${TEST_PROVIDER_ID}/checkpoints`, { checkpoint: { plan_id: planId } }),
      ),
    );
    for (const s of started) expect(s.status, JSON.stringify(s.body)).to.equal(202);
    await waitFor(
      `${n} checkpoints to be available`,
      async () => {
        const list = (await call(token, 'GET', `/providers/${TEST_PROVIDER_ID}/checkpoints?plan_id=${planId}`)).body.checkpoints as Array<{
          status: string;
        }>;
        return list.length === n && list.every((c) => c.status === 'available') ? true : undefined;
      },
      90_000,
      300,
    );
    const byPid = new Map<string, number>();
    for (const l of readFileSync(hooks, 'utf8')
      .split('\n')
      .filter((x) => x.startsWith(`protect ${resources[0]!.id} main `)))
      byPid.set(l.split(' ')[3]!, (byPid.get(l.split(' ')[3]!) ?? 0) + 1);
    return byPid;
  };

  it('lists every running process with host, binary, status and state; members may not', async () => {
    const listed = await services();
    const rows = listed.map((s) => `${s.host} ${s.binary} ${s.status} ${s.state}`);
    expect(rows).to.include.members(['ps-a bulwark-protection-service enabled up', 'ps-b bulwark-protection-service enabled up']);
    expect(listed.some((s) => s.binary === 'bulwark-api' && s.state === 'up')).to.equal(true);
    expect((await services('?host=ps-a')).map((s) => s.binary)).to.deep.equal(['bulwark-protection-service']);
    expect((await services('?binary=bulwark-api')).every((s) => s.binary === 'bulwark-api')).to.equal(true);
    const refused = await call(token, 'GET', '/os-services');
    expect(refused.status).to.equal(403);
    expect(refused.body.code).to.equal('BWK_ERR_FORBIDDEN');
  });

  it('a disabled protection service takes no new protect while the other does all of them; enabled, it takes work again', async () => {
    const a = (await services('?host=ps-a'))[0]!;
    const disabled = await call(adminToken, 'PUT', `/os-services/${a.id}`, { status: 'disabled', disabled_reason: 'maintenance' });
    expect(disabled.status, JSON.stringify(disabled.body)).to.equal(200);
    expect(disabled.body.service).to.include({ id: a.id, status: 'disabled', disabled_reason: 'maintenance', host: 'ps-a' });
    await waitFor('ps-a to cancel its consumer', () => (logged(psA.pid, 'service disabled') > 0 ? true : undefined), 10_000, 100);

    const whileDisabled = await protectMany(12);
    expect([...whileDisabled.keys()], 'only ps-b ran protects').to.deep.equal([String(psB.pid)]);
    expect(whileDisabled.get(String(psB.pid))).to.equal(12);

    const enabled = await call(adminToken, 'PUT', `/os-services/${a.id}`, { status: 'enabled' });
    expect(enabled.body.service).to.include({ status: 'enabled', disabled_reason: null });
    await waitFor('ps-a to consume again', () => (logged(psA.pid, 'service enabled') > 0 ? true : undefined), 10_000, 100);
    const afterEnable = await protectMany(16);
    expect(afterEnable.get(String(psA.pid)) ?? 0, 'ps-a took work again').to.be.greaterThan(0);
    expect([...afterEnable.values()].reduce((x, y) => x + y, 0)).to.equal(16);
  });

  it('an API process cannot be disabled, an unknown service is 404, and a bad status is 400; nothing changes', async () => {
    const api = (await services('?binary=bulwark-api'))[0]!;
    const refused = await call(adminToken, 'PUT', `/os-services/${api.id}`, { status: 'disabled' });
    expect(refused.status).to.equal(409);
    expect(refused.body.code).to.equal('BWK_ERR_SERVICE_NOT_DISABLABLE');
    expect((await call(adminToken, 'PUT', `/os-services/${randomUUID()}`, { status: 'disabled' })).status).to.equal(404);
    expect((await call(adminToken, 'PUT', `/os-services/${api.id}`, { status: 'paused' })).status).to.equal(400);
    expect((await services('?binary=bulwark-api')).every((s) => s.status === 'enabled')).to.equal(true);
  });

  it('a process stopped cleanly shows down at once; restarted, it reuses its row and its status', async () => {
    const b = (await services('?host=ps-b'))[0]!;
    const cli = await cliJson<Service>(home.path, ['service', 'disable', b.id, '--reason', 'from the cli']);
    expect(cli).to.include({ id: b.id, status: 'disabled', disabled_reason: 'from the cli' });
    await psB.stop();
    expect((await services('?host=ps-b'))[0]).to.include({ id: b.id, state: 'down', status: 'disabled' });
    psB = await startDaemon(home.path, ['protection-service'], /"ready":true/, 60_000, { BULWARK_SERVICE_HOST: 'ps-b' });
    daemons.push(psB);
    expect((await services('?host=ps-b'))[0]).to.include({ id: b.id, state: 'up', status: 'disabled' });
    expect(logged(psB.pid, 'service disabled')).to.equal(1); // restarted disabled: it never consumed
    const listed = await cliJson<Service[]>(home.path, ['service', 'list', '--host', 'ps-b']);
    expect(listed.map((s) => s.id)).to.deep.equal([b.id]);
    await cliJson(home.path, ['service', 'enable', b.id]);
  });
});
