/**
 * Exactly once across instances and failures, on real services: three `bulwark operation-engine`
 * processes on a PostgreSQL catalog, electing a leader in a private Redis, calling a
 * `bulwark protection-service` over RabbitMQ. A trigger is due every 2 s for 2 minutes; midway the
 * leading engine is SIGKILLed (and restarted), and later Redis is stopped for 10 s. Every due time
 * must have run exactly once — or be logged dropped_out_of_window with its reason — and no due time
 * may have made two checkpoints.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CatalogScheduling } from '../../src/operation-engine/scheduling.js';
import { openBulwark, type BulwarkApp } from '../../src/processes/app.js';
import type { RequestContext } from '../../src/protection-manager/request.js';
import { tempDir } from '../helpers/paths.js';
import { createTempDatabase, type TempDatabase } from '../helpers/pg-database.js';
import { redisServerBinary, startPrivateRedis, type PrivateRedis } from '../helpers/private-redis.js';
import { startDaemon, type Daemon } from '../helpers/processes.js';
import { amqpUrl, pgUrl, requirePrerequisite, requireService } from '../helpers/services.js';
import { TEST_PROVIDER_ID, writeRecorderProvider } from '../helpers/test-provider.js';
import { sleep, waitFor } from '../helpers/wait.js';

const LEADER_KEY = `bulwark-test:${randomUUID()}`;
const SPAN_S = 120;
const EVERY_S = 2;

describe('e2e: operation engine HA (3 engines, PostgreSQL, Redis, RabbitMQ)', function () {
  this.timeout(400_000);
  const home = tempDir('op-ha');
  const hooks = join(home.path, 'hooks.log');
  let db: TempDatabase;
  let redis: PrivateRedis;
  let app: BulwarkApp;
  const service: Daemon[] = [];
  const engines: Daemon[] = [];
  const ctx: RequestContext = { projectId: 'default', admin: false };

  before(async function () {
    const broker = new URL(requireService(this, 'RabbitMQ', amqpUrl()));
    const server = requireService(this, 'PostgreSQL', pgUrl());
    redis = await startPrivateRedis(requirePrerequisite(this, 'redis-server', redisServerBinary()));
    db = await createTempDatabase(server);
    process.env.BWK_TEST_AMQP_PASSWORD = decodeURIComponent(broker.password);
    broker.password = '';
    writeFileSync(hooks, '');
    writeFileSync(
      join(home.path, 'bulwark.yaml'),
      [
        `catalog: {url: '${db.url}'}`,
        'rpc:',
        '  transport: amqp',
        `  url: ${broker.toString()}`,
        '  password_env: BWK_TEST_AMQP_PASSWORD',
        `  queue: bulwark-ha-${randomUUID().slice(0, 8)}`,
        'operation_engine:',
        `  redis_url: ${redis.url}`,
        `  leader_key: '${LEADER_KEY}'`,
        '  tick_interval_ms: 200',
        '  leader_lease_ttl_ms: 3000',
        '  poll_interval_ms: 300',
        '  min_interval_ms: 1000',
        '  window_min_seconds: 1',
        '',
      ].join('\n'),
    );
    writeRecorderProvider(home.path, { logFile: hooks });
    app = await openBulwark(home.path);
    service.push(await startDaemon(home.path, ['protection-service'], /"ready":true/));
    for (let i = 0; i < 3; i++) engines.push(await startDaemon(home.path, ['operation-engine'], /"ready":true/));
  });

  after(async () => {
    await Promise.all([...engines, ...service].map((d) => d.stop().catch(() => undefined)));
    await app?.close();
    await redis?.stop();
    await db?.drop().catch(() => undefined);
    delete process.env.BWK_TEST_AMQP_PASSWORD;
    home.cleanup();
  });

  /** The pid in the leader lease's value (host:pid:uuid), or undefined while nobody leads. */
  const leaderPid = (): number | undefined => {
    const value = spawnSync('redis-cli', ['-p', String(redis.port), 'get', LEADER_KEY], { encoding: 'utf8' }).stdout.trim();
    const pid = Number(value.split(':')[1]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  };

  it('runs every due time of a 2-second trigger exactly once through a leader kill and a Redis outage', async () => {
    const plan = await app.manager.createPlan(ctx, {
      name: 'ha',
      provider_id: TEST_PROVIDER_ID,
      resources: [{ type: 'test.recorder', id: 'x' }],
    });
    const scheduling = new CatalogScheduling({ store: app.store, service: app.manager, config: app.config });
    const start = Math.ceil(Date.now() / 1000) * 1000 + 8000;
    const end = start + SPAN_S * 1000;
    const trigger = await scheduling.createTrigger(ctx, {
      name: 'every 2 s',
      type: 'time',
      properties: {
        format: 'calendar',
        pattern: `BEGIN:VEVENT\nRRULE:FREQ=SECONDLY;INTERVAL=${EVERY_S}\nEND:VEVENT`,
        start_time: new Date(start).toISOString(),
        end_time: new Date(end).toISOString(),
        window: 30,
      },
    });
    const op = await scheduling.createScheduledOperation(ctx, {
      name: 'ha protect',
      operation_type: 'protect',
      trigger_id: trigger.id,
      operation_definition: { plan_id: plan.id },
      // A fire claimed late (while the leader changed) may meet its predecessor still running: queued, not skipped.
      overlap: 'queue',
    });

    // Midway: kill whichever engine leads, and start a new one in its place.
    await sleep(start + 40_000 - Date.now());
    const pid = await waitFor('a leader', () => leaderPid(), 10_000, 100);
    const victim = engines.findIndex((e) => e.pid === pid);
    expect(victim, `leader pid ${pid} is one of the engines`).to.be.at.least(0);
    await engines[victim]!.kill();
    await sleep(2000);
    engines[victim] = await startDaemon(home.path, ['operation-engine'], /"ready":true/);
    await waitFor('a new leader', () => (leaderPid() !== pid ? leaderPid() : undefined), 15_000, 100);

    // Later: Redis goes away for 10 s (and comes back empty: it keeps nothing).
    await sleep(start + 70_000 - Date.now());
    await redis.stop();
    await sleep(10_000);
    await redis.start();

    await sleep(end + 2000 - Date.now());
    await waitFor(
      'every run to end',
      async () => ((await app.store.scheduling.activeRuns(10)).length === 0 ? true : undefined),
      120_000,
      500,
    );

    const dues: string[] = [];
    for (let t = start; t <= end; t += EVERY_S * 1000) dues.push(new Date(t).toISOString());
    const logs = await scheduling.listOperationLogs(ctx, { scheduled_operation_id: op.id, limit: 1000 });
    expect(logs.map((l) => l.due_at).sort(), 'one log per due time, no more').to.deep.equal(dues);
    const dropped = logs.filter((l) => l.status === 'dropped_out_of_window');
    for (const l of dropped) expect(l.error_info, `reason of ${l.due_at}`).to.match(/window/);
    const ran = logs.filter((l) => l.status === 'success');
    expect(
      ran.length + dropped.length,
      JSON.stringify(logs.filter((l) => !['success', 'dropped_out_of_window'].includes(l.status))),
    ).to.equal(dues.length);
    const checkpoints = await app.manager.listCheckpoints(ctx, { planId: plan.id, limit: 1000 });
    const byDue = new Map<string, number>();
    for (const c of checkpoints) byDue.set(String(c.extra_info.due_at), (byDue.get(String(c.extra_info.due_at)) ?? 0) + 1);
    expect(
      [...byDue.values()].every((n) => n === 1),
      'no due time made two checkpoints',
    ).to.equal(true);
    expect([...byDue.keys()].sort()).to.deep.equal(ran.map((l) => l.due_at).sort());
    expect(checkpoints.every((c) => c.status === 'available')).to.equal(true);
    const mains = readFileSync(hooks, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('protect x main '));
    expect(mains, 'one data step per checkpoint: no fire ran twice').to.have.length(ran.length);
    console.log(`      ${dues.length} due times: ${ran.length} ran once, ${dropped.length} dropped out of their window`);
  });
});
