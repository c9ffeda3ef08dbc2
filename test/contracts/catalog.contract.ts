/**
 * The CatalogStore contract: every adapter (SQLite file, SQLite :memory:, PostgreSQL) must pass it.
 * `reopen`, when the adapter is persistent, opens a second store on the same database.
 */
import type { OldCatalog } from '../helpers/old-catalog.js';
import { expect } from 'chai';
import { quotaCases } from './catalog-quotas.contract.js';
import { notificationCases } from './catalog-notifications.contract.js';
import { isBulwarkError } from '../../src/core/errors.js';
import { newId } from '../../src/common/ids.js';
import type { CatalogOptions, CatalogStore } from '../../src/store/port.js';
import type { OperationStatus, PlanRecord, RestoreRecord, VerificationRecord } from '../../src/store/records.js';
import { schedulingCases } from './catalog-scheduling.contract.js';
import { tokenHygieneCases } from './catalog-tokens.contract.js';

export interface CatalogHarness {
  store: CatalogStore;
  cleanup(): Promise<void>;
  reopen?(): Promise<CatalogStore>;
  /**
   * A store on another, new database of the adapter that was first migrated only up to `migration`
   * and given rows by `seed` (as a build of that time would have left it), then opened as usual.
   */
  openMigratedTo?(migration: string, seed: (db: OldCatalog) => Promise<void>): Promise<CatalogStore>;
}

const A = 'project-a';
const B = 'project-b';
const PAST = '2020-01-01T00:00:00.000Z';
const at = (seconds: number) => new Date(Date.UTC(2024, 0, 1) + seconds * 1000).toISOString();

/** JSON that is easy to mangle: unicode (CJK, emoji, combining marks, RTL), nesting, escapes, number edges. */
const TRICKY = {
  ключ: '日本語 🚀 é e\u0301 שלום',
  'a.b': { 'c"d': ['x', 1.5, -2, 0, 9007199254740991, true, false, null, {}, [], [[{ deep: { deeper: ['😀'] } }]]] },
  escapes: 'line\nbreak\ttab "quotes" \\ backslash \u0000 nul \u2028',
  zlast: { b: 1, a: 2 },
};

function plan(o: Partial<PlanRecord> = {}): PlanRecord {
  return {
    id: newId(),
    project_id: A,
    name: 'Plan ✓ 計画',
    description: 'd',
    provider_id: 'prov-1',
    status: 'suspended',
    resources: [{ type: 'fs.directory', id: '/srv/ü', name: 'srv', extra_info: { tricky: TRICKY } }],
    parameters: { 'fs.directory': TRICKY },
    created_at: PAST,
    updated_at: PAST,
    ...o,
  };
}

function verification(o: Partial<VerificationRecord> = {}): VerificationRecord {
  return {
    id: newId(),
    project_id: A,
    provider_id: 'prov-1',
    checkpoint_id: 'cp-1',
    parameters: { p: TRICKY },
    status: 'in_progress',
    resources_status: { 'fs.directory#/srv': 'protecting' },
    resources_reason: { 'fs.directory#/x': 'ошибка ❌' },
    created_at: PAST,
    updated_at: PAST,
    token_id: newId(),
    client_address: '::ffff:203.0.113.7',
    ...o,
  };
}

function restore(o: Partial<RestoreRecord> = {}): RestoreRecord {
  return { ...verification(), restore_target: '/restore/目标', ...o };
}

async function expectInvalid(p: Promise<unknown>, pattern: RegExp): Promise<string> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(isBulwarkError(err, 'BWK_ERR_INVALID_INPUT'), `expected BWK_ERR_INVALID_INPUT, got ${String(err)}`).to.equal(true);
  expect((err as Error).message).to.match(pattern);
  return (err as Error).message;
}

/** Byte-exact comparison (key order included), then a structural one for a readable diff. */
function expectSameJson(actual: unknown, expected: unknown): void {
  expect(actual).to.deep.equal(expected);
  expect(JSON.stringify(actual)).to.equal(JSON.stringify(expected));
}

const byCreated = (dir: 1 | -1) => (x: { created_at: string; id: string }, y: { created_at: string; id: string }) =>
  dir * (x.created_at < y.created_at ? -1 : x.created_at > y.created_at ? 1 : x.id < y.id ? -1 : x.id > y.id ? 1 : 0);

/** Walks every page with `marker`; fails rather than loops if the store keeps returning records. */
async function allPages<R extends { id: string }>(list: (marker: string | undefined) => Promise<R[]>, limit: number): Promise<string[]> {
  const ids: string[] = [];
  let marker: string | undefined;
  for (let i = 0; i < 100; i++) {
    const page = await list(marker);
    expect(page.length).to.be.at.most(limit);
    if (page.length === 0) return ids;
    ids.push(...page.map((r) => r.id));
    marker = page.at(-1)!.id;
  }
  throw new Error('pagination did not end after 100 pages');
}

/** `make(options)` opens a fresh, empty store of the adapter, with `options` as the factory passes them. */
export function describeCatalogContract(name: string, make: (options?: CatalogOptions) => Promise<CatalogHarness>): void {
  describe(`CatalogStore contract: ${name}`, () => {
    let h: CatalogHarness;
    let store: CatalogStore;
    beforeEach(async () => {
      h = await make();
      store = h.store;
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it('tokens: created with a secret shown once, found by it, listed per project without it, revoked', async () => {
      const a = await store.tokens.createToken({ project_id: 'proj-a', role: 'member', description: 'ci' });
      const admin = await store.tokens.createToken({ project_id: 'ops', role: 'admin' });
      expect(a.token).to.match(/^bwk_[A-Za-z0-9_-]{40,}$/);
      expect(await store.tokens.findToken(a.token)).to.deep.equal(a.record);
      expect(await store.tokens.findToken(`${a.token}x`)).to.equal(null);
      expect(await store.tokens.findToken('not-a-token')).to.equal(null);
      const listed = await store.tokens.listTokens('proj-a');
      expect(listed).to.deep.equal([a.record]);
      expect(JSON.stringify(listed)).to.not.include(a.token.slice(4));
      expect((await store.tokens.listTokens(null)).map((t) => t.id).sort()).to.deep.equal([a.record.id, admin.record.id].sort());
      await store.tokens.deleteToken(a.record.id);
      expect(await store.tokens.findToken(a.token)).to.equal(null);
      const err = await store.tokens.deleteToken(a.record.id).then(
        () => null,
        (e: { code: string }) => e.code,
      );
      expect(err).to.equal('BWK_ERR_TOKEN_NOT_FOUND');
      const bad = await store.tokens.createToken({ project_id: 'p', role: 'root' as 'admin' }).then(
        () => null,
        (e: { code: string }) => e.code,
      );
      expect(bad).to.equal('BWK_ERR_INVALID_INPUT');
    });

    tokenHygieneCases(() => h);
    schedulingCases(() => h);
    quotaCases(() => h);
    notificationCases(() => h);

    describe('round trips', () => {
      it('stores a plan and returns it with its JSON fields exactly as given', async () => {
        const p = plan();
        expectSameJson(await store.createPlan(p), p);
        expectSameJson(await store.getPlan(A, p.id), p);
        expectSameJson(await store.listPlans({ projectId: A }), [p]);
      });

      it('updates only the patched plan fields and bumps updated_at', async () => {
        const p = await store.createPlan(plan());
        const patch = {
          name: 'renamed 🚀',
          status: 'started' as const,
          resources: [{ type: 't', id: 'i', name: 'n' }],
          parameters: { z: TRICKY },
        };
        const updated = await store.updatePlan(A, p.id, patch);
        expect(updated!.updated_at > PAST).to.equal(true);
        expectSameJson(updated, { ...p, ...patch, updated_at: updated!.updated_at });
        expectSameJson(await store.getPlan(null, p.id), updated);
        const described = await store.updatePlan(A, p.id, { description: 'only this' });
        expectSameJson({ ...described, updated_at: '' }, { ...updated, description: 'only this', updated_at: '' });
      });

      it('refuses a patch of a field that is not updatable, changing nothing', async () => {
        const p = await store.createPlan(plan());
        const sneaky = { name: 'x', project_id: B } as unknown as { name: string };
        await expectInvalid(store.updatePlan(A, p.id, sneaky), /project_id.*cannot be updated/);
        expectSameJson(await store.getPlan(A, p.id), p);
      });

      it('deletes a plan once', async () => {
        const p = await store.createPlan(plan());
        expect(await store.deletePlan(A, p.id)).to.equal(true);
        expect(await store.getPlan(null, p.id)).to.equal(null);
        expect(await store.deletePlan(A, p.id)).to.equal(false);
      });

      it('refuses a second record with an existing id', async () => {
        const p = await store.createPlan(plan());
        await expectInvalid(store.createPlan(plan({ id: p.id, name: 'other' })), /already exists/);
        expectSameJson(await store.getPlan(A, p.id), p);
      });

      it('stores restores (with and without target) and verifications exactly', async () => {
        const r1 = restore();
        const r2 = restore({ restore_target: null, status: 'success', token_id: null, client_address: null });
        const v = verification();
        for (const r of [r1, r2]) expectSameJson(await store.createRestore(r), r);
        expectSameJson(await store.createVerification(v), v);
        expectSameJson(await store.getRestore(A, r1.id), r1);
        expectSameJson(await store.getRestore(A, r2.id), r2);
        const gotV = await store.getVerification(A, v.id);
        expectSameJson(gotV, v);
        expect(gotV).to.not.have.property('restore_target');
      });

      it('updates restore and verification status and per-resource maps', async () => {
        const r = await store.createRestore(restore());
        const v = await store.createVerification(verification());
        const patch = {
          status: 'fail' as const,
          resources_status: { 'a#1': 'error', 'ü#2': 'done' },
          resources_reason: { 'a#1': 'disk full 💥' },
        };
        const ur = await store.updateRestore(A, r.id, patch);
        const uv = await store.updateVerification(A, v.id, patch);
        expectSameJson(ur, { ...r, ...patch, updated_at: ur!.updated_at });
        expectSameJson(uv, { ...v, ...patch, updated_at: uv!.updated_at });
        expect(ur!.updated_at > PAST && uv!.updated_at > PAST).to.equal(true);
        expectSameJson(await store.getRestore(A, r.id), ur);
        expectSameJson(await store.getVerification(A, v.id), uv);
      });

      it('returns null when updating a missing id, false when deleting one', async () => {
        const id = newId();
        expect(await store.updatePlan(null, id, { name: 'x' })).to.equal(null);
        expect(await store.updateRestore(null, id, { status: 'success' })).to.equal(null);
        expect(await store.updateVerification(null, id, { status: 'success' })).to.equal(null);
        expect(await store.deletePlan(null, id)).to.equal(false);
        expect(await store.getPlan(null, id)).to.equal(null);
        expect(await store.getRestore(null, id)).to.equal(null);
        expect(await store.getVerification(null, id)).to.equal(null);
      });
    });

    describe('tenancy', () => {
      it("hides a project's records from another project, and shows all to projectId null", async () => {
        const p = await store.createPlan(plan());
        const r = await store.createRestore(restore());
        const v = await store.createVerification(verification());
        const pb = await store.createPlan(plan({ project_id: B }));

        expect(await store.getPlan(B, p.id)).to.equal(null);
        expect(await store.getRestore(B, r.id)).to.equal(null);
        expect(await store.getVerification(B, v.id)).to.equal(null);
        expect(await store.updatePlan(B, p.id, { name: 'hijacked' })).to.equal(null);
        expect(await store.updateRestore(B, r.id, { status: 'success' })).to.equal(null);
        expect(await store.updateVerification(B, v.id, { status: 'success' })).to.equal(null);
        expect(await store.deletePlan(B, p.id)).to.equal(false);
        expect((await store.listPlans({ projectId: B })).map((x) => x.id)).to.deep.equal([pb.id]);
        expect(await store.listRestores({ projectId: B })).to.deep.equal([]);
        expect(await store.listVerifications({ projectId: B })).to.deep.equal([]);
        // Nothing B tried changed A's records.
        expectSameJson(await store.getPlan(A, p.id), p);
        expectSameJson(await store.getRestore(A, r.id), r);
        expectSameJson(await store.getVerification(A, v.id), v);

        expect((await store.listPlans({ projectId: null })).map((x) => x.id)).to.have.members([p.id, pb.id]);
        expectSameJson(await store.getRestore(null, r.id), r);
        expect((await store.updateVerification(null, v.id, { status: 'success' }))!.status).to.equal('success');
        expect(await store.deletePlan(null, pb.id)).to.equal(true);
      });

      it('answers a marker of another project exactly as an unknown one', async () => {
        const p = await store.createPlan(plan());
        const foreign = await expectInvalid(store.listPlans({ projectId: B, marker: p.id }), /marker .* not found/);
        const unknownId = newId();
        const unknown = await expectInvalid(store.listPlans({ projectId: B, marker: unknownId }), /marker .* not found/);
        expect(foreign.replace(p.id, '<id>')).to.equal(unknown.replace(unknownId, '<id>'));
        expect(await store.listPlans({ projectId: A, marker: p.id })).to.deep.equal([]);
      });
    });

    describe('listing', () => {
      // 35 plans of A, 10 of them sharing one created_at and 6 another, interleaved with 5 plans of B.
      async function seedPlans(): Promise<PlanRecord[]> {
        const seconds = (i: number) => (i < 10 ? 100 : i < 16 ? 50 : i);
        const mine: PlanRecord[] = [];
        for (let i = 0; i < 35; i++) {
          mine.push(await store.createPlan(plan({ created_at: at(seconds(i)), provider_id: i % 3 === 0 ? 'prov-x' : 'prov-1' })));
          if (i % 7 === 0) await store.createPlan(plan({ project_id: B, created_at: at(seconds(i)) }));
        }
        return mine;
      }

      for (const sort of ['asc', 'desc'] as const) {
        for (const limit of [1, 4, 7, 35]) {
          it(`pages plans with marker, limit ${limit}, ${sort}: each exactly once, in order`, async () => {
            const mine = await seedPlans();
            const expected = [...mine].sort(byCreated(sort === 'asc' ? 1 : -1)).map((p) => p.id);
            const ids = await allPages((marker) => store.listPlans({ projectId: A, limit, sort, marker }), limit);
            expect(ids).to.deep.equal(expected);
            expect(new Set(ids).size).to.equal(35);
          });
        }
      }

      it('lists newest first without a limit by default, and every project for projectId null', async () => {
        const mine = await seedPlans();
        expect((await store.listPlans({ projectId: A })).map((p) => p.id)).to.deep.equal([...mine].sort(byCreated(-1)).map((p) => p.id));
        const all = await store.listPlans({ projectId: null });
        expect(all.length).to.equal(40);
        const ids = await allPages((marker) => store.listPlans({ projectId: null, limit: 6, sort: 'asc', marker }), 6);
        expect(ids).to.deep.equal([...all].sort(byCreated(1)).map((p) => p.id));
      });

      it('filters plans by provider, also across pages', async () => {
        const mine = await seedPlans();
        const expected = mine
          .filter((p) => p.provider_id === 'prov-x')
          .sort(byCreated(-1))
          .map((p) => p.id);
        expect((await store.listPlans({ projectId: A, providerId: 'prov-x' })).map((p) => p.id)).to.deep.equal(expected);
        expect(await allPages((marker) => store.listPlans({ projectId: A, providerId: 'prov-x', limit: 2, marker }), 2)).to.deep.equal(
          expected,
        );
        expect(await store.listPlans({ projectId: A, providerId: 'nope' })).to.deep.equal([]);
      });

      it('filters restores and verifications by status and checkpoint, with paging', async () => {
        const statuses: OperationStatus[] = ['in_progress', 'success', 'fail'];
        const rs: RestoreRecord[] = [];
        const vs: VerificationRecord[] = [];
        for (let i = 0; i < 12; i++) {
          const o = { status: statuses[i % 3]!, checkpoint_id: i % 2 === 0 ? 'cp-even' : 'cp-odd', created_at: at(i < 6 ? 7 : i) };
          rs.push(await store.createRestore(restore(o)));
          vs.push(await store.createVerification(verification(o)));
        }
        for (const [list, records] of [
          [store.listRestores.bind(store), rs],
          [store.listVerifications.bind(store), vs],
        ] as const) {
          const want = (f: (r: { status: string; checkpoint_id: string }) => boolean, dir: 1 | -1 = -1) =>
            (records as { status: string; checkpoint_id: string; created_at: string; id: string }[])
              .filter(f)
              .sort(byCreated(dir))
              .map((r) => r.id);
          expect((await list({ projectId: A, status: 'success' })).map((r) => r.id)).to.deep.equal(want((r) => r.status === 'success'));
          expect((await list({ projectId: A, checkpointId: 'cp-odd' })).map((r) => r.id)).to.deep.equal(
            want((r) => r.checkpoint_id === 'cp-odd'),
          );
          expect((await list({ projectId: A, status: 'fail', checkpointId: 'cp-even' })).map((r) => r.id)).to.deep.equal(
            want((r) => r.status === 'fail' && r.checkpoint_id === 'cp-even'),
          );
          expect(
            await allPages((marker) => list({ projectId: A, checkpointId: 'cp-even', sort: 'asc', limit: 2, marker }), 2),
          ).to.deep.equal(want((r) => r.checkpoint_id === 'cp-even', 1));
          expect(await list({ projectId: B, status: 'success' })).to.deep.equal([]);
        }
      });

      it('refuses an unknown marker, a bad limit and a bad sort', async () => {
        await store.createPlan(plan());
        await expectInvalid(store.listPlans({ projectId: A, marker: newId() }), /marker .* not found/);
        await expectInvalid(store.listRestores({ projectId: null, marker: 'nope' }), /marker nope not found/);
        await expectInvalid(store.listVerifications({ projectId: A, marker: 'nope' }), /marker nope not found/);
        for (const limit of [0, -1, 1.5]) await expectInvalid(store.listPlans({ projectId: A, limit }), /limit .* positive integer/);
        await expectInvalid(store.listPlans({ projectId: A, sort: 'up' as 'asc' }), /sort "up"/);
      });

      describe('page sizes (issue 14: no listing returns a whole table)', () => {
        let small: CatalogHarness;
        beforeEach(async () => {
          small = await make({ pageSizes: { default: 5, max: 8 } });
        });
        afterEach(async () => {
          await small.cleanup();
        });

        it('returns the default page size without a limit and clamps a larger limit to the maximum', async () => {
          const mine: PlanRecord[] = [];
          for (let i = 0; i < 20; i++) mine.push(await small.store.createPlan(plan({ created_at: at(i) })));
          const newest = [...mine].sort(byCreated(-1)).map((p) => p.id);
          expect((await small.store.listPlans({ projectId: A })).map((p) => p.id)).to.deep.equal(newest.slice(0, 5));
          expect((await small.store.listPlans({ projectId: null, limit: 1000 })).map((p) => p.id)).to.deep.equal(newest.slice(0, 8));
          expect((await small.store.listPlans({ projectId: A, limit: 3 })).map((p) => p.id)).to.deep.equal(newest.slice(0, 3));
          // Paging without a limit still reaches every plan, each once.
          expect(await allPages((marker) => small.store.listPlans({ projectId: A, marker }), 5)).to.deep.equal(newest);
        });

        it('bounds restore and verification pages the same way', async () => {
          for (let i = 0; i < 12; i++) {
            await small.store.createRestore(restore({ created_at: at(i), status: 'success' }));
            await small.store.createVerification(verification({ created_at: at(i), status: 'success' }));
          }
          expect(await small.store.listRestores({ projectId: A })).to.have.length(5);
          expect(await small.store.listVerifications({ projectId: null, limit: 100 })).to.have.length(8);
        });

        it('still lists every in-progress record for crash recovery, page by page', async () => {
          const ids: string[] = [];
          for (let i = 0; i < 19; i++) ids.push((await small.store.createRestore(restore({ created_at: at(i) }))).id);
          await small.store.createRestore(restore({ created_at: at(3), status: 'fail' }));
          const got = await small.store.listInProgress();
          expect(got.restores.map((r) => r.id)).to.deep.equal(ids);
          expect(got.verifications).to.deep.equal([]);
        });
      });

      it('starts a page after a position as it does after a marker, and refuses both at once', async () => {
        const rs: RestoreRecord[] = [];
        for (let i = 0; i < 9; i++) rs.push(await store.createRestore(restore({ created_at: at(i < 4 ? 1 : i) })));
        const sorted = [...rs].sort(byCreated(1));
        const pivot = sorted[2]!;
        const byMarker = await store.listRestores({ projectId: A, sort: 'asc', marker: pivot.id, limit: 4 });
        const byPosition = await store.listRestores({
          projectId: A,
          sort: 'asc',
          after: { created_at: pivot.created_at, id: pivot.id },
          limit: 4,
        });
        expect(byPosition.map((r) => r.id)).to.deep.equal(sorted.slice(3, 7).map((r) => r.id));
        expect(byPosition).to.deep.equal(byMarker);
        // A position need not be a record's: operation logs page restores from a checkpoint's position
        // (newest first, "after" (at(5), "zzzz") includes at(5) itself, as every UUID sorts before "zzzz").
        const between = { created_at: at(5), id: 'zzzz' };
        expect((await store.listVerifications({ projectId: A, after: between })).map((v) => v.id)).to.deep.equal([]);
        expect((await store.listRestores({ projectId: A, after: between })).map((r) => r.id)).to.deep.equal(
          sorted
            .filter((r) => r.created_at <= at(5))
            .reverse()
            .map((r) => r.id),
        );
        await expectInvalid(store.listRestores({ projectId: A, marker: pivot.id, after: pivot }), /marker or a position/);
      });

      it('counts the plans of one project (the plans_per_project quota)', async () => {
        expect(await store.countPlans(A)).to.equal(0);
        for (let i = 0; i < 3; i++) await store.createPlan(plan());
        await store.createPlan(plan({ project_id: B }));
        expect(await store.countPlans(A)).to.equal(3);
        expect(await store.countPlans(B)).to.equal(1);
        expect(await store.countPlans('project-none')).to.equal(0);
      });

      it('lists in-progress restores and verifications of every project, oldest first', async () => {
        const r1 = await store.createRestore(restore({ created_at: at(2) }));
        const r2 = await store.createRestore(restore({ project_id: B, created_at: at(1) }));
        await store.createRestore(restore({ status: 'success' }));
        // Sharing one created_at and inserted in descending id order: only the id tie-break orders them.
        const tied: RestoreRecord[] = [];
        for (const id of [newId(), newId(), newId(), newId()].sort().reverse())
          tied.unshift(await store.createRestore(restore({ id, created_at: at(3) })));
        const v1 = await store.createVerification(verification({ project_id: B }));
        await store.createVerification(verification({ status: 'fail' }));
        const got = await store.listInProgress();
        expectSameJson(got, { restores: [r2, r1, ...tied], verifications: [v1] });
        await store.updateRestore(B, r2.id, { status: 'fail' });
        await store.updateVerification(null, v1.id, { status: 'success' });
        expect((await store.listInProgress()).restores.map((r) => r.id)).to.deep.equal([r1, ...tied].map((r) => r.id));
        expect((await store.listInProgress()).verifications).to.deep.equal([]);
      });
    });

    it('keeps its data when the same database is opened again (migrations are idempotent)', async function () {
      if (!h.reopen) this.skip(); // a :memory: store has nothing to reopen
      const p = await store.createPlan(plan());
      const r = await store.createRestore(restore());
      await store.close();
      await store.close(); // closing twice is harmless
      for (let i = 0; i < 2; i++) {
        const again = await h.reopen!();
        expectSameJson(await again.getPlan(A, p.id), p);
        expectSameJson(await again.listRestores({ projectId: null }), [r]);
        await again.close();
      }
    });
  });
}
