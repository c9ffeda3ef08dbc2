import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { CheckpointRecord } from '../../src/checkpoints/model.js';
import type { RequestContext } from '../../src/protection-manager/request.js';
import type { ProtectionService } from '../../src/protection-manager/service.js';
import type { PlanRecord, RestoreRecord, VerificationRecord } from '../../src/store/records.js';
import { flipChunkByte, homeBank, resourceSectionPrefix } from '../helpers/bank-files.js';
import { tempDir } from '../helpers/paths.js';
import { expectTreeMatches, snapshotTree } from '../helpers/tree.js';
import { waitFor } from '../helpers/wait.js';
import { rejectsWith } from './bank.contract.js';
import { FsBank } from '../../src/bank/adapters/fs.js';

export const FS_PROVIDER = 'cf56bd3e-97a7-4078-b6d5-f36246333fd9';
export const NOOP_PROVIDER = 'b766f37c-d011-4026-8228-28730d734a3f';
/** An fs.directory provider with a bank of its own (`<home>/bank-copies`), written by each harness. */
export const COPY_PROVIDER = 'c0b1c0b1-0000-4000-8000-00000000c0b1';

/** The service as one project sees it: the calls it makes and the context it makes them with. */
export interface ServiceSide {
  service: ProtectionService;
  ctx: RequestContext;
}

/**
 * One opened implementation of the ProtectionService over one Bulwark home: the service as project A
 * and as project B (over HTTP that is two tokens, so two clients), both reaching the same home.
 */
export interface ServiceFixture {
  a: ServiceSide;
  b: ServiceSide;
  /** An admin of project A (over HTTP an admin token): bank upkeep is theirs only. */
  admin: ServiceSide;
  /** The Bulwark home the service runs on: its bank is <home>/bank. */
  home: string;
  /** Throws unless calls really travel the way this implementation claims (a queue, a URL...). */
  checkTransport(): Promise<void>;
  close(): Promise<void>;
}

export interface ServiceHarness {
  /** Opens the implementation on a fresh temp home (called once per suite). */
  open(): Promise<ServiceFixture>;
  /** Checked before anything else: what the implementation needs (a broker that answers). */
  requires?(ctx: Mocha.Context): void;
}

const WAIT_MS = 60_000;
const POLL_MS = 100;

/** The files the fs.directory cases protect: a few small files, one in a sub-directory. */
function writeSourceTree(root: string): void {
  writeFileSync(join(root, 'a.txt'), 'alpha\n');
  writeFileSync(join(root, 'b.json'), JSON.stringify({ b: [1, 2, 3] }));
  mkdirSync(join(root, 'sub'));
  writeFileSync(join(root, 'sub', 'c.bin'), Buffer.from(Array.from({ length: 300 }, (_, i) => i % 256)));
}

/** The first call's promise, shared: cases can each ask for a protected checkpoint and get the same one. */
function once<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => (made ??= make());
}

/**
 * The ProtectionService contract: the same cases, with the same expectations, for every way the
 * service is reached (in-process, RPC, HTTP). Errors are compared by `code`, the one thing that
 * survives being rebuilt from JSON.
 */
export function describeServiceContract(name: string, harness: ServiceHarness): void {
  describe(`ProtectionService contract: ${name}`, function () {
    this.timeout(120_000);
    let f: ServiceFixture;
    let a: ServiceSide;
    let b: ServiceSide;
    const temps: Array<{ cleanup(): void }> = [];
    const dir = (label: string): string => {
      const t = tempDir(label);
      temps.push(t);
      return t.path;
    };
    let source = '';

    before(async function () {
      harness.requires?.(this);
      source = dir('svc-data');
      writeSourceTree(source);
      f = await harness.open();
      a = f.a;
      b = f.b;
    });
    after(async () => {
      await f?.close();
      for (const t of temps.splice(0)) t.cleanup();
    });

    const fsPlanInput = (planName: string) => ({
      name: planName,
      provider_id: FS_PROVIDER,
      resources: [{ type: 'fs.directory', id: source }],
      parameters: { 'fs.directory': { exclude: [] } },
    });

    const waitCheckpoint = async (side: ServiceSide, id: string): Promise<CheckpointRecord> => {
      const done = await waitFor(
        `checkpoint ${id} to leave protecting`,
        async () => {
          const c = await side.service.showCheckpoint(side.ctx, id);
          return c.status === 'protecting' ? undefined : c;
        },
        WAIT_MS,
        POLL_MS,
      );
      expect(done.status, `checkpoint ${id}: ${done.extra_info.reason ?? ''}`).to.equal('available');
      return done;
    };
    const waitRestore = async (side: ServiceSide, id: string): Promise<RestoreRecord> => {
      const done = await waitFor(
        `restore ${id} to finish`,
        async () => {
          const r = await side.service.showRestore(side.ctx, id);
          return r.status === 'in_progress' ? undefined : r;
        },
        WAIT_MS,
        POLL_MS,
      );
      expect(done.status, `restore ${id}: ${JSON.stringify(done.resources_reason)}`).to.equal('success');
      return done;
    };
    const waitVerification = async (side: ServiceSide, id: string): Promise<VerificationRecord> => {
      const done = await waitFor(
        `verification ${id} to finish`,
        async () => {
          const v = await side.service.showVerification(side.ctx, id);
          return v.status === 'in_progress' ? undefined : v;
        },
        WAIT_MS,
        POLL_MS,
      );
      expect(done.status, `verification ${id}: ${JSON.stringify(done.resources_reason)}`).to.equal('success');
      return done;
    };

    // Objects several cases need, made by whichever case asks first (so any case also runs alone).
    const protectedPlan = once(() => a.service.createPlan(a.ctx, fsPlanInput('protected')));
    const startedCheckpoint = once(async () => a.service.startProtect(a.ctx, { plan_id: (await protectedPlan()).id }));
    const availableCheckpoint = once(async () => {
      const started = await startedCheckpoint();
      // Polled through showOperation here (showCheckpoint in waitCheckpoint): both must see it finish.
      const view = await waitFor(
        `protect ${started.id} to finish`,
        async () => {
          const op = await a.service.showOperation(a.ctx, started.id);
          return op.status === 'protecting' ? undefined : op;
        },
        WAIT_MS,
        POLL_MS,
      );
      expect(view.status, JSON.stringify(view.record)).to.equal('available');
      return a.service.showCheckpoint(a.ctx, started.id);
    });
    const restoreTarget = once(async () => dir('svc-target'));
    const startedRestore = once(async () =>
      a.service.startRestore(a.ctx, {
        checkpoint_id: (await availableCheckpoint()).id,
        parameters: { 'fs.directory': { target_path: await restoreTarget() } },
      }),
    );
    const finishedRestore = once(async () => waitRestore(a, (await startedRestore()).id));
    const startedVerification = once(async () => a.service.startVerify(a.ctx, { checkpoint_id: (await availableCheckpoint()).id }));
    const finishedVerification = once(async () => waitVerification(a, (await startedVerification()).id));

    it('reaches the service the way the implementation says it does', async () => {
      await f.checkTransport();
    });

    describe('providers', () => {
      it('lists fs-directory and noop with their extended_info_schema, sorted by name', async () => {
        const providers = await a.service.listProviders(a.ctx);
        const byId = new Map(providers.map((p) => [p.id, p]));
        expect(byId.get(FS_PROVIDER)).to.include({ name: 'fs-directory' });
        expect(byId.get(NOOP_PROVIDER)).to.include({ name: 'noop' });
        for (const id of [FS_PROVIDER, NOOP_PROVIDER]) {
          const p = byId.get(id)!;
          expect(p.description, id).to.be.a('string').and.not.equal('');
          expect(p.extended_info_schema, id).to.be.an('object');
          expect(Object.keys(p.extended_info_schema), id).to.not.have.length(0);
        }
        expect(JSON.stringify(byId.get(FS_PROVIDER)!.extended_info_schema)).to.contain('target_path');
        const names = providers.map((p) => p.name);
        expect(names).to.deep.equal([...names].sort());
      });

      it('shows a provider by id, as the list has it', async () => {
        const listed = (await a.service.listProviders(a.ctx)).find((p) => p.id === FS_PROVIDER);
        const shown = await a.service.showProvider(a.ctx, FS_PROVIDER);
        expect(shown).to.deep.equal(listed);
        expect((await a.service.showProvider(a.ctx, NOOP_PROVIDER)).name).to.equal('noop');
      });

      it('answers BWK_ERR_PROVIDER_NOT_FOUND for an unknown provider', async () => {
        await rejectsWith(a.service.showProvider(a.ctx, randomUUID()), 'BWK_ERR_PROVIDER_NOT_FOUND');
      });
    });

    describe('protectables', () => {
      it('lists the protectable types and shows one', async () => {
        const types = await a.service.protectableTypes(a.ctx);
        expect(types).to.include.members(['fs.directory', 'noop']);
        const shown = await a.service.showProtectableType(a.ctx, 'fs.directory');
        expect(shown.name).to.equal('fs.directory');
        expect(shown.dependent_types).to.be.an('array');
      });

      it('lists instances with listing parameters', async () => {
        const subs = await a.service.listProtectableInstances(a.ctx, 'fs.directory', { path: source });
        expect(subs).to.deep.equal([{ type: 'fs.directory', id: join(source, 'sub'), name: 'sub', dependent_resources: [] }]);
        const noop = await a.service.listProtectableInstances(a.ctx, 'noop', {});
        expect(noop.map((r) => ({ type: r.type, id: r.id }))).to.deep.equal([{ type: 'noop', id: 'demo' }]);
        // fs.directory cannot list without a path: the parameters really reach the protectable.
        await rejectsWith(a.service.listProtectableInstances(a.ctx, 'fs.directory', {}), 'BWK_ERR_INVALID_INPUT');
      });

      it('shows the data directory as an instance, and not a missing one', async () => {
        const shown = await a.service.showProtectableInstance(a.ctx, 'fs.directory', source);
        expect(shown).to.deep.include({ type: 'fs.directory', id: source, name: basename(source), dependent_resources: [] });
        await rejectsWith(a.service.showProtectableInstance(a.ctx, 'fs.directory', join(source, 'missing')), 'BWK_ERR_RESOURCE_NOT_FOUND');
      });

      it('answers BWK_ERR_PROTECTABLE_TYPE_UNKNOWN for an unknown type', async () => {
        await rejectsWith(a.service.showProtectableType(a.ctx, 'no.such.type'), 'BWK_ERR_PROTECTABLE_TYPE_UNKNOWN');
        await rejectsWith(a.service.listProtectableInstances(a.ctx, 'no.such.type', {}), 'BWK_ERR_PROTECTABLE_TYPE_UNKNOWN');
      });
    });

    describe('plans', () => {
      const planned = once(() => a.service.createPlan(a.ctx, fsPlanInput('crud')));

      it('creates a plan and lists and shows it', async () => {
        const plan = await planned();
        expect(plan.id)
          .to.be.a('string')
          .and.match(/^[0-9a-f-]{36}$/);
        expect(plan).to.include({ name: 'crud', provider_id: FS_PROVIDER, project_id: a.ctx.projectId });
        expect(plan.status).to.be.a('string').and.not.equal('');
        expect(plan.resources.map((r) => ({ type: r.type, id: r.id }))).to.deep.equal([{ type: 'fs.directory', id: source }]);
        expect(plan.parameters).to.deep.equal({ 'fs.directory': { exclude: [] } });
        expect((await a.service.listPlans(a.ctx)).map((p) => p.id)).to.include(plan.id);
        expect(await a.service.showPlan(a.ctx, plan.id)).to.deep.equal(plan);
      });

      it('updates the name and parameters, and shows the change', async () => {
        const plan = await planned();
        const updated = await a.service.updatePlan(a.ctx, plan.id, {
          name: 'crud-renamed',
          parameters: { 'fs.directory': { exclude: ['sub'] } },
        });
        expect(updated).to.include({ id: plan.id, name: 'crud-renamed', provider_id: FS_PROVIDER });
        expect(updated.parameters).to.deep.equal({ 'fs.directory': { exclude: ['sub'] } });
        const shown = await a.service.showPlan(a.ctx, plan.id);
        expect(shown.name).to.equal('crud-renamed');
        expect(shown.parameters).to.deep.equal({ 'fs.directory': { exclude: ['sub'] } });
        expect(shown.resources).to.deep.equal(plan.resources);
      });

      it('deletes a plan: then it is not found and not listed', async () => {
        const plan = await a.service.createPlan(a.ctx, fsPlanInput('doomed'));
        await a.service.deletePlan(a.ctx, plan.id);
        await rejectsWith(a.service.showPlan(a.ctx, plan.id), 'BWK_ERR_PLAN_NOT_FOUND');
        expect((await a.service.listPlans(a.ctx)).map((p) => p.id)).not.to.include(plan.id);
        await rejectsWith(a.service.deletePlan(a.ctx, plan.id), 'BWK_ERR_PLAN_NOT_FOUND');
      });

      it('refuses a resource type the provider does not protect, storing nothing', async () => {
        const before = (await a.service.listPlans(a.ctx)).map((p) => p.id).sort();
        await rejectsWith(
          a.service.createPlan(a.ctx, { name: 'bad', provider_id: NOOP_PROVIDER, resources: [{ type: 'fs.directory', id: source }] }),
          'BWK_ERR_RESOURCE_TYPE_UNKNOWN',
        );
        await rejectsWith(
          a.service.createPlan(a.ctx, { name: 'bad', provider_id: FS_PROVIDER, resources: [{ type: 'no.such.type', id: 'x' }] }),
          'BWK_ERR_RESOURCE_TYPE_UNKNOWN',
        );
        const after = await a.service.listPlans(a.ctx);
        expect(after.map((p) => p.id).sort()).to.deep.equal(before);
        expect(after.map((p) => p.name)).not.to.include('bad');
      });

      it('refuses control characters in a name, description or resource name with BWK_ERR_CONTROL_CHARACTER, storing nothing', async () => {
        const plan = await planned();
        const before = await a.service.listPlans(a.ctx);
        for (const input of [
          fsPlanInput('a\x1b]0;title\x07'),
          fsPlanInput('a\r\nforged'),
          fsPlanInput('a\u009b2J'),
          { ...fsPlanInput('ok'), description: 'x\x1b[2J' },
          { ...fsPlanInput('ok'), resources: [{ type: 'fs.directory', id: source, name: 'n\u202e' }] },
        ])
          await rejectsWith(a.service.createPlan(a.ctx, input), 'BWK_ERR_CONTROL_CHARACTER');
        await rejectsWith(a.service.updatePlan(a.ctx, plan.id, { name: 'b\nc' }), 'BWK_ERR_CONTROL_CHARACTER');
        expect(await a.service.listPlans(a.ctx)).to.deep.equal(before);
      });
    });

    describe('bounds (issue 14)', () => {
      // Over the default quotas.json_object_bytes (64 KiB), under the API's default 1 MiB body limit.
      const big = { blob: 'x'.repeat(70 * 1024) };

      it('refuses extra_info or parameters over quotas.json_object_bytes (BWK_ERR_OBJECT_TOO_LARGE), storing nothing', async () => {
        const before = (await a.service.listPlans(a.ctx, { limit: 1000 })).map((p) => p.id).sort();
        const input = fsPlanInput('too-big');
        await rejectsWith(
          a.service.createPlan(a.ctx, { ...input, resources: [{ ...input.resources[0]!, extra_info: big }] }),
          'BWK_ERR_OBJECT_TOO_LARGE',
        );
        await rejectsWith(a.service.createPlan(a.ctx, { ...input, parameters: { 'fs.directory': big } }), 'BWK_ERR_OBJECT_TOO_LARGE');
        const plan = await a.service.createPlan(a.ctx, fsPlanInput('kept-small'));
        await rejectsWith(a.service.updatePlan(a.ctx, plan.id, { parameters: { 'fs.directory': big } }), 'BWK_ERR_OBJECT_TOO_LARGE');
        expect((await a.service.showPlan(a.ctx, plan.id)).parameters).to.deep.equal(input.parameters);
        const after = (await a.service.listPlans(a.ctx, { limit: 1000 })).map((p) => p.id);
        expect(after.filter((id) => id !== plan.id).sort()).to.deep.equal(before);
        await a.service.deletePlan(a.ctx, plan.id);
      });

      it('refuses a plan whose resources and parameters exceed quotas.plan_bytes, though each object is within its quota', async () => {
        // Five extra_info objects of 60 KiB: each under json_object_bytes (64 KiB), together over plan_bytes (256 KiB).
        const resources = [1, 2, 3, 4, 5].map((i) => ({
          type: 'fs.directory',
          id: dir(`svc-quota-${i}`),
          extra_info: { notes: 'y'.repeat(60 * 1024) },
        }));
        const input = { ...fsPlanInput('too-big-in-total'), resources };
        await rejectsWith(a.service.createPlan(a.ctx, input), 'BWK_ERR_OBJECT_TOO_LARGE');
        expect((await a.service.listPlans(a.ctx, { limit: 1000 })).map((p) => p.name)).not.to.include('too-big-in-total');
        const fits = await a.service.createPlan(a.ctx, { ...input, resources: resources.slice(0, 4) });
        expect(fits.resources).to.have.length(4);
        await a.service.deletePlan(a.ctx, fits.id);
      });

      it('clamps a limit above paging.max_limit instead of refusing it, and refuses a limit that is not a positive integer', async () => {
        const plan = await a.service.createPlan(a.ctx, fsPlanInput('clamped'));
        expect((await a.service.listPlans(a.ctx, { limit: 1_000_000 })).map((p) => p.id)).to.include(plan.id);
        expect(await a.service.listRestores(a.ctx, { limit: 1_000_000 })).to.be.an('array');
        expect(await a.service.listOperationLogs(a.ctx, { limit: 1_000_000 })).to.be.an('array');
        await rejectsWith(a.service.listPlans(a.ctx, { limit: 0 }), 'BWK_ERR_INVALID_INPUT');
        await a.service.deletePlan(a.ctx, plan.id);
      });
    });

    describe('protect', () => {
      it('starts a protect whose checkpoint becomes available and is listed under its plan', async () => {
        const plan = await protectedPlan();
        const started = await startedCheckpoint();
        expect(started.id).to.match(/^[0-9a-f-]{36}$/);
        expect(['protecting', 'available']).to.include(started.status);
        expect(started).to.include({ provider_id: FS_PROVIDER, project_id: a.ctx.projectId });
        expect(started.protection_plan.id).to.equal(plan.id);
        const done = await waitCheckpoint(a, started.id);
        expect(done.protection_plan).to.deep.include({ id: plan.id, name: 'protected' });
        expect(done.resource_graph, 'the graph is an object on every path').to.be.an('object');
        expect((await availableCheckpoint()).id).to.equal(started.id);
        const listed = await a.service.listCheckpoints(a.ctx, { planId: plan.id });
        expect(listed.map((c) => c.id)).to.include(started.id);
        expect(listed.every((c) => c.protection_plan.id === plan.id)).to.equal(true);
        expect((await a.service.listCheckpoints(a.ctx, { providerId: FS_PROVIDER })).map((c) => c.id)).to.include(started.id);
      });

      it("refuses a provider_id that is not the plan's with BWK_ERR_PROVIDER_MISMATCH", async () => {
        const plan = await protectedPlan();
        const before = (await a.service.listCheckpoints(a.ctx, { providerId: NOOP_PROVIDER })).length;
        await rejectsWith(a.service.startProtect(a.ctx, { plan_id: plan.id, provider_id: NOOP_PROVIDER }), 'BWK_ERR_PROVIDER_MISMATCH');
        expect(await a.service.listCheckpoints(a.ctx, { providerId: NOOP_PROVIDER })).to.have.length(before);
      });

      it("keeps a deleted plan's checkpoints, still listed by the plan's id", async () => {
        const plan = await a.service.createPlan(a.ctx, {
          name: 'short-lived',
          provider_id: NOOP_PROVIDER,
          resources: [{ type: 'noop', id: 'demo' }],
        });
        const started = await a.service.startProtect(a.ctx, { plan_id: plan.id });
        await waitCheckpoint(a, started.id);
        await a.service.deletePlan(a.ctx, plan.id);
        expect((await a.service.showCheckpoint(a.ctx, started.id, NOOP_PROVIDER)).protection_plan.id).to.equal(plan.id);
        expect((await a.service.listCheckpoints(a.ctx, { providerId: NOOP_PROVIDER })).map((c) => c.id)).to.include(started.id);
        expect((await a.service.listCheckpoints(a.ctx, { planId: plan.id })).map((c) => c.id)).to.deep.equal([started.id]);
      });

      it('starts one protect for two requests with the same operation_id', async () => {
        const plan = await a.service.createPlan(a.ctx, {
          name: 'idempotent',
          provider_id: NOOP_PROVIDER,
          resources: [{ type: 'noop', id: 'demo' }],
        });
        const operationId = randomUUID();
        const first = await a.service.startProtect(a.ctx, { plan_id: plan.id, operation_id: operationId });
        const second = await a.service.startProtect(a.ctx, { plan_id: plan.id, operation_id: operationId });
        expect(first.id).to.equal(operationId);
        expect(second.id).to.equal(first.id);
        await waitCheckpoint(a, first.id);
        const third = await a.service.startProtect(a.ctx, { plan_id: plan.id, operation_id: operationId });
        expect(third.id).to.equal(first.id);
        expect((await a.service.listCheckpoints(a.ctx, { planId: plan.id })).map((c) => c.id)).to.deep.equal([first.id]);
      });
    });

    describe('restore and verify', () => {
      it('restores into a new empty directory: success, the same files, listed', async () => {
        const checkpoint = await availableCheckpoint();
        const target = await restoreTarget();
        expect(readdirSync(target)).to.deep.equal([]);
        const started = await startedRestore();
        expect(started.status).to.equal('in_progress');
        expect(started).to.include({ checkpoint_id: checkpoint.id, provider_id: FS_PROVIDER, project_id: a.ctx.projectId });
        expect(started.parameters).to.deep.equal({ 'fs.directory': { target_path: target } });
        const done = await finishedRestore();
        expect(done.id).to.equal(started.id);
        expect(Object.values(done.resources_status)).to.deep.equal(['success']);
        expect(readdirSync(target).sort()).to.deep.equal(['a.txt', 'b.json', 'sub']);
        expectTreeMatches(target, snapshotTree(source));
        expect((await a.service.listRestores(a.ctx)).map((r) => r.id)).to.include(started.id);
        expect((await a.service.listRestores(a.ctx, { checkpointId: checkpoint.id })).map((r) => r.id)).to.include(started.id);
      });

      it('refuses a non-empty restore_target (BWK_ERR_RESTORE_TARGET_UNSUPPORTED) and starts nothing', async () => {
        const checkpoint = await availableCheckpoint();
        const before = (await a.service.listRestores(a.ctx, { checkpointId: checkpoint.id })).length;
        const target = dir('svc-target-unsupported');
        await rejectsWith(
          a.service.startRestore(a.ctx, {
            checkpoint_id: checkpoint.id,
            restore_target: 'http://another-cloud/identity',
            parameters: { 'fs.directory': { target_path: target } },
          }),
          'BWK_ERR_RESTORE_TARGET_UNSUPPORTED',
        );
        expect((await a.service.listRestores(a.ctx, { checkpointId: checkpoint.id })).length).to.equal(before);
        expect(readdirSync(target)).to.deep.equal([]);
      });

      it('verifies a checkpoint: success, listed', async () => {
        const checkpoint = await availableCheckpoint();
        const started = await startedVerification();
        expect(['in_progress', 'success']).to.include(started.status);
        expect(started).to.include({ checkpoint_id: checkpoint.id, provider_id: FS_PROVIDER, project_id: a.ctx.projectId });
        const done = await finishedVerification();
        expect(done.id).to.equal(started.id);
        expect((await a.service.listVerifications(a.ctx)).map((v) => v.id)).to.include(started.id);
      });
    });

    describe('operations', () => {
      it('starts one restore and one verification for two requests with the same operation_id', async () => {
        const checkpoint = await availableCheckpoint();
        const restoreId = randomUUID();
        const target = dir('svc-target-idem');
        const input = { checkpoint_id: checkpoint.id, parameters: { 'fs.directory': { target_path: target } }, operation_id: restoreId };
        const firstRestore = await a.service.startRestore(a.ctx, input);
        const secondRestore = await a.service.startRestore(a.ctx, input);
        expect([firstRestore.id, secondRestore.id]).to.deep.equal([restoreId, restoreId]);
        await waitRestore(a, restoreId);
        expect((await a.service.listRestores(a.ctx, { checkpointId: checkpoint.id })).filter((r) => r.id === restoreId)).to.have.length(1);
        const verifyId = randomUUID();
        const firstVerify = await a.service.startVerify(a.ctx, { checkpoint_id: checkpoint.id, operation_id: verifyId });
        const secondVerify = await a.service.startVerify(a.ctx, { checkpoint_id: checkpoint.id, operation_id: verifyId });
        expect([firstVerify.id, secondVerify.id]).to.deep.equal([verifyId, verifyId]);
        await waitVerification(a, verifyId);
        expect((await a.service.listVerifications(a.ctx, { checkpointId: checkpoint.id })).filter((v) => v.id === verifyId)).to.have.length(
          1,
        );
      });

      it('shows a protect, a restore and a verification as operations; an unknown id is not found', async () => {
        const checkpoint = await availableCheckpoint();
        const op = await a.service.showOperation(a.ctx, checkpoint.id);
        expect(op).to.include({ id: checkpoint.id, kind: 'protect', status: 'available' });
        expect(op.record.id).to.equal(checkpoint.id);
        expect(op.running === null || op.running === false, `running: ${String(op.running)}`).to.equal(true);
        const restore = await finishedRestore();
        expect(await a.service.showOperation(a.ctx, restore.id)).to.deep.include({ id: restore.id, kind: 'restore', status: 'success' });
        const verification = await finishedVerification();
        expect(await a.service.showOperation(a.ctx, verification.id)).to.deep.include({
          id: verification.id,
          kind: 'verify',
          status: 'success',
        });
        await rejectsWith(a.service.showOperation(a.ctx, randomUUID()), 'BWK_ERR_OPERATION_NOT_FOUND');
      });

      it('logs the protect, restore and verify as success; an unknown marker is invalid input', async () => {
        const checkpoint = await availableCheckpoint();
        const restore = await finishedRestore();
        const verification = await finishedVerification();
        const logs = await a.service.listOperationLogs(a.ctx);
        const find = (type: string, pred: (l: (typeof logs)[number]) => boolean) => {
          const found = logs.find((l) => l.operation_type === type && pred(l));
          expect(found, `${type} log in ${JSON.stringify(logs)}`).to.not.equal(undefined);
          return found!;
        };
        const protect = find('protect', (l) => l.checkpoint_id === checkpoint.id);
        expect(protect).to.include({
          status: 'success',
          provider_id: FS_PROVIDER,
          project_id: a.ctx.projectId,
          plan_id: checkpoint.protection_plan.id,
        });
        expect(find('restore', (l) => l.restore_id === restore.id)).to.include({ status: 'success', checkpoint_id: checkpoint.id });
        expect(find('verify', (l) => l.verification_id === verification.id)).to.include({
          status: 'success',
          checkpoint_id: checkpoint.id,
        });
        // Paging: a page of one, then the next page after it.
        const [first] = await a.service.listOperationLogs(a.ctx, { limit: 1 });
        expect(first).to.deep.equal(logs[0]);
        const next = await a.service.listOperationLogs(a.ctx, { marker: first!.id });
        expect(next.map((l) => l.id)).to.deep.equal(logs.slice(1).map((l) => l.id));
        await rejectsWith(a.service.listOperationLogs(a.ctx, { marker: randomUUID() }), 'BWK_ERR_INVALID_INPUT');
      });

      it('answers BWK_ERR_OPERATION_NOT_FOUND when cancelling an unknown operation', async () => {
        await rejectsWith(a.service.cancelOperation(a.ctx, randomUUID()), 'BWK_ERR_OPERATION_NOT_FOUND');
      });
    });

    describe('checkpoint delete', () => {
      it('deletes a checkpoint: then it is not found and not listed', async () => {
        const plan = await a.service.createPlan(a.ctx, {
          name: 'to-delete',
          provider_id: NOOP_PROVIDER,
          resources: [{ type: 'noop', id: 'demo' }],
        });
        const started = await a.service.startProtect(a.ctx, { plan_id: plan.id });
        await waitCheckpoint(a, started.id);
        await a.service.deleteCheckpoint(a.ctx, started.id, NOOP_PROVIDER);
        await rejectsWith(a.service.showCheckpoint(a.ctx, started.id, NOOP_PROVIDER), 'BWK_ERR_CHECKPOINT_NOT_FOUND');
        await rejectsWith(a.service.deleteCheckpoint(a.ctx, started.id, NOOP_PROVIDER), 'BWK_ERR_CHECKPOINT_NOT_FOUND');
        expect((await a.service.listCheckpoints(a.ctx, { providerId: NOOP_PROVIDER })).map((c) => c.id)).not.to.include(started.id);
        expect((await a.service.listCheckpoints(a.ctx, { planId: plan.id })).map((c) => c.id)).not.to.include(started.id);
        // Another checkpoint is untouched.
        expect((await a.service.showCheckpoint(a.ctx, (await availableCheckpoint()).id, FS_PROVIDER)).status).to.equal('available');
      });

      it('without a provider id, show and delete answer BWK_ERR_CHECKPOINT_NOT_FOUND for an unknown or deleted checkpoint', async () => {
        await rejectsWith(a.service.showCheckpoint(a.ctx, randomUUID()), 'BWK_ERR_CHECKPOINT_NOT_FOUND');
        await rejectsWith(a.service.deleteCheckpoint(a.ctx, randomUUID()), 'BWK_ERR_CHECKPOINT_NOT_FOUND');
        const plan = await a.service.createPlan(a.ctx, {
          name: 'to-delete-anywhere',
          provider_id: NOOP_PROVIDER,
          resources: [{ type: 'noop', id: 'demo' }],
        });
        const started = await a.service.startProtect(a.ctx, { plan_id: plan.id });
        await waitCheckpoint(a, started.id);
        await a.service.deleteCheckpoint(a.ctx, started.id);
        await rejectsWith(a.service.showCheckpoint(a.ctx, started.id), 'BWK_ERR_CHECKPOINT_NOT_FOUND');
        await rejectsWith(a.service.showCheckpoint(a.ctx, started.id, NOOP_PROVIDER), 'BWK_ERR_CHECKPOINT_NOT_FOUND');
        await rejectsWith(a.service.deleteCheckpoint(a.ctx, started.id), 'BWK_ERR_CHECKPOINT_NOT_FOUND');
      });
    });

    describe('checkpoint copy', () => {
      it("copies an available checkpoint into another provider's bank: a checkpoint of its own, restored the same", async () => {
        const source = await availableCheckpoint();
        const copy = await a.service.copyCheckpoint(a.ctx, { checkpoint_id: source.id, to_provider_id: 'copies' });
        expect(copy).to.include({ status: 'available', provider_id: COPY_PROVIDER, created_at: source.created_at });
        expect(copy.id).not.to.equal(source.id);
        expect(copy.extra_info.copy_of).to.deep.include({ checkpoint_id: source.id, provider_id: FS_PROVIDER });
        expect(copy.resource_graph).to.deep.equal(source.resource_graph);
        expect((await a.service.showCheckpoint(a.ctx, copy.id)).provider_id).to.equal(COPY_PROVIDER);
        const listed = await a.service.listCheckpoints(a.ctx, { providerId: COPY_PROVIDER });
        expect(listed.map((c) => c.id)).to.include(copy.id);
        // Asked again: the same copy, finished.
        expect((await a.service.copyCheckpoint(a.ctx, { checkpoint_id: source.id, to_provider_id: COPY_PROVIDER })).id).to.equal(copy.id);
        const target = dir('svc-copy-target');
        const restore = await a.service.startRestore(a.ctx, {
          checkpoint_id: copy.id,
          parameters: { 'fs.directory': { target_path: target } },
        });
        await waitRestore(a, restore.id);
        expectTreeMatches(target, snapshotTree(source.protection_plan.resources[0]!.id));
      });

      it("refuses a copy into the same bank, of an unknown or another project's checkpoint, and to an unknown provider", async () => {
        const source = await availableCheckpoint();
        await rejectsWith(
          a.service.copyCheckpoint(a.ctx, { checkpoint_id: source.id, to_provider_id: NOOP_PROVIDER }),
          'BWK_ERR_COPY_SAME_BANK',
        );
        await rejectsWith(
          a.service.copyCheckpoint(a.ctx, { checkpoint_id: randomUUID(), to_provider_id: COPY_PROVIDER }),
          'BWK_ERR_CHECKPOINT_NOT_FOUND',
        );
        await rejectsWith(
          b.service.copyCheckpoint(b.ctx, { checkpoint_id: source.id, to_provider_id: COPY_PROVIDER }),
          'BWK_ERR_CHECKPOINT_NOT_FOUND',
        );
        await rejectsWith(
          a.service.copyCheckpoint(a.ctx, { checkpoint_id: source.id, to_provider_id: randomUUID() }),
          'BWK_ERR_PROVIDER_NOT_FOUND',
        );
      });
    });

    describe('checkpoint reset-state (os-resetState)', () => {
      it('an admin sets a checkpoint to error and back to available, recorded in extra_info; a member is refused', async () => {
        const plan = await a.service.createPlan(a.ctx, {
          name: 'to-reset',
          provider_id: NOOP_PROVIDER,
          resources: [{ type: 'noop', id: 'demo' }],
        });
        const started = await a.service.startProtect(a.ctx, { plan_id: plan.id });
        await waitCheckpoint(a, started.id);
        const admin = f.admin;
        await rejectsWith(a.service.resetCheckpointState(a.ctx, started.id, 'error', NOOP_PROVIDER), 'BWK_ERR_FORBIDDEN');
        expect((await a.service.showCheckpoint(a.ctx, started.id)).status).to.equal('available');
        const failed = await admin.service.resetCheckpointState(admin.ctx, started.id, 'error', NOOP_PROVIDER);
        expect(failed.status).to.equal('error');
        expect(failed.extra_info.reset_state).to.include({ from: 'available', to: 'error' });
        expect((await a.service.showCheckpoint(a.ctx, started.id)).status).to.equal('error');
        const back = await admin.service.resetCheckpointState(admin.ctx, started.id, 'available');
        expect(back.status).to.equal('available');
        await rejectsWith(admin.service.resetCheckpointState(admin.ctx, randomUUID(), 'error'), 'BWK_ERR_CHECKPOINT_NOT_FOUND');
        await rejectsWith(admin.service.resetCheckpointState(admin.ctx, started.id, 'protecting' as 'error'), 'BWK_ERR_INVALID_INPUT');
        expect((await a.service.showCheckpoint(a.ctx, started.id)).status).to.equal('available');
      });

      it('refuses while an operation holds a lease on the checkpoint, and changes nothing', async () => {
        const checkpoint = await availableCheckpoint();
        const bank = new FsBank(homeBank(f.home));
        const lease = await bank.acquireLease(`operation-${randomUUID()}`, 60_000, {
          checkpointId: checkpoint.id,
          kind: 'restore',
          recordId: 'r-1',
        });
        try {
          const err = await rejectsWith(
            f.admin.service.resetCheckpointState(f.admin.ctx, checkpoint.id, 'error'),
            'BWK_ERR_CHECKPOINT_IN_USE',
          );
          expect(err.message).to.include('restore r-1');
        } finally {
          await bank.releaseLease(lease);
        }
        expect((await a.service.showCheckpoint(a.ctx, checkpoint.id)).status).to.equal('available');
      });
    });

    describe('tenancy', () => {
      /** A's objects, all finished, as A sees them before B tries anything. */
      const aObjects = once(async () => {
        const plan = await protectedPlan();
        const checkpoint = await availableCheckpoint();
        const restore = await finishedRestore();
        const verification = await finishedVerification();
        return { plan, checkpoint, restore, verification };
      });
      const planOfA = async (): Promise<PlanRecord> => a.service.showPlan(a.ctx, (await aObjects()).plan.id);

      it("project B cannot show, list, update or delete project A's plan", async () => {
        const { plan } = await aObjects();
        expect(b.ctx.projectId).to.not.equal(a.ctx.projectId);
        await rejectsWith(b.service.showPlan(b.ctx, plan.id), 'BWK_ERR_PLAN_NOT_FOUND');
        expect((await b.service.listPlans(b.ctx)).map((p) => p.id)).not.to.include(plan.id);
        await rejectsWith(b.service.updatePlan(b.ctx, plan.id, { name: 'stolen' }), 'BWK_ERR_PLAN_NOT_FOUND');
        await rejectsWith(b.service.deletePlan(b.ctx, plan.id), 'BWK_ERR_PLAN_NOT_FOUND');
        await rejectsWith(b.service.startProtect(b.ctx, { plan_id: plan.id }), 'BWK_ERR_PLAN_NOT_FOUND');
        expect((await planOfA()).name).to.equal('protected');
      });

      it("project B cannot show, list, delete, restore or verify project A's checkpoint", async () => {
        const { checkpoint } = await aObjects();
        await rejectsWith(b.service.showCheckpoint(b.ctx, checkpoint.id, FS_PROVIDER), 'BWK_ERR_CHECKPOINT_NOT_FOUND');
        await rejectsWith(b.service.deleteCheckpoint(b.ctx, checkpoint.id, FS_PROVIDER), 'BWK_ERR_CHECKPOINT_NOT_FOUND');
        expect((await b.service.listCheckpoints(b.ctx, {})).map((c) => c.id)).not.to.include(checkpoint.id);
        expect(await b.service.listCheckpoints(b.ctx, { providerId: FS_PROVIDER })).to.deep.equal([]);
        await rejectsWith(
          b.service.startRestore(b.ctx, {
            checkpoint_id: checkpoint.id,
            parameters: { 'fs.directory': { target_path: dir('svc-stolen') } },
          }),
          'BWK_ERR_CHECKPOINT_NOT_FOUND',
        );
        await rejectsWith(b.service.startVerify(b.ctx, { checkpoint_id: checkpoint.id }), 'BWK_ERR_CHECKPOINT_NOT_FOUND');
        await rejectsWith(b.service.showOperation(b.ctx, checkpoint.id), 'BWK_ERR_OPERATION_NOT_FOUND');
      });

      it("project B listing by project A's plan id gets no checkpoints", async () => {
        const { plan, checkpoint } = await aObjects();
        expect(await b.service.listCheckpoints(b.ctx, { planId: plan.id })).to.deep.equal([]);
        expect((await a.service.listCheckpoints(a.ctx, { planId: plan.id })).map((c) => c.id)).to.include(checkpoint.id);
      });

      it("project B, naming no provider, cannot show or delete project A's checkpoint", async () => {
        const { checkpoint } = await aObjects();
        await rejectsWith(b.service.showCheckpoint(b.ctx, checkpoint.id), 'BWK_ERR_CHECKPOINT_NOT_FOUND');
        await rejectsWith(b.service.deleteCheckpoint(b.ctx, checkpoint.id), 'BWK_ERR_CHECKPOINT_NOT_FOUND');
        expect((await a.service.showCheckpoint(a.ctx, checkpoint.id)).status).to.equal('available');
      });

      it("project B cannot show or list project A's restore, verification or operation logs", async () => {
        const { restore, verification } = await aObjects();
        await rejectsWith(b.service.showRestore(b.ctx, restore.id), 'BWK_ERR_RESTORE_NOT_FOUND');
        expect(await b.service.listRestores(b.ctx)).to.deep.equal([]);
        await rejectsWith(b.service.showVerification(b.ctx, verification.id), 'BWK_ERR_VERIFICATION_NOT_FOUND');
        expect(await b.service.listVerifications(b.ctx)).to.deep.equal([]);
        await rejectsWith(b.service.showOperation(b.ctx, restore.id), 'BWK_ERR_OPERATION_NOT_FOUND');
        await rejectsWith(b.service.cancelOperation(b.ctx, restore.id), 'BWK_ERR_OPERATION_NOT_FOUND');
        expect(await b.service.listOperationLogs(b.ctx)).to.deep.equal([]);
      });

      it("project A's plan, checkpoint and restore are unchanged after B's attempts", async () => {
        const { plan, checkpoint, restore, verification } = await aObjects();
        expect(await a.service.showPlan(a.ctx, plan.id)).to.deep.include({ id: plan.id, name: 'protected', project_id: a.ctx.projectId });
        const shown = await a.service.showCheckpoint(a.ctx, checkpoint.id);
        expect(shown).to.deep.include({ id: checkpoint.id, status: 'available', project_id: a.ctx.projectId });
        expect(shown.protection_plan.id).to.equal(plan.id);
        expect(await a.service.showRestore(a.ctx, restore.id)).to.deep.equal(restore);
        expect(await a.service.showVerification(a.ctx, verification.id)).to.deep.equal(verification);
        expect((await a.service.listCheckpoints(a.ctx, { planId: plan.id })).map((c) => c.id)).to.include(checkpoint.id);
      });
    });

    // Last: its corruption case changes the bank (and puts it back).
    describe('bank upkeep', () => {
      it('an admin checks the bank, structure only and reading the data, and collects its garbage: reports', async () => {
        await availableCheckpoint();
        const admin = f.admin;
        const structure = await admin.service.checkBank(admin.ctx, {});
        expect(structure).to.include({ ok: true, missing_chunks: 0, corrupt_chunks: 0, packs_read: 0 });
        expect(structure.referenced_chunks).to.be.greaterThan(0);
        const read = await admin.service.checkBank(admin.ctx, { provider_id: FS_PROVIDER, read_data: true });
        expect(read).to.include({ ok: true, corrupt_chunks: 0 });
        expect(read.packs_read).to.equal(read.packs);
        expect(read.bytes_read).to.be.greaterThan(0);
        // By name too, as the CLI's --provider takes it.
        expect(
          (await admin.service.checkBank(admin.ctx, { provider_id: 'fs-directory', read_data: true, read_data_percent: 50 })).ok,
        ).to.equal(true);
        const gc = await admin.service.gcBank(admin.ctx, { clock_skew_seconds: 0 });
        expect(gc.referenced_chunks).to.equal(read.referenced_chunks);
        expect(gc).to.have.all.keys(
          'referenced_chunks',
          'packs_before',
          'packs_fossilized',
          'packs_repacked',
          'fossils_deleted',
          'fossils_restored',
          'fossils_waiting',
          'orphan_packs_deleted',
          'chunks_removed',
          'bytes_freed',
          'packs_too_new',
          'temporaries_deleted',
        );
        // What GC kept is what the checkpoints need.
        expect((await admin.service.checkBank(admin.ctx, { read_data: true })).ok).to.equal(true);
      });

      it('refuses bank check and gc to a member with BWK_ERR_FORBIDDEN, and bad input with BWK_ERR_INVALID_INPUT', async () => {
        await rejectsWith(a.service.checkBank(a.ctx, {}), 'BWK_ERR_FORBIDDEN');
        await rejectsWith(a.service.checkBank(a.ctx, { provider_id: FS_PROVIDER, read_data: true }), 'BWK_ERR_FORBIDDEN');
        await rejectsWith(b.service.gcBank(b.ctx, { provider_id: FS_PROVIDER }), 'BWK_ERR_FORBIDDEN');
        await rejectsWith(f.admin.service.checkBank(f.admin.ctx, { read_data_percent: 10 }), 'BWK_ERR_INVALID_INPUT');
        await rejectsWith(f.admin.service.checkBank(f.admin.ctx, { read_data: true, read_data_percent: 0 }), 'BWK_ERR_INVALID_INPUT');
        await rejectsWith(f.admin.service.gcBank(f.admin.ctx, { clock_skew_seconds: -1 }), 'BWK_ERR_INVALID_INPUT');
        await rejectsWith(f.admin.service.checkBank(f.admin.ctx, { provider_id: randomUUID() }), 'BWK_ERR_PROVIDER_NOT_FOUND');
      });

      it('reports a corrupted chunk as ok: false (not an error) when reading the data; the structure check cannot see it', async () => {
        const checkpoint = await availableCheckpoint();
        const admin = f.admin;
        const prefix = resourceSectionPrefix(f.home, checkpoint.id);
        await flipChunkByte(homeBank(f.home), prefix, 'data');
        try {
          const report = await admin.service.checkBank(admin.ctx, { provider_id: FS_PROVIDER, read_data: true });
          expect(report.ok).to.equal(false);
          expect(report.corrupt_chunks).to.be.greaterThan(0);
          expect(report.corrupt[0]).to.have.keys('id', 'pack', 'reason');
          expect(report.missing_chunks).to.equal(0);
          expect((await admin.service.checkBank(admin.ctx, { provider_id: FS_PROVIDER })).ok).to.equal(true);
        } finally {
          await flipChunkByte(homeBank(f.home), prefix, 'data');
        }
        expect((await admin.service.checkBank(admin.ctx, { read_data: true })).ok).to.equal(true);
      });
    });
  });
}
