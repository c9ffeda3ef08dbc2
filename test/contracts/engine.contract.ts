import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BulwarkApp } from '../../src/processes/app.js';
import { openBulwark } from '../../src/processes/app.js';
import type { RequestContext } from '../../src/protection-manager/request.js';
import { tempDir } from '../helpers/paths.js';
import { requireService } from '../helpers/services.js';
import { TEST_PROVIDER_ID, writeRecorderProvider } from '../helpers/test-provider.js';

/**
 * The operation suite every engine must pass (local now, temporal next): protect, restore, verify and
 * delete through the ProtectionManager, with hook ordering, failures, retries, timeouts and
 * cancellation observed through a real plugin loaded by path. `engineConfig` is the engine part of
 * bulwark.yaml (YAML text) for the engine under test.
 */
export function describeEngineContract(
  name: string,
  engineConfig: string,
  options: {
    requires?: string;
    /** The provider's bank (`{type, options}`), made fresh for every test; the home's fs bank by default. */
    bank?: () => Record<string, unknown>;
    /** Runs first (a service check that may skip the suite). */
    before?: (ctx: Mocha.Context) => Promise<void>;
  } = {},
): void {
  describe(`engine contract: ${name}`, function () {
    this.timeout(60_000);
    before(async function () {
      if (options.requires) requireService(this, options.requires, process.env[options.requires]);
      await options.before?.(this);
    });
    const ctx: RequestContext = { projectId: 'default', admin: false };
    let home: ReturnType<typeof tempDir>;
    let log: string;
    let app: BulwarkApp;

    // a → b, c; b → d  (a is the parent of b and c; d depends on b)
    const dependents = { a: ['b', 'c'], b: ['d'] };
    const open = async (extra = '') => {
      writeFileSync(join(home.path, 'bulwark.yaml'), `${engineConfig}\n${extra}`);
      app = await openBulwark(home.path);
    };
    const lines = () =>
      readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .map((l) => l.split(' '))
        .map(([kind, id, hook]) => ({ kind: kind!, id: id!, hook: hook! }));
    const position = (kind: string, id: string, hook: string) =>
      lines().findIndex((l) => l.kind === kind && l.id === id && l.hook === hook);
    const plan = (parameters: Record<string, unknown> = {}) =>
      app.manager.createPlan(ctx, {
        name: 'contract',
        provider_id: TEST_PROVIDER_ID,
        resources: [{ type: 'test.recorder', id: 'a' }],
        parameters,
      });

    beforeEach(async () => {
      home = tempDir('engine');
      log = join(home.path, 'hooks.log');
      writeFileSync(log, '');
      writeRecorderProvider(home.path, { logFile: log, dependents, ...(options.bank ? { bank: options.bank() } : {}) });
    });
    afterEach(async () => {
      await app?.close();
      home.cleanup();
    });

    it('protects a resource graph in Karbor hook order and ends available', async () => {
      await open('tasks: {max_parallel: 3}');
      const p = await plan();
      const { record } = await (await app.manager.protect(ctx, p.id)).done;
      expect(record.status).to.equal('available');
      expect(record.resource_graph?.nodes.map((n) => n.id)).to.deep.equal(['a', 'b', 'c', 'd']);
      expect(record.extra_info.resources_status).to.deep.equal({
        'test.recorder#a': 'available',
        'test.recorder#b': 'available',
        'test.recorder#c': 'available',
        'test.recorder#d': 'available',
      });
      const before = (x: [string, string], y: [string, string]) =>
        expect(position('protect', ...x), `${x} before ${y}`).to.be.lessThan(position('protect', ...y));
      for (const id of ['a', 'b', 'c', 'd']) {
        before([id, 'prepare_begin'], [id, 'prepare_finish']);
        before([id, 'prepare_finish'], [id, 'main']);
        before([id, 'main'], [id, 'complete']);
      }
      for (const [parent, child] of [
        ['a', 'b'],
        ['a', 'c'],
        ['b', 'd'],
      ] as const) {
        before([parent, 'prepare_begin'], [child, 'prepare_begin']);
        before([child, 'prepare_finish'], [parent, 'prepare_finish']);
        before([child, 'complete'], [parent, 'complete']);
      }
      expect(lines().filter((l) => l.kind === 'protect')).to.have.length(16);
    });

    it('restores and verifies an available checkpoint', async () => {
      await open();
      const p = await plan();
      const cp = (await (await app.manager.protect(ctx, p.id)).done).record;
      const restore = (await (await app.manager.restore(ctx, { checkpoint_id: cp.id })).done).record;
      expect(restore.status).to.equal('success');
      expect(Object.values(restore.resources_status)).to.deep.equal(['success', 'success', 'success', 'success']);
      expect(position('restore', 'b', 'prepare_begin')).to.be.greaterThan(position('restore', 'a', 'prepare_begin'));
      const verification = (await (await app.manager.verify(ctx, { checkpoint_id: cp.id })).done).record;
      expect(verification.status).to.equal('success');
    });

    it('a failing hook ends the checkpoint error, naming the resource; independent work still ran', async () => {
      await open();
      const p = await plan({ 'test.recorder#d': { fail_hook: 'main' } });
      const { record, outcome } = await (await app.manager.protect(ctx, p.id)).done;
      expect(record.status).to.equal('error');
      expect(outcome.status).to.equal('error');
      expect(record.extra_info.resources_status?.['test.recorder#d']).to.equal('error');
      expect(record.extra_info.resources_reason?.['test.recorder#d']).to.include('main failed on purpose');
      expect(record.extra_info.reason).to.include('test.recorder d: main failed on purpose');
      expect(position('protect', 'c', 'complete'), 'c is independent of d').to.be.greaterThan(-1);
      expect(position('protect', 'd', 'complete'), 'd.complete depends on d.main').to.equal(-1);
      expect(position('protect', 'b', 'complete'), 'b.complete waits for d.complete').to.equal(-1);
      expect(await app.providers.get(TEST_PROVIDER_ID).bank.listLeases()).to.deep.equal([]);
    });

    it('retries retryable failures up to the configured attempts, and not others', async () => {
      await open('tasks: {retry: {max_attempts: 3, initial_delay_ms: 1, max_delay_ms: 5}}');
      const ok = await plan({ 'test.recorder#c': { fail_hook: 'main', fail_times: 2, retryable: true } });
      expect((await (await app.manager.protect(ctx, ok.id)).done).record.status).to.equal('available');
      expect(lines().filter((l) => l.id === 'c' && l.hook === 'main')).to.have.length(3);
      writeFileSync(log, '');
      const permanent = await plan({ 'test.recorder#c': { fail_hook: 'main', fail_times: 2, retryable: false } });
      expect((await (await app.manager.protect(ctx, permanent.id)).done).record.status).to.equal('error');
      expect(lines().filter((l) => l.id === 'c' && l.hook === 'main')).to.have.length(1);
    });

    it('a task over its timeout fails the operation with BWK_ERR_TASK_TIMEOUT', async () => {
      await open('tasks: {timeout_ms: 300, retry: {max_attempts: 1}}');
      const p = await plan({ 'test.recorder#b': { delay_ms: 30_000 } });
      const { record } = await (await app.manager.protect(ctx, p.id)).done;
      expect(record.status).to.equal('error');
      expect(record.extra_info.resources_reason?.['test.recorder#b']).to.match(/BWK_ERR_TASK_TIMEOUT/);
    });

    it('cancellation ends the checkpoint error with reason cancelled and releases the lease', async () => {
      await open();
      const p = await plan({ 'test.recorder#b': { delay_ms: 30_000 } });
      const handle = await app.manager.protect(ctx, p.id);
      while (position('protect', 'b', 'main') < 0) await new Promise((r) => setTimeout(r, 20));
      await app.manager.cancel(handle.operationId);
      const { record } = await handle.done;
      expect(record.status).to.equal('error');
      expect(record.extra_info.reason).to.match(/BWK_ERR_OPERATION_CANCELLED/);
      expect(await app.providers.get(TEST_PROVIDER_ID).bank.listLeases()).to.deep.equal([]);
    });

    it('a checkpoint being restored cannot be deleted (409), and can be once the restore ends', async () => {
      await open();
      const p = await plan();
      const cp = (await (await app.manager.protect(ctx, p.id)).done).record;
      writeFileSync(log, '');
      const restoring = await app.manager.restore(ctx, { checkpoint_id: cp.id, parameters: { 'test.recorder#a': { delay_ms: 1500 } } });
      while (position('restore', 'a', 'main') < 0) await new Promise((r) => setTimeout(r, 20));
      const err = await app.manager.deleteCheckpoint(ctx, cp.id).then(
        () => null,
        (e: unknown) => e as { code: string; status: number },
      );
      expect(err?.code).to.equal('BWK_ERR_CHECKPOINT_IN_USE');
      expect(err?.status).to.equal(409);
      expect((await app.manager.showCheckpoint(ctx, cp.id)).status).to.equal('available');
      expect((await restoring.done).record.status).to.equal('success');
      await app.manager.deleteCheckpoint(ctx, cp.id);
      const gone = await app.manager.showCheckpoint(ctx, cp.id).then(
        () => null,
        (e: unknown) => (e as { code: string }).code,
      );
      expect(gone).to.equal('BWK_ERR_CHECKPOINT_NOT_FOUND');
    });

    it('runs consistency commands around the data step; a failed pre skips it and fails the resource', async () => {
      await open();
      const sh = (line: string, exit = 0) => ['sh', '-c', `echo "${line}" >> "$1"; echo "quiesce said no" >&2; exit ${exit}`, 'sh', log];
      const quiesced = await app.manager.createPlan(ctx, {
        name: 'quiesced',
        provider_id: TEST_PROVIDER_ID,
        resources: [
          {
            type: 'test.recorder',
            id: 'q',
            consistency: { pre: { command: sh('consistency q pre 0') }, post: { command: sh('consistency q post 0') } },
          },
        ],
      });
      expect((await (await app.manager.protect(ctx, quiesced.id)).done).record.status).to.equal('available');
      expect(position('consistency', 'q', 'pre')).to.be.lessThan(position('protect', 'q', 'main'));
      expect(position('protect', 'q', 'main')).to.be.lessThan(position('consistency', 'q', 'post'));

      writeFileSync(log, '');
      const refused = await app.manager.createPlan(ctx, {
        name: 'refused',
        provider_id: TEST_PROVIDER_ID,
        resources: [
          {
            type: 'test.recorder',
            id: 'r',
            consistency: { pre: { command: sh('consistency r pre 0', 3) }, post: { command: sh('consistency r post 0') } },
          },
        ],
      });
      const { record } = await (await app.manager.protect(ctx, refused.id)).done;
      expect(record.status).to.equal('error');
      expect(record.extra_info.resources_reason?.['test.recorder#r'])
        .to.match(/BWK_ERR_CONSISTENCY_HOOK_FAILED/)
        .and.to.include('exited 3')
        .and.to.include('quiesce said no');
      expect(position('protect', 'r', 'main'), 'data step skipped').to.equal(-1);
      expect(position('consistency', 'r', 'post')).to.equal(-1);

      writeFileSync(log, '');
      const tolerant = await app.manager.createPlan(ctx, {
        name: 'tolerant',
        provider_id: TEST_PROVIDER_ID,
        resources: [
          { type: 'test.recorder', id: 't', consistency: { pre: { command: sh('consistency t pre 0', 1), on_error: 'continue' } } },
        ],
      });
      expect((await (await app.manager.protect(ctx, tolerant.id)).done).record.status).to.equal('available');
      expect(position('protect', 't', 'main')).to.be.greaterThan(-1);
    });

    it('refuses a plan whose resource graph has a cycle, naming it, and stores nothing', async () => {
      writeRecorderProvider(home.path, {
        logFile: log,
        dependents: { a: ['b'], b: ['c'], c: ['a'] },
        ...(options.bank ? { bank: options.bank() } : {}),
      });
      await open();
      const err = await plan().then(
        () => null,
        (e: unknown) => e as { code: string; message: string },
      );
      expect(err?.code).to.equal('BWK_ERR_RESOURCE_GRAPH_CYCLE');
      expect(err?.message).to.include('test.recorder#a → test.recorder#b → test.recorder#c → test.recorder#a');
      expect(await app.manager.listPlans(ctx)).to.deep.equal([]);
    });
  });
}
