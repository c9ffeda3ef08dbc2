/**
 * Scheduled bank upkeep (bank_check, bank_gc) on an embedded app, with an injected clock and ticks
 * driven by the test: each run's log ends with the report in extra_info (error with what a check
 * found in a corrupted bank), a long call never holds up the engine's tick, a run no instance waits on
 * any more is logged error once no reply can come, and only admins may schedule bank upkeep.
 */
import { expect } from 'chai';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckReport } from '../../src/bank/chunks/check.js';
import type { GcReport } from '../../src/bank/chunks/gc.js';
import { createLogger } from '../../src/common/logging.js';
import { OperationEngine } from '../../src/operation-engine/engine.js';
import { SoloLeader } from '../../src/operation-engine/leader.js';
import { CatalogScheduling } from '../../src/operation-engine/scheduling.js';
import { openBulwark, type BulwarkApp } from '../../src/processes/app.js';
import type { RequestContext } from '../../src/protection-manager/request.js';
import type { ProtectionService } from '../../src/protection-manager/service.js';
import type { OperationLogRecord } from '../../src/store/scheduling-records.js';
import { rejectsWith } from '../contracts/bank.contract.js';
import { flipChunkByte, homeBank, resourceSectionPrefix } from '../helpers/bank-files.js';
import { tempDir } from '../helpers/paths.js';
import { TEST_PROVIDER_ID, writeRecorderProvider } from '../helpers/test-provider.js';
import { sleep } from '../helpers/wait.js';

const MIN = 60_000;
const FS = 'cf56bd3e-97a7-4078-b6d5-f36246333fd9';

/** A promise the test settles, and whether anything waits on it yet. */
function gate(): { wait: Promise<void>; open(): void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait, open };
}

describe('operation engine: scheduled bank_check and bank_gc (embedded, injected clock)', function () {
  this.timeout(120_000);
  let home: ReturnType<typeof tempDir>;
  let data: ReturnType<typeof tempDir>;
  let app: BulwarkApp;
  let clock: number;
  let scheduling: CatalogScheduling;
  let checkpointId = '';
  const admin: RequestContext = { projectId: 'default', admin: true };
  const member: RequestContext = { projectId: 'default', admin: false };
  const quiet = createLogger(() => undefined, 'error');

  const newEngine = (service: ProtectionService = app.manager, bankRunTimeoutMs?: number) =>
    new OperationEngine({
      store: app.store,
      service,
      events: app.events,
      leader: new SoloLeader(),
      config: app.config.operation_engine,
      logger: quiet,
      now: () => clock,
      ...(bankRunTimeoutMs !== undefined ? { bankRunTimeoutMs } : {}),
    });

  /** Ticks `engine` until no run is unfinished. */
  async function settle(engine: OperationEngine): Promise<void> {
    for (let i = 0; i < 400; i++) {
      await engine.tick();
      if ((await app.store.scheduling.activeRuns(10)).length === 0) return;
      await sleep(25);
    }
    throw new Error(`runs still unfinished: ${JSON.stringify(await app.store.scheduling.activeRuns(10))}`);
  }

  const logsOf = async (scheduledOperationId: string): Promise<OperationLogRecord[]> =>
    scheduling.listOperationLogs(admin, { scheduled_operation_id: scheduledOperationId, sort: 'asc', limit: 1000 });

  const everyMinute = async (): Promise<string> =>
    (await scheduling.createTrigger(admin, { name: 'every minute', type: 'time', properties: { pattern: '* * * * *', window: 300 } })).id;

  async function schedule(type: 'bank_check' | 'bank_gc', definition: Record<string, unknown>): Promise<string> {
    const op = await scheduling.createScheduledOperation(admin, {
      name: `${type}-${Math.random()}`,
      operation_type: type,
      trigger_id: await everyMinute(),
      operation_definition: definition,
    });
    expect(op.provider_id).to.equal(FS);
    expect(op.plan_id).to.equal(null);
    return op.id;
  }

  /** Ticks `engine` until the run of `scheduledOperationId` is started (its call made), and checks it is still running. */
  async function startedBy(engine: OperationEngine, scheduledOperationId: string): Promise<void> {
    for (let i = 0; i < 100 && !(await logsOf(scheduledOperationId))[0]?.started_at; i++) await engine.tick();
    const [log] = await logsOf(scheduledOperationId);
    expect(log!.started_at).to.be.a('string');
    expect(log!.status).to.equal('running');
  }

  /** `service` with checkBank held until the gate opens. */
  function heldChecks(held: { wait: Promise<void> }, started: () => void): ProtectionService {
    return new Proxy(app.manager, {
      get(target, prop, receiver) {
        if (prop === 'checkBank')
          return async (ctx: RequestContext, input: Parameters<ProtectionService['checkBank']>[1]) => {
            started();
            await held.wait;
            return target.checkBank(ctx, input);
          };
        const value = Reflect.get(target, prop, receiver) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  before(async () => {
    home = tempDir('op-engine-bank');
    data = tempDir('op-engine-bank-data');
    writeFileSync(
      join(home.path, 'bulwark.yaml'),
      'operation_engine: {min_interval_ms: 1000, window_min_seconds: 1, poll_interval_ms: 20, event_scan_interval_ms: 100}\n',
    );
    writeRecorderProvider(home.path);
    writeFileSync(join(data.path, 'a.txt'), 'alpha\n');
    mkdirSync(join(data.path, 'sub'));
    writeFileSync(join(data.path, 'sub', 'b.bin'), Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7) % 256)));
    app = await openBulwark(home.path);
    clock = Date.now();
    scheduling = new CatalogScheduling({ store: app.store, service: app.manager, config: app.config, now: () => clock });
    const plan = await app.manager.createPlan(member, {
      name: 'data',
      provider_id: FS,
      resources: [{ type: 'fs.directory', id: data.path }],
    });
    const handle = await app.manager.protect(member, plan.id);
    expect((await handle.done).record.status).to.equal('available');
    checkpointId = handle.id;
  });
  after(async () => {
    await app.close();
    home.cleanup();
    data.cleanup();
  });

  it('a member cannot schedule bank upkeep (BWK_ERR_FORBIDDEN); an admin needs a provider and a time trigger', async () => {
    const trigger = await scheduling.createTrigger(member, { name: 'member trigger', type: 'time', properties: { pattern: '0 * * * *' } });
    for (const type of ['bank_check', 'bank_gc'])
      await rejectsWith(
        scheduling.createScheduledOperation(member, {
          name: 'not mine',
          operation_type: type,
          trigger_id: trigger.id,
          operation_definition: { provider_id: FS },
        }),
        'BWK_ERR_FORBIDDEN',
      );
    expect(await scheduling.listScheduledOperations(member)).to.deep.equal([]);
    const create = (definition: Record<string, unknown>, triggerId = trigger.id) =>
      scheduling.createScheduledOperation(admin, {
        name: 'bad',
        operation_type: 'bank_check',
        trigger_id: triggerId,
        operation_definition: definition,
      });
    await rejectsWith(create({}), 'BWK_ERR_SCHEDULED_OPERATION_INVALID');
    await rejectsWith(create({ provider_id: FS, read_data_percent: 101 }), 'BWK_ERR_SCHEDULED_OPERATION_INVALID');
    await rejectsWith(create({ provider_id: FS, plan_id: checkpointId }), 'BWK_ERR_SCHEDULED_OPERATION_INVALID');
    const event = await scheduling.createTrigger(admin, {
      name: 'on protect',
      type: 'event',
      properties: { event: 'checkpoint.available' },
    });
    await rejectsWith(create({ provider_id: FS }, event.id), 'BWK_ERR_SCHEDULED_OPERATION_INVALID');
  });

  it('runs a scheduled bank_check and bank_gc: their logs end success with the report in extra_info', async () => {
    const check = await schedule('bank_check', { provider_id: 'fs-directory', read_data_percent: '100' }); // Karbor's client sends strings
    const structure = await schedule('bank_check', { provider_id: FS });
    const gc = await schedule('bank_gc', { provider_id: FS });
    const engine = newEngine();
    clock += MIN;
    await settle(engine);
    for (const id of [check, structure, gc]) {
      const logs = await logsOf(id);
      expect(logs.map((l) => `${l.status} ${l.error_info ?? ''}`)).to.deep.equal(['success ']);
      expect(logs[0]!.provider_id).to.equal(FS);
      expect(logs[0]!.started_at).to.be.a('string');
      expect(logs[0]!.ended_at).to.be.a('string');
    }
    const read = (await logsOf(check))[0]!.extra_info.bank_check as CheckReport;
    expect(read).to.include({ ok: true, corrupt_chunks: 0, missing_chunks: 0 });
    expect(read.packs_read).to.equal(read.packs).and.to.be.greaterThan(0);
    const shallow = (await logsOf(structure))[0]!.extra_info.bank_check as CheckReport;
    expect(shallow).to.include({ ok: true, packs_read: 0 });
    const collected = (await logsOf(gc))[0]!.extra_info.bank_gc as GcReport;
    expect(collected.referenced_chunks).to.equal(read.referenced_chunks);
    for (const id of [check, structure, gc]) await scheduling.suspendScheduledOperation(admin, id);
  });

  it('a check that finds a corrupt chunk ends error, saying what it found, with the report', async () => {
    const op = await schedule('bank_check', { provider_id: FS, read_data_percent: 100 });
    const prefix = resourceSectionPrefix(home.path, checkpointId);
    await flipChunkByte(homeBank(home.path), prefix, 'data');
    try {
      clock += MIN;
      await settle(newEngine());
    } finally {
      await flipChunkByte(homeBank(home.path), prefix, 'data');
    }
    const [log] = await logsOf(op);
    expect(log!.status).to.equal('error');
    expect(log!.error_info).to.equal('bank check found problems: 1 corrupt chunk(s)');
    expect(log!.extra_info.bank_check).to.include({ ok: false, corrupt_chunks: 1 });
    await scheduling.suspendScheduledOperation(admin, op);
  });

  it('never awaits a bank call in its tick: a protect due meanwhile runs to success while the check still runs', async () => {
    const held = gate();
    let calls = 0;
    const engine = newEngine(
      heldChecks(held, () => calls++),
      60 * MIN,
    );
    const check = await schedule('bank_check', { provider_id: FS });
    const plan = await app.manager.createPlan(member, {
      name: 'recorded',
      provider_id: TEST_PROVIDER_ID,
      resources: [{ type: 'test.recorder', id: 'x' }],
    });
    const protect = await scheduling.createScheduledOperation(admin, {
      name: 'protect meanwhile',
      operation_type: 'protect',
      trigger_id: await everyMinute(),
      operation_definition: { plan_id: plan.id },
    });
    clock += MIN;
    for (let i = 0; i < 200 && (await logsOf(protect.id))[0]?.status !== 'success'; i++) {
      await engine.tick();
      await sleep(25);
    }
    expect((await logsOf(protect.id)).map((l) => l.status)).to.deep.equal(['success']);
    expect(calls).to.equal(1);
    expect((await logsOf(check)).map((l) => l.status)).to.deep.equal(['running']);
    held.open();
    await settle(engine);
    expect(calls, 'started once, however many ticks saw it running').to.equal(1);
    expect((await logsOf(check)).map((l) => l.status)).to.deep.equal(['success']);
    await scheduling.suspendScheduledOperation(admin, check);
    await scheduling.suspendScheduledOperation(admin, protect.id);
  });

  it('a run no instance waits on is logged error once its reply can no longer come; a stopped engine logs its own at once', async () => {
    const held = gate();
    const timeout = 10 * MIN;
    const lease = app.config.operation_engine.leader_lease_ttl_ms;
    const check = await schedule('bank_check', { provider_id: FS });
    // Engine A starts the check, then is gone (its process died): it never writes the outcome.
    const a = newEngine(
      heldChecks(held, () => undefined),
      timeout,
    );
    clock += MIN;
    await startedBy(a, check);
    await scheduling.suspendScheduledOperation(admin, check);
    // Engine B leads now: it does not run the check again, and waits as long as A's call could have lasted.
    const b = newEngine(app.manager, timeout);
    clock += timeout;
    await b.tick();
    expect((await logsOf(check)).map((l) => l.status)).to.deep.equal(['running']);
    clock += 2 * lease + 1000;
    await b.tick();
    const [lost] = await logsOf(check);
    expect(lost!.status).to.equal('error');
    expect(lost!.error_info).to.equal("the engine running it stopped; its outcome is unknown — see the protection service's log");
    // A's call ends after all: the log keeps what was decided.
    held.open();
    await sleep(200);
    expect((await logsOf(check))[0]).to.deep.equal(lost);

    // An engine stopped while its call runs says so at once.
    const again = gate();
    const second = await schedule('bank_check', { provider_id: FS });
    const c = newEngine(
      heldChecks(again, () => undefined),
      timeout,
    );
    clock += MIN;
    await startedBy(c, second);
    await c.stop();
    const [stopped] = await logsOf(second);
    expect(stopped!.status).to.equal('error');
    expect(stopped!.error_info).to.match(/^the engine running it stopped/);
    again.open();
    await scheduling.suspendScheduledOperation(admin, second);
  });
});
