/**
 * The scheduled-operation type `copy` on an embedded app: the event chain "after protect → copy" copies
 * each new checkpoint once into the second provider's bank (never a copy of a copy, also when the
 * engine scans for missed events), its retention judges only the copies it made, and a time-triggered
 * copy takes the plan's newest available checkpoint.
 */
import { expect } from 'chai';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../src/common/logging.js';
import { OperationEngine } from '../../src/operation-engine/engine.js';
import { SoloLeader } from '../../src/operation-engine/leader.js';
import { CatalogScheduling } from '../../src/operation-engine/scheduling.js';
import { openBulwark, type BulwarkApp } from '../../src/processes/app.js';
import type { RequestContext } from '../../src/protection-manager/request.js';
import type { OperationLogRecord } from '../../src/store/scheduling-records.js';
import { RECORDER_PLUGIN, tempDir } from '../helpers/paths.js';
import { allowAll } from '../helpers/scopes.js';
import { sleep } from '../helpers/wait.js';
import { TEST_PROVIDER_ID, writeRecorderProvider } from '../helpers/test-provider.js';

const SECOND_ID = '5e7e57e5-0000-4000-8000-00000000c0b7';

describe('operation engine: scheduled copy', function () {
  this.timeout(120_000);
  const home = tempDir('op-engine-copy');
  let app: BulwarkApp;
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
      now: () => Date.now(),
    });
  const logsOf = (id: string): Promise<OperationLogRecord[]> =>
    scheduling.listOperationLogs(ctx, { scheduled_operation_id: id, sort: 'asc', limit: 1000 });
  async function settle(engine: OperationEngine): Promise<void> {
    for (let i = 0; i < 400; i++) {
      await engine.tick();
      if ((await app.store.scheduling.activeRuns(10)).length === 0) return;
      await sleep(25);
    }
    throw new Error('runs still unfinished');
  }
  const plan = async (): Promise<string> =>
    (
      await app.manager.createPlan(ctx, {
        name: `p-${Math.random()}`,
        provider_id: TEST_PROVIDER_ID,
        resources: [{ type: 'test.recorder', id: 'x' }],
      })
    ).id;
  const copiesIn = async (planId: string) =>
    (await app.manager.listCheckpoints(ctx, { planId, providerId: SECOND_ID })).filter((c) => c.extra_info.copy_of);

  before(async () => {
    writeFileSync(join(home.path, 'bulwark.yaml'), 'operation_engine: {poll_interval_ms: 20, event_scan_interval_ms: 100}\n');
    writeRecorderProvider(home.path);
    mkdirSync(join(home.path, 'providers'), { recursive: true });
    writeFileSync(
      join(home.path, 'providers', 'second.yaml'),
      [
        `id: ${SECOND_ID}`,
        'name: second',
        'plugins:',
        '  - name: test.recorder',
        `    module: ${JSON.stringify(RECORDER_PLUGIN)}`,
        'bank:',
        '  type: fs',
        '  options: {path: bank-second}',
        '',
      ].join('\n'),
    );
    allowAll(home.path, ['default']);
    app = await openBulwark(home.path);
    scheduling = new CatalogScheduling({ store: app.store, service: app.manager, config: app.config, now: () => Date.now() });
  });
  after(async () => {
    await app.close();
    home.cleanup();
  });

  it('copies each new checkpoint once after its protect, keeping max_backups of its copies and every source', async () => {
    const planId = await plan();
    const trigger = await scheduling.createTrigger(ctx, {
      name: 'on protect',
      type: 'event',
      properties: { event: 'checkpoint.available' },
    });
    const op = await scheduling.createScheduledOperation(ctx, {
      name: 'second copy',
      operation_type: 'copy',
      trigger_id: trigger.id,
      operation_definition: { plan_id: planId, to_provider_id: 'second', max_backups: 2 },
    });
    const engine = newEngine();
    engine.start();
    const sources: string[] = [];
    try {
      for (let n = 0; n < 3; n++) {
        const h = await app.manager.protect(ctx, planId);
        await h.done;
        sources.push(h.id);
        for (let i = 0; i < 400 && !(await logsOf(op.id)).some((l) => l.checkpoint_id === h.id && l.status === 'success'); i++)
          await sleep(25);
      }
    } finally {
      await engine.stop();
    }
    const later = newEngine();
    await settle(later);
    await sleep(200);
    await settle(later); // the scan for missed events copies nothing again, and no copy of a copy
    const logs = await logsOf(op.id);
    expect(logs.map((l) => [l.checkpoint_id, l.status])).to.deep.equal(sources.map((id) => [id, 'success']));
    const copies = await copiesIn(planId);
    // Retention judged the copies: the oldest went, the newest two stay; every source stays.
    expect(copies.map((c) => (c.extra_info.copy_of as { checkpoint_id: string }).checkpoint_id).sort()).to.deep.equal(
      sources.slice(1).sort(),
    );
    for (const c of copies) expect(c.extra_info.scheduled_operation_id).to.equal(op.id);
    const deleted = logs.flatMap((l) => ((l.extra_info.retention as { deleted?: { id: string }[] }) ?? {}).deleted ?? []);
    expect(deleted).to.have.length(1);
    for (const id of sources) expect((await app.manager.showCheckpoint(ctx, id)).status).to.equal('available');
  });

  it('a time-triggered copy (run now) copies the plan newest available checkpoint', async () => {
    const planId = await plan();
    await (
      await app.manager.protect(ctx, planId)
    ).done;
    const newest = await app.manager.protect(ctx, planId);
    await newest.done;
    const trigger = await scheduling.createTrigger(ctx, { name: 'nightly', type: 'time', properties: { pattern: '0 3 * * *' } });
    const op = await scheduling.createScheduledOperation(ctx, {
      name: 'nightly copy',
      operation_type: 'copy',
      trigger_id: trigger.id,
      operation_definition: { plan_id: planId, to_provider_id: SECOND_ID },
    });
    await scheduling.runScheduledOperation(ctx, op.id);
    await settle(newEngine());
    const [log] = await logsOf(op.id);
    expect(log?.status, log?.error_info ?? '').to.equal('success');
    const copy = log!.extra_info.copy as { checkpoint_id: string; source_checkpoint_id: string };
    expect(copy.source_checkpoint_id).to.equal(newest.id);
    const record = await app.manager.showCheckpoint(ctx, copy.checkpoint_id);
    expect(record.provider_id).to.equal(SECOND_ID);
    expect(record.status).to.equal('available');
  });

  it('refuses a copy definition without its target, naming the field', async () => {
    const trigger = await scheduling.createTrigger(ctx, { name: 'any', type: 'time', properties: { pattern: '0 4 * * *' } });
    try {
      await scheduling.createScheduledOperation(ctx, {
        name: 'no target',
        operation_type: 'copy',
        trigger_id: trigger.id,
        operation_definition: { plan_id: await plan() },
      });
      expect.fail('accepted');
    } catch (err) {
      expect((err as { code: string }).code).to.equal('BWK_ERR_SCHEDULED_OPERATION_INVALID');
      expect((err as Error).message).to.include('to_provider_id');
    }
  });
});
