import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../src/common/logging.js';
import { AmqpTransport } from '../../src/rpc/amqp.js';
import { cliJson } from '../helpers/cli.js';
import { tempDir } from '../helpers/paths.js';
import { allowAll } from '../helpers/scopes.js';
import type { Daemon } from '../helpers/processes.js';
import { startDaemon } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';
import { amqpUrl, requireService, temporalAddress } from '../helpers/services.js';
import { writeRecorderProvider } from '../helpers/test-provider.js';

const PROVIDER = '5e7e57e5-0000-4000-8000-0000000e7e47';

interface StatusEvent {
  id: string;
  kind: string;
  status: string;
  reason?: string;
  project_id: string;
  provider_id: string;
  plan_id?: string;
  checkpoint_id: string;
}

/**
 * Every process that finishes an operation publishes it on `bulwark.events`, whom it concerns
 * included, so the operation engine and the console can rely on events in every deployment shape:
 * the all-in-one `serve` and a Temporal `worker`, not only `protection-service`.
 */
describe('e2e: operation events on bulwark.events from serve and from a Temporal worker', function () {
  this.timeout(180_000);
  const homes = [tempDir('events-serve'), tempDir('events-worker')];
  const daemons: Daemon[] = [];
  const seen: Array<{ key: string; event: StatusEvent }> = [];
  let listener: AmqpTransport | undefined;
  let unsubscribe: (() => Promise<void>) | undefined;
  let broker: URL;

  /** bulwark.yaml of a home that publishes over RabbitMQ, the password read from the environment. */
  const config = (home: string, extra: string[] = []) =>
    writeFileSync(
      join(home, 'bulwark.yaml'),
      [
        'rpc:',
        '  transport: amqp',
        `  url: ${broker.toString()}`,
        '  password_env: BWK_TEST_AMQP_PASSWORD',
        `  queue: bulwark-events-${randomUUID().slice(0, 8)}`,
        ...extra,
        '',
      ].join('\n'),
    );

  const statusOf = (checkpointId: string, status: string) =>
    waitFor(
      `checkpoint.${status} of ${checkpointId} on bulwark.events`,
      () => seen.find((s) => s.key === `checkpoint.${status}` && s.event.id === checkpointId)?.event,
      60_000,
      100,
    );

  before(async function () {
    const url = new URL(requireService(this, 'RabbitMQ', amqpUrl()));
    process.env.BWK_TEST_AMQP_PASSWORD = decodeURIComponent(url.password);
    url.password = '';
    broker = url;
    listener = await AmqpTransport.connect(
      amqpUrl(),
      createLogger(() => undefined, 'error'),
    );
    unsubscribe = await listener.subscribe('checkpoint.#', (key, event) => seen.push({ key, event: event as StatusEvent }));
  });
  after(async () => {
    await Promise.all(daemons.map((d) => d.stop().catch(() => undefined)));
    await unsubscribe?.();
    await listener?.close();
    delete process.env.BWK_TEST_AMQP_PASSWORD;
    for (const h of homes) h.cleanup();
  });

  /** A running `bulwark serve` of homes[0] and a POST through its API. */
  let serve: Daemon | undefined;
  let post: (path: string, body: unknown) => Promise<Record<string, { id: string }>>;

  it("bulwark serve publishes a protect's start and end, with project, provider, plan and checkpoint", async () => {
    const home = homes[0]!.path;
    config(home);
    allowAll(home, ['events']);
    writeRecorderProvider(home, { id: PROVIDER });
    serve = await startDaemon(home, ['serve', '--port', '0'], /"url":"[^"]+"/);
    daemons.push(serve);
    const url = (JSON.parse(/\{"url".*\}/.exec(serve.output())![0]) as { url: string }).url;
    const token = (await cliJson<{ token: string }>(home, ['token', 'create', '--project', 'events', '--role', 'member'])).token;
    post = async (path, body) =>
      (await (
        await fetch(`${url}${path}`, {
          method: 'POST',
          headers: { 'x-auth-token': token, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        })
      ).json()) as Record<string, { id: string }>;
    const plan = (
      await post('/v1/events/plans', { plan: { name: 'ev', provider_id: PROVIDER, resources: [{ type: 'test.recorder', id: 'a' }] } })
    ).plan!;
    const checkpoint = (await post(`/v1/events/providers/${PROVIDER}/checkpoints`, { checkpoint: { plan_id: plan.id } })).checkpoint!;
    const subject = { project_id: 'events', provider_id: PROVIDER, plan_id: plan.id, checkpoint_id: checkpoint.id };
    expect(await statusOf(checkpoint.id, 'protecting')).to.deep.include({ id: checkpoint.id, kind: 'protect', ...subject });
    expect(await statusOf(checkpoint.id, 'available')).to.deep.equal({
      id: checkpoint.id,
      kind: 'protect',
      status: 'available',
      ...subject,
    });
  });

  it('bulwark serve stopped mid-protect still publishes how that protect ended', async () => {
    const slow = { 'test.recorder': { delay_ms: 60_000 } };
    const plan = (
      await post('/v1/events/plans', {
        plan: { name: 'slow', provider_id: PROVIDER, resources: [{ type: 'test.recorder', id: 'b' }], parameters: slow },
      })
    ).plan!;
    const checkpoint = (await post(`/v1/events/providers/${PROVIDER}/checkpoints`, { checkpoint: { plan_id: plan.id } })).checkpoint!;
    await statusOf(checkpoint.id, 'protecting');
    expect(await serve!.stop()).to.equal(0);
    const ended = await statusOf(checkpoint.id, 'error');
    expect(ended).to.include({ id: checkpoint.id, kind: 'protect', status: 'error', project_id: 'events', plan_id: plan.id });
    expect(ended.reason).to.match(/^BWK_ERR_OPERATION_CANCELLED/);
  });

  it('a Temporal worker publishes the operations it finishes, though the CLI that started them has no broker', async function () {
    const address = requireService(this, 'Temporal (TEMPORAL_ADDRESS)', temporalAddress());
    const home = homes[1]!.path;
    config(home, ['engine: temporal', 'temporal:', `  address: ${address}`, `  task_queue: bulwark-events-${randomUUID().slice(0, 8)}`]);
    writeRecorderProvider(home, { id: PROVIDER });
    daemons.push(await startDaemon(home, ['worker'], /serving task queue/));
    const plan = await cliJson<{ id: string }>(home, [
      'plan',
      'create',
      '--name',
      'ev',
      '--provider',
      PROVIDER,
      '--resource',
      'test.recorder=a',
    ]);
    const checkpoint = await cliJson<{ id: string; status: string; project_id: string }>(home, ['checkpoint', 'create', '--plan', plan.id]);
    expect(checkpoint.status).to.equal('available');
    expect(await statusOf(checkpoint.id, 'available')).to.deep.equal({
      id: checkpoint.id,
      kind: 'protect',
      status: 'available',
      project_id: checkpoint.project_id,
      provider_id: PROVIDER,
      plan_id: plan.id,
      checkpoint_id: checkpoint.id,
    });
  });
});
