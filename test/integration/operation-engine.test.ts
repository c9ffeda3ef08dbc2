/**
 * The operation engine on an embedded app, with an injected clock and ticks driven by the test:
 * missed fires inside and outside their window, exactly once with two instances on one catalog,
 * retention after a retention_protect, the overlap policies, the event chain (also when the engine
 * was not listening), and what a scheduled operation's use of a trigger or plan blocks.
 */
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dump, load } from 'js-yaml';
import { createLogger } from '../../src/common/logging.js';
import { OperationEngine, QUEUE_LIMIT } from '../../src/operation-engine/engine.js';
import { SoloLeader } from '../../src/operation-engine/leader.js';
import { CatalogScheduling } from '../../src/operation-engine/scheduling.js';
import { openBulwark, type BulwarkApp } from '../../src/processes/app.js';
import type { RequestContext } from '../../src/protection-manager/request.js';
import type { OperationLogRecord } from '../../src/store/scheduling-records.js';
import { tempDir } from '../helpers/paths.js';
import { allowAll } from '../helpers/scopes.js';
import { sleep } from '../helpers/wait.js';
import { TEST_PROVIDER_ID, writeRecorderProvider } from '../helpers/test-provider.js';

const MIN = 60_000;

describe('operation engine (embedded, injected clock)', function () {
  this.timeout(120_000);
  let home: ReturnType<typeof tempDir>;
  let app: BulwarkApp;
  let clock: number;
  let scheduling: CatalogScheduling;
  const ctx: RequestContext = { projectId: 'default', admin: false };
  const quiet = createLogger(() => undefined, 'error');

  const newEngine = () =>
    new OperationEngine({
      store: app.store,
      service: app.manager,
      events: app.events,
      leader: new SoloLeader(),
      config: app.config.operation_engine,
      logger: quiet,
      now: () => clock,
    });

  /** Ticks `engines` until no run is unfinished (or only queued ones wait on nothing). */
  async function settle(...engines: OperationEngine[]): Promise<void> {
    for (let i = 0; i < 400; i++) {
      await Promise.all(engines.map((e) => e.tick()));
      if ((await app.store.scheduling.activeRuns(10)).length === 0) return;
      await sleep(25);
    }
    throw new Error(`runs still unfinished: ${JSON.stringify(await app.store.scheduling.activeRuns(10))}`);
  }

  const logsOf = async (scheduledOperationId: string): Promise<OperationLogRecord[]> =>
    scheduling.listOperationLogs(ctx, { scheduled_operation_id: scheduledOperationId, sort: 'asc', limit: 1000 });

  async function plan(delayMs = 0): Promise<string> {
    const p = await app.manager.createPlan(ctx, {
      name: `p-${Math.random()}`,
      provider_id: TEST_PROVIDER_ID,
      resources: [{ type: 'test.recorder', id: 'x' }],
      parameters: { 'test.recorder': { delay_ms: delayMs } },
    });
    return p.id;
  }

  async function everyMinute(window = 90): Promise<string> {
    return (await scheduling.createTrigger(ctx, { name: 'every minute', type: 'time', properties: { pattern: '* * * * *', window } })).id;
  }

  before(async () => {
    home = tempDir('op-engine');
    writeFileSync(
      join(home.path, 'bulwark.yaml'),
      'operation_engine: {min_interval_ms: 1000, window_min_seconds: 1, poll_interval_ms: 20, event_scan_interval_ms: 100}\n',
    );
    writeRecorderProvider(home.path);
    allowAll(home.path, ['default']);
    app = await openBulwark(home.path);
    clock = Date.now();
    scheduling = new CatalogScheduling({ store: app.store, service: app.manager, config: app.config, now: () => clock });
  });
  after(async () => {
    await app.close();
    home.cleanup();
  });

  it('runs each due time once across two instances; missed ones inside the window run, older ones are logged dropped', async () => {
    const start = clock;
    const op = await scheduling.createScheduledOperation(ctx, {
      name: 'nightly',
      operation_type: 'protect',
      trigger_id: await everyMinute(90),
      operation_definition: { plan_id: await plan() },
      // Two missed fires may be inside the window at once: the second waits for the first.
      overlap: 'queue',
    });
    // Every engine was down for ten and a half minutes.
    clock = start + 10 * MIN + 30_000;
    const [a, b] = [newEngine(), newEngine()];
    await settle(a, b);
    await settle(a, b); // and again: nothing runs twice
    const dues: string[] = [];
    for (let t = Math.floor(start / MIN) * MIN + MIN; t <= clock; t += MIN) dues.push(new Date(t).toISOString());
    const logs = (await logsOf(op.id)).sort((x, y) => (x.due_at! < y.due_at! ? -1 : 1));
    expect(logs.map((l) => l.due_at)).to.deep.equal(dues);
    for (const log of logs) {
      const late = clock - Date.parse(log.due_at!);
      if (late > 90_000) {
        expect(log.status, log.due_at!).to.equal('dropped_out_of_window');
        expect(log.error_info).to.match(/window/);
        expect(log.checkpoint_id).to.equal(null);
      } else {
        expect(log.status, `${log.due_at} ${log.error_info}`).to.equal('success');
        const checkpoint = await app.manager.showCheckpoint(ctx, log.checkpoint_id!);
        expect(checkpoint.status).to.equal('available');
        expect(checkpoint.extra_info).to.include({ scheduled_operation_id: op.id, trigger_id: op.trigger_id, due_at: log.due_at });
      }
    }
    expect(logs.filter((l) => l.status === 'success').length).to.be.within(1, 2);
    const made = await app.manager.listCheckpoints(ctx, { planId: op.plan_id!, limit: 100 });
    expect(made.length, 'one checkpoint per fired due time').to.equal(logs.filter((l) => l.status === 'success').length);
  });

  it('retention_protect keeps max_backups of its own checkpoints, never a manual one, and logs each deletion with its rule', async () => {
    const planId = await plan();
    const manual = await app.manager.protect(ctx, planId);
    await manual.done;
    const op = await scheduling.createScheduledOperation(ctx, {
      name: 'keep two',
      operation_type: 'retention_protect',
      trigger_id: await everyMinute(300),
      operation_definition: { plan_id: planId, max_backups: '2' }, // Karbor's client sends strings
    });
    const engine = newEngine();
    for (let i = 0; i < 4; i++) {
      clock += MIN;
      await settle(engine);
    }
    const logs = (await logsOf(op.id)).filter((l) => l.status === 'success');
    expect(logs).to.have.length(4);
    const left = await app.manager.listCheckpoints(ctx, { planId, limit: 100 });
    expect(left.map((c) => c.id).sort()).to.deep.equal([manual.id, logs[2]!.checkpoint_id!, logs[3]!.checkpoint_id!].sort());
    const deleted = logs.flatMap(
      (l) => ((l.extra_info.retention as { deleted: Array<{ id: string; rule: string }> }) ?? { deleted: [] }).deleted,
    );
    expect(deleted).to.deep.equal([
      { id: logs[0]!.checkpoint_id, rule: 'max_backups' },
      { id: logs[1]!.checkpoint_id, rule: 'max_backups' },
    ]);
  });

  it('overlap: skip logs skipped_overlap; queue runs the fire after the previous run ends', async () => {
    const planId = await plan(1500);
    const trigger = await everyMinute(300);
    const skip = await scheduling.createScheduledOperation(ctx, {
      name: 'skip',
      operation_type: 'protect',
      trigger_id: trigger,
      operation_definition: { plan_id: planId },
    });
    const engine = newEngine();
    clock += MIN;
    await engine.tick(); // first fire starts and runs for 1.5 s
    await engine.tick();
    clock += MIN;
    await engine.tick(); // second fire finds the plan busy
    await settle(engine);
    const statuses = (await logsOf(skip.id)).map((l) => l.status);
    expect(statuses).to.deep.equal(['success', 'skipped_overlap']);
    await scheduling.suspendScheduledOperation(ctx, skip.id);

    const queue = await scheduling.createScheduledOperation(ctx, {
      name: 'queue',
      operation_type: 'protect',
      trigger_id: trigger,
      operation_definition: { plan_id: planId },
      overlap: 'queue',
    });
    clock += MIN;
    await engine.tick();
    await engine.tick();
    clock += MIN;
    await engine.tick();
    expect((await logsOf(queue.id)).map((l) => l.status)).to.deep.equal(['running', 'queued']);
    await settle(engine);
    const done = await logsOf(queue.id);
    expect(done.map((l) => l.status)).to.deep.equal(['success', 'success']);
    expect(Date.parse(done[1]!.started_at!)).to.be.at.least(Date.parse(done[0]!.ended_at!));
  });

  it('verifies each available checkpoint of a plan once on its event, also when the engine missed the event', async () => {
    // Checkpoints are stamped with the real time: the operation must not look newer than them.
    clock = Date.now();
    const planId = await plan();
    const trigger = await scheduling.createTrigger(ctx, {
      name: 'on protect',
      type: 'event',
      properties: { event: 'checkpoint.available' },
    });
    const op = await scheduling.createScheduledOperation(ctx, {
      name: 'verify each',
      operation_type: 'verify',
      trigger_id: trigger.id,
      operation_definition: { plan_id: planId },
    });
    const listening = newEngine();
    listening.start();
    const first = await app.manager.protect(ctx, planId);
    await first.done;
    const verifiedOnce = async (checkpointId: string) => {
      for (let i = 0; i < 400; i++) {
        const logs = (await logsOf(op.id)).filter((l) => l.checkpoint_id === checkpointId);
        if (logs.length === 1 && logs[0]!.status === 'success') return logs[0]!;
        expect(logs.length).to.be.at.most(1);
        await sleep(25);
      }
      throw new Error(`no successful verification of ${checkpointId}: ${JSON.stringify(await logsOf(op.id))}`);
    };
    const log = await verifiedOnce(first.id);
    expect((await app.manager.showVerification(ctx, log.verification_id!)).checkpoint_id).to.equal(first.id);
    await listening.stop();

    // No engine listens while this checkpoint becomes available: the scan of recent checkpoints finds it.
    const second = await app.manager.protect(ctx, planId);
    await second.done;
    const later = newEngine();
    await settle(later);
    await sleep(150);
    await settle(later);
    await verifiedOnce(second.id);
    await sleep(150);
    await settle(later); // scanning again verifies nothing twice
    expect((await logsOf(op.id)).map((l) => l.checkpoint_id).sort()).to.deep.equal([first.id, second.id].sort());
  });

  it("a member's scheduled operation fires within the project's resource scope as it is at each fire", async () => {
    const member: RequestContext = { projectId: 'default', admin: false, scoped: true };
    const planId = (
      await app.manager.createPlan(member, {
        name: 'scoped',
        provider_id: TEST_PROVIDER_ID,
        resources: [{ type: 'test.recorder', id: 'x' }],
      })
    ).id;
    const trigger = await everyMinute(300);
    const asMember = await scheduling.createScheduledOperation(member, {
      name: 'member',
      operation_type: 'protect',
      trigger_id: trigger,
      operation_definition: { plan_id: planId },
    });
    // The same resource in a plan of its own (one plan's fires at one due time would overlap).
    const asAdmin = await scheduling.createScheduledOperation(ctx, {
      name: 'admin',
      operation_type: 'protect',
      trigger_id: trigger,
      operation_definition: { plan_id: await plan() },
    });
    expect([asMember.acts_as, asAdmin.acts_as]).to.deep.equal(['member', 'admin']);
    // The operator narrows the project's scope: test.recorder#x is no longer the members' to protect.
    const yaml = join(home.path, 'bulwark.yaml');
    const before = readFileSync(yaml, 'utf8');
    const doc = load(before) as { scopes: Record<string, Record<string, { protect: string[] }>> };
    doc.scopes.default!['test.recorder']!.protect = ['y'];
    writeFileSync(yaml, dump(doc));
    app.scopes.reload(home.path);
    try {
      const engine = newEngine();
      clock += MIN;
      await settle(engine);
      const [denied] = await logsOf(asMember.id);
      expect(denied).to.include({ status: 'error' });
      expect(denied!.error_info).to.match(/BWK_ERR_RESOURCE_DENIED|may not protect/);
      expect((await logsOf(asAdmin.id)).map((l) => l.status)).to.deep.equal(['success']);
    } finally {
      writeFileSync(yaml, before);
      app.scopes.reload(home.path);
      await scheduling.deleteScheduledOperation(ctx, asMember.id);
      await scheduling.deleteScheduledOperation(ctx, asAdmin.id);
    }
  });

  it('settles a run whose record never came, keeps one queued fire, and guards bank upkeep and triggers', async () => {
    // A manual operation whose start died with its process: no record ever; after the grace, over.
    const orphan = randomUUID();
    const at = new Date(clock - 11 * MIN).toISOString();
    await app.store.scheduling.insertLog({
      id: orphan,
      project_id: 'default',
      scheduled_operation_id: null,
      trigger_id: null,
      fire_key: null,
      operation_type: 'protect',
      plan_id: null,
      provider_id: TEST_PROVIDER_ID,
      checkpoint_id: orphan,
      restore_id: null,
      verification_id: null,
      due_at: null,
      status: 'running',
      phase: 'started',
      error_info: null,
      started_at: at,
      ended_at: null,
      extra_info: {},
      token_id: null,
      client_address: null,
      created_at: at,
      updated_at: at,
    });
    const engine = newEngine();
    await settle(engine);
    expect(await scheduling.showOperationLog(ctx, orphan)).to.include({
      status: 'error',
      error_info: 'its operation record is gone (deleted, or never made)',
    });

    // A plan stuck behind a long run: a bounded number of fires wait, later ones are skipped rather than piled up.
    const planId = await plan(3000);
    const queue = await scheduling.createScheduledOperation(ctx, {
      name: 'queue bounded',
      operation_type: 'protect',
      trigger_id: await everyMinute(3600),
      operation_definition: { plan_id: planId },
      overlap: 'queue',
    });
    clock += MIN;
    await engine.tick();
    await engine.tick();
    clock += (QUEUE_LIMIT + 2) * MIN;
    await engine.tick();
    const counts = (await logsOf(queue.id)).reduce<Record<string, number>>((n, l) => ({ ...n, [l.status]: (n[l.status] ?? 0) + 1 }), {});
    expect(counts).to.deep.equal({ running: 1, queued: QUEUE_LIMIT, skipped_overlap: 2 });
    // Deleted, its waiting fires end as errors that say so, without running.
    await scheduling.deleteScheduledOperation(ctx, queue.id);
    await settle(engine);
    expect((await logsOf(queue.id)).filter((l) => l.error_info === 'its scheduled operation was deleted')).to.have.length(QUEUE_LIMIT);

    // Bank upkeep an admin scheduled is not a member's to run, suspend or delete.
    const admin: RequestContext = { projectId: 'default', admin: true };
    const member: RequestContext = { projectId: 'default', admin: false, scoped: true };
    const gc = await scheduling.createScheduledOperation(admin, {
      name: 'gc',
      operation_type: 'bank_gc',
      trigger_id: await everyMinute(600),
      operation_definition: { provider_id: TEST_PROVIDER_ID },
    });
    for (const attempt of [
      () => scheduling.runScheduledOperation(member, gc.id),
      () => scheduling.suspendScheduledOperation(member, gc.id),
      () => scheduling.deleteScheduledOperation(member, gc.id),
    ])
      expect(
        await attempt().then(
          () => 'ok',
          (err: { code?: string }) => err.code,
        ),
      ).to.equal('BWK_ERR_FORBIDDEN');
    await scheduling.deleteScheduledOperation(admin, gc.id);

    // An admin acting across projects still schedules in one project with that project's trigger.
    const theirs = await scheduling.createTrigger(
      { projectId: 'other', admin: false },
      { name: 't', type: 'time', properties: { pattern: '0 3 * * *' } },
    );
    const across: RequestContext = { projectId: 'default', admin: true, allProjects: true };
    const refused = await scheduling
      .createScheduledOperation(across, {
        name: 'x',
        operation_type: 'protect',
        trigger_id: theirs.id,
        operation_definition: { plan_id: planId },
      })
      .then(
        () => 'ok',
        (err: { code?: string }) => err.code,
      );
    expect(refused).to.equal('BWK_ERR_TRIGGER_NOT_FOUND');
  });

  it('refuses to delete a trigger or plan a scheduled operation uses (409 naming it); suspended operations do not fire', async () => {
    const planId = await plan();
    const trigger = await everyMinute(300);
    const op = await scheduling.createScheduledOperation(ctx, {
      name: 'blocker',
      operation_type: 'protect',
      trigger_id: trigger,
      operation_definition: { plan_id: planId },
    });
    const codeOf = async (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (err: { code?: string; message: string }) => `${err.code}: ${err.message}`,
      );
    expect(await codeOf(scheduling.deleteTrigger(ctx, trigger))).to.match(new RegExp(`^BWK_ERR_TRIGGER_IN_USE: .*${op.id}`));
    expect(await codeOf(app.manager.deletePlan(ctx, planId))).to.match(new RegExp(`^BWK_ERR_PLAN_IN_USE: .*${op.id}`));
    await scheduling.suspendScheduledOperation(ctx, op.id);
    const engine = newEngine();
    clock += 3 * MIN;
    await settle(engine);
    expect(await logsOf(op.id)).to.deep.equal([]);
    // Resumed, it fires from the next due time: the three due while suspended are not run.
    await scheduling.resumeScheduledOperation(ctx, op.id);
    clock += MIN;
    await settle(engine);
    expect((await logsOf(op.id)).map((l) => l.status)).to.deep.equal(['success']);
    await scheduling.deleteScheduledOperation(ctx, op.id);
    await scheduling.deleteTrigger(ctx, trigger);
    await app.manager.deletePlan(ctx, planId);
  });
});
