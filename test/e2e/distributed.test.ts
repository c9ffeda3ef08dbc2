import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckReport } from '../../src/bank/chunks/check.js';
import type { GcReport } from '../../src/bank/chunks/gc.js';
import { cliJson, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/paths.js';
import { allowAll } from '../helpers/scopes.js';
import type { Daemon } from '../helpers/processes.js';
import { startDaemon, waitFor } from '../helpers/processes.js';
import { writeAmqpHome } from '../helpers/amqp-home.js';
import { TEST_PROVIDER_ID, writeRecorderProvider } from '../helpers/test-provider.js';

/** Distributed mode: `bulwark api` and two `bulwark protection-service` processes joined by RabbitMQ. */
describe('e2e: distributed service (api + 2 protection-services over RabbitMQ)', function () {
  this.timeout(180_000);
  const home = tempDir('dist');
  const log = join(home.path, 'hooks.log');
  const daemons: Daemon[] = [];
  let url = '';
  let token = '';
  let adminToken = '';

  before(async function () {
    writeAmqpHome(this, home.path, 'bulwark-e2e');
    writeFileSync(log, '');
    allowAll(home.path, ['dist']);
    writeRecorderProvider(home.path, { logFile: log });
    for (let i = 0; i < 2; i++) daemons.push(await startDaemon(home.path, ['protection-service'], /"ready":true/));
    const api = await startDaemon(home.path, ['api', '--port', '0'], /"url":"[^"]+"/);
    daemons.push(api);
    url = (JSON.parse(/\{"url".*\}/.exec(api.output())![0]) as { url: string }).url;
    token = (await cliJson<{ token: string }>(home.path, ['token', 'create', '--project', 'dist', '--role', 'member'])).token;
    adminToken = (await cliJson<{ token: string }>(home.path, ['token', 'create', '--project', 'dist', '--role', 'admin'])).token;
  });
  after(async () => {
    await Promise.all(daemons.map((d) => d.stop().catch(() => undefined)));
    delete process.env.BWK_TEST_AMQP_PASSWORD;
    home.cleanup();
  });

  const api = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${url}${path}`, {
      method,
      headers: { 'x-auth-token': token, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };

  it('20 concurrent protects through the API all complete, each exactly once, shared by both services', async () => {
    const plan = await api('POST', '/v1/dist/plans', {
      plan: {
        name: 'fan',
        provider_id: TEST_PROVIDER_ID,
        resources: [{ type: 'test.recorder', id: 'x' }],
        parameters: { 'test.recorder': { delay_ms: 300 } },
      },
    });
    expect(plan.status, JSON.stringify(plan.body)).to.equal(200);
    const planId = (plan.body.plan as { id: string }).id;
    const started = await Promise.all(
      Array.from({ length: 20 }, () =>
        api('POST', `/v1/dist/providers/${TEST_PROVIDER_ID}/checkpoints`, { checkpoint: { plan_id: planId } }),
      ),
    );
    for (const s of started) expect(s.status, JSON.stringify(s.body)).to.equal(202);
    const ids = started.map((s) => (s.body.checkpoint as { id: string }).id);
    expect(new Set(ids).size).to.equal(20);
    await waitFor(
      'all 20 checkpoints to end',
      async () => {
        const list = (await api('GET', `/v1/dist/providers/${TEST_PROVIDER_ID}/checkpoints?plan_id=${planId}`)).body.checkpoints as Array<{
          id: string;
          status: string;
        }>;
        return list.length === 20 && list.every((c) => c.status !== 'protecting') ? list : undefined;
      },
      120_000,
      500,
    );
    const list = (await api('GET', `/v1/dist/providers/${TEST_PROVIDER_ID}/checkpoints?plan_id=${planId}`)).body.checkpoints as Array<{
      id: string;
      status: string;
    }>;
    expect(list.map((c) => c.status)).to.deep.equal(Array(20).fill('available'));
    expect(list.map((c) => c.id).sort()).to.deep.equal([...ids].sort());
    const mains = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('protect x main '));
    expect(mains, 'one data step per checkpoint').to.have.length(20);
    const byPid = new Map<string, number>();
    for (const l of mains) byPid.set(l.split(' ')[3]!, (byPid.get(l.split(' ')[3]!) ?? 0) + 1);
    expect([...byPid.keys()].sort(), 'both protection services took work').to.deep.equal(
      daemons
        .slice(0, 2)
        .map((d) => String(d.pid))
        .sort(),
    );
  });

  it("streams an operation's events over SSE through the API", async () => {
    const plans = (await api('GET', '/v1/dist/plans')).body.plans as Array<{ id: string }>;
    const started = await api('POST', `/v1/dist/providers/${TEST_PROVIDER_ID}/checkpoints`, { checkpoint: { plan_id: plans[0]!.id } });
    const id = (started.body.checkpoint as { id: string }).id;
    const r = await fetch(`${url}/v1/dist/operations/${id}/events`, { headers: { 'x-auth-token': token } });
    expect(r.headers.get('content-type')).to.include('text/event-stream');
    const text = await r.text();
    expect(text).to.include('event: status');
    expect(text).to.match(/event: operation_finished\ndata: .*"status":"available"/);
  });

  it('bank check and gc through the API and RPC (CLI --url, admin token): the reports; a member token gets 403', async () => {
    const client = tempDir('dist-client');
    try {
      const cli = (secret: string, args: string[]) => runCli(client.path, args, { env: { BULWARK_URL: url, BULWARK_TOKEN: secret } });
      const check = await cli(adminToken, ['bank', 'check', '--provider', TEST_PROVIDER_ID, '--read-data']);
      expect(check.code, check.stderr).to.equal(0);
      const report = check.json<CheckReport>();
      expect(report).to.include({ ok: true, corrupt_chunks: 0 });
      expect(report.packs_read).to.equal(report.packs);
      const gc = await cli(adminToken, ['bank', 'gc', '--provider', TEST_PROVIDER_ID]);
      expect(gc.code, gc.stderr).to.equal(0);
      expect(gc.json<GcReport>().referenced_chunks).to.equal(report.referenced_chunks);
      const refused = await cli(token, ['bank', 'check']);
      expect(refused.code).to.equal(1);
      expect(refused.error().code).to.equal('BWK_ERR_FORBIDDEN');
      expect((await api('POST', `/v1/dist/providers/${TEST_PROVIDER_ID}/bank/gc`, {})).status).to.equal(403);
    } finally {
      client.cleanup();
    }
  });
});
