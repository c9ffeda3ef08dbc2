import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliJson } from '../helpers/cli.js';
import { tempDir } from '../helpers/paths.js';
import type { Daemon } from '../helpers/processes.js';
import { startDaemon, waitFor } from '../helpers/processes.js';
import { requireService, temporalAddress } from '../helpers/services.js';
import type { ServiceRow } from '../helpers/service-row.js';

type Service = ServiceRow;

const TTL_MS = 1500;
const INTERVAL_MS = 200;

/** The service catalog's heartbeat (issue 25): a worker that dies without a word shows down once its heartbeat expires. */
describe('e2e: a SIGKILLed temporal worker is listed down within its heartbeat TTL', function () {
  this.timeout(120_000);
  const home = tempDir('svc-hb');
  const daemons: Daemon[] = [];

  before(function () {
    const address = requireService(this, 'Temporal (TEMPORAL_ADDRESS)', temporalAddress());
    writeFileSync(
      join(home.path, 'bulwark.yaml'),
      [
        'engine: temporal',
        'temporal:',
        `  address: ${address}`,
        `  task_queue: bulwark-hb-${randomUUID().slice(0, 8)}`,
        '  shutdown_grace_time_ms: 500',
        `services: {heartbeat_interval_ms: ${INTERVAL_MS}, heartbeat_ttl_ms: ${TTL_MS}}`,
        '',
      ].join('\n'),
    );
  });
  after(async () => {
    await Promise.all(daemons.map((d) => d.stop().catch(() => undefined)));
    home.cleanup();
  });

  const workerRow = async (host: string) =>
    (await cliJson<Service[]>(home.path, ['service', 'list', '--host', host, '--binary', 'bulwark-worker']))[0];

  it('up while it runs, down within the TTL after SIGKILL, and the same row once restarted', async () => {
    const env = { BULWARK_SERVICE_HOST: 'worker-1' };
    const worker = await startDaemon(home.path, ['worker'], /serving task queue/, 60_000, env);
    daemons.push(worker);
    const up = await workerRow('worker-1');
    expect(up).to.include({ host: 'worker-1', binary: 'bulwark-worker', status: 'enabled', state: 'up' });
    await worker.kill();
    const killedAt = Date.now();
    await waitFor(
      'the killed worker to be listed down',
      async () => ((await workerRow('worker-1'))?.state === 'down' ? true : undefined),
      30_000,
      100,
    );
    // Its last heartbeat was at most one interval before the kill, and vouched for TTL_MS; a listing takes a CLI start-up more.
    expect(Date.now() - killedAt).to.be.below(TTL_MS + 5_000);
    const down = (await workerRow('worker-1'))!;
    expect(Date.parse(down.updated_at)).to.be.at.most(killedAt);

    const again = await startDaemon(home.path, ['worker'], /serving task queue/, 60_000, env);
    daemons.push(again);
    expect(await workerRow('worker-1')).to.include({ id: up!.id, state: 'up' });
  });

  it('an agent registers as its node; disabled, it drains its worker and keeps running; enabled, it serves again', async () => {
    const agent = await startDaemon(home.path, ['agent', '--node', 'node-7'], /serving task queue/);
    daemons.push(agent);
    const [row] = await cliJson<Service[]>(home.path, ['service', 'list', '--host', 'node-7']);
    expect(row).to.include({ binary: 'bulwark-agent', state: 'up', status: 'enabled' });
    await cliJson(home.path, ['service', 'disable', row!.id, '--reason', 'drain test']);
    const log = () => readFileSync(join(home.path, 'logs', 'bulwark.log'), 'utf8');
    const lines = (msg: string) =>
      log()
        .split('\n')
        .filter((l) => l.includes(`"pid":${agent.pid}`) && l.includes(msg)).length;
    await waitFor('the agent to drain', () => (lines('service disabled') > 0 ? true : undefined), 15_000, 100);
    // Still alive and heartbeating while disabled.
    await new Promise((r) => setTimeout(r, TTL_MS + 500));
    expect(agent.child.exitCode).to.equal(null);
    const [disabled] = await cliJson<Service[]>(home.path, ['service', 'list', '--host', 'node-7']);
    expect(disabled).to.include({ state: 'up', status: 'disabled' });
    await cliJson(home.path, ['service', 'enable', row!.id]);
    await waitFor('the agent to serve again', () => (lines('service enabled') > 0 ? true : undefined), 15_000, 100);
    expect(agent.child.exitCode).to.equal(null);
  });
});
