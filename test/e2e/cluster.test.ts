import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { runCli } from '../helpers/cli.js';
import { REPO_ROOT, tempDir } from '../helpers/paths.js';
import { freePort } from '../helpers/private-rabbitmq.js';
import { amqpUrl, pgUrl, requireService, temporalAddress } from '../helpers/services.js';

const run = promisify(execFile);
const CLUSTER = join(REPO_ROOT, 'scripts', 'cluster.sh');

/** An SSE response read to its end (the server must end it) as its events. */
async function events(url: string, token: string): Promise<Array<{ event: string; data: Record<string, unknown> }>> {
  const res = await fetch(url, { headers: { 'x-auth-token': token } });
  expect(res.status).to.equal(200);
  return (await res.text())
    .split('\n\n')
    .filter(Boolean)
    .map((block) => ({
      event: /^event: (.*)$/m.exec(block)![1]!,
      data: JSON.parse(/^data: (.*)$/m.exec(block)![1]!) as Record<string, unknown>,
    }));
}

/**
 * docs/deploy.md's one-machine shape as scripts/cluster.sh starts it (PostgreSQL catalog, RabbitMQ,
 * Temporal, api + 2 protection-services + worker + operation-engine): the configuration it runs is the
 * documentation's text, and a protect under the Temporal engine streams over SSE to its end.
 */
describe('e2e: the distributed shape of docs/deploy.md, started by scripts/cluster.sh', function () {
  this.timeout(300_000);
  const dir = tempDir('cluster');
  const name = `bwk-cluster-${randomBytes(4).toString('hex')}`;
  let env: NodeJS.ProcessEnv;
  let url = '';
  let token = '';

  before(async function () {
    requireService(this, 'Temporal (TEMPORAL_ADDRESS; the cluster starts a server of its own with the same CLI)', temporalAddress());
    requireService(this, 'RabbitMQ', amqpUrl());
    const pg = new URL(pgUrl());
    env = {
      ...process.env,
      BULWARK_CLUSTER_DIR: join(dir.path, 'cluster'),
      BULWARK_NAME: name,
      BULWARK_DB: name.replaceAll('-', '_'),
      BULWARK_API_PORT: String(await freePort()),
      TEMPORAL_PORT: String(await freePort()),
      PGUSER: decodeURIComponent(pg.username) || 'postgres',
      BULWARK_AMQP_PASSWORD: decodeURIComponent(new URL(amqpUrl()).password) || 'guest',
    };
    const { stdout } = await run('bash', [CLUSTER, 'start'], { env, timeout: 240_000 });
    url = /^export BULWARK_URL=(\S+)$/m.exec(stdout)![1]!;
    token = /^export BULWARK_TOKEN=(\S+)$/m.exec(stdout)![1]!;
  });
  after(async () => {
    if (env) await run('bash', [CLUSTER, 'stop', '--purge'], { env, timeout: 240_000 }).catch(() => undefined);
    dir.cleanup();
  });

  it("runs the configuration docs/deploy.md shows, filled in with the cluster's names", () => {
    const docs = readFileSync(join(REPO_ROOT, 'docs', 'deploy.md'), 'utf8');
    const block = /<!-- one-machine-config:begin -->\s*```yaml\n([\s\S]*?)```/.exec(docs)![1]!;
    const filled = block.replace(/\$\{([A-Z_]+)\}/g, (_m, v: string) => env[v]!);
    expect(readFileSync(join(env.BULWARK_CLUSTER_DIR!, 'home', 'bulwark.yaml'), 'utf8')).to.equal(filled);
    expect(filled).to.include(`queue: ${name}.protection`).and.to.include('engine: temporal');
  });

  it('status reports every process running and the API healthy', async () => {
    const { stdout } = await run('bash', [CLUSTER, 'status'], { env });
    for (const p of ['protection-service-1', 'protection-service-2', 'worker', 'operation-engine', 'api'])
      expect(stdout).to.match(new RegExp(`^${p}: running`, 'm'));
    expect(stdout).to.include('api /healthz: ok');
  });

  it('a protect under Temporal streams progress over SSE to operation_finished; a late stream gets the final state', async () => {
    const data = join(dir.path, 'data');
    mkdirSync(data);
    writeFileSync(join(data, 'big'), randomBytes(24 * 1024 * 1024));
    writeFileSync(join(data, 'small'), 'hello');
    const remote = { env: { BULWARK_URL: url, BULWARK_TOKEN: token } };
    const home = join(dir.path, 'client-home'); // the CLI talks to the API only; this home stays empty
    const plan = await runCli(
      home,
      ['plan', 'create', '--name', 'cluster', '--provider', 'fs-directory', '--resource', `fs.directory=${data}`],
      remote,
    );
    expect(plan.code, plan.stderr).to.equal(0);
    const started = await runCli(home, ['checkpoint', 'create', '--plan', plan.json<{ id: string }>().id, '--no-wait'], remote);
    expect(started.code, started.stderr).to.equal(0);
    const id = started.json<{ id: string }>().id;

    const live = await events(`${url}/v1/default/operations/${id}/events`, token);
    expect(live[0]!.event).to.equal('status');
    expect(live.at(-1)!.event, JSON.stringify(live.map((e) => e.event))).to.equal('operation_finished');
    expect(live.at(-1)!.data.status).to.equal('available');
    const bytes = live.filter((e) => e.event === 'progress' && e.data.unit === 'bytes').map((e) => e.data.done as number);
    expect(bytes.length, 'progress events from the worker').to.be.greaterThan(0);

    const late = await events(`${url}/v1/default/operations/${id}/events`, token);
    expect(late).to.deep.equal([{ event: 'status', data: { id, kind: 'protect', status: 'available' } }]);
    // Restored through the API, byte for byte.
    const target = join(dir.path, 'restored');
    const restore = await runCli(
      home,
      ['restore', 'create', '--checkpoint', id, '--parameters', JSON.stringify({ 'fs.directory': { target_path: target } })],
      remote,
    );
    expect(restore.code, restore.stderr).to.equal(0);
    expect(readFileSync(join(target, 'big')).equals(readFileSync(join(data, 'big')))).to.equal(true);
  });
});
