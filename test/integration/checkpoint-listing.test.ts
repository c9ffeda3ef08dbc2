import { expect } from 'chai';
import { FsBank } from '../../src/bank/adapters/fs.js';
import { CountingBank } from '../../src/bank/adapters/counting.js';
import { CheckpointCollection } from '../../src/checkpoints/collection.js';
import type { CheckpointRecord } from '../../src/checkpoints/model.js';
import { tempDir } from '../helpers/paths.js';

const PLAN_A = 'aaaaaaaa-0000-4000-8000-000000000000';
const PLAN_B = 'bbbbbbbb-0000-4000-8000-000000000000';
const T0 = Date.parse('2026-01-01T00:00:00.000Z');

function record(i: number): CheckpointRecord {
  const created = new Date(T0 + i * 60_000).toISOString(); // one a minute: spans several days of by-date index
  const plan = i % 5 === 0 ? PLAN_B : PLAN_A;
  return {
    id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    project_id: i % 7 === 0 ? 'other' : 'default',
    provider_id: 'cf56bd3e-97a7-4078-b6d5-f36246333fd9',
    status: i % 11 === 0 ? 'error' : 'available',
    protection_plan: { id: plan, name: plan, resources: [] },
    resource_graph: null,
    created_at: created,
    updated_at: created,
    extra_info: {},
  };
}

describe('checkpoint listing over 5,000 checkpoints in the fs bank', function () {
  this.timeout(300_000);
  const dir = tempDir('listing');
  const counting = new CountingBank(new FsBank(dir.path));
  const checkpoints = new CheckpointCollection(counting);
  const all = Array.from({ length: 5000 }, (_, i) => record(i));
  const ofPlan = (plan: string, project: string | null) =>
    all.filter((r) => r.protection_plan.id === plan && (project === null || r.project_id === project));
  const newestFirst = (rs: CheckpointRecord[]) => [...rs].sort((a, b) => (a.created_at < b.created_at ? 1 : -1)).map((r) => r.id);

  before(async () => {
    for (let i = 0; i < all.length; i += 100) await Promise.all(all.slice(i, i + 100).map((r) => checkpoints.create(r)));
  });
  after(() => dir.cleanup());

  it('list by plan with limit 20 reads 20 records and 20 index entries, nothing else', async () => {
    counting.reset();
    const page = await checkpoints.list({ projectId: null, planId: PLAN_A, limit: 20 });
    expect(page.map((r) => r.id)).to.deep.equal(newestFirst(ofPlan(PLAN_A, null)).slice(0, 20));
    expect(counting.counts.objectsRead).to.equal(20);
    expect(counting.counts.keysListed).to.equal(20);
    expect(counting.counts.lists).to.equal(1);
  });

  it('a marker costs one more read, not a scan', async () => {
    const first = await checkpoints.list({ projectId: null, planId: PLAN_A, limit: 20 });
    counting.reset();
    const second = await checkpoints.list({ projectId: null, planId: PLAN_A, limit: 20, marker: first[19]!.id });
    expect(second.map((r) => r.id)).to.deep.equal(newestFirst(ofPlan(PLAN_A, null)).slice(20, 40));
    expect(counting.counts.objectsRead).to.equal(21);
  });

  for (const sort of ['desc', 'asc'] as const) {
    it(`paging through a plan ${sort} returns every checkpoint exactly once, in order`, async () => {
      const seen: string[] = [];
      let marker: string | undefined;
      for (;;) {
        const page = await checkpoints.list({ projectId: 'default', planId: PLAN_B, limit: 37, sort, ...(marker ? { marker } : {}) });
        seen.push(...page.map((r) => r.id));
        if (page.length < 37) break;
        marker = page[page.length - 1]!.id;
      }
      const expected = newestFirst(ofPlan(PLAN_B, 'default'));
      expect(seen).to.deep.equal(sort === 'desc' ? expected : expected.reverse());
    });
  }

  it('time bounds start the listing at the bound instead of reading past entries', async () => {
    const since = new Date(T0 + 4000 * 60_000);
    const until = new Date(T0 + 4100 * 60_000);
    counting.reset();
    const page = await checkpoints.list({ projectId: null, planId: PLAN_A, since, until, sort: 'asc' });
    const expected = ofPlan(PLAN_A, null)
      .filter((r) => r.created_at >= since.toISOString() && r.created_at <= until.toISOString())
      .map((r) => r.id);
    expect(page.map((r) => r.id)).to.deep.equal(expected);
    expect(counting.counts.objectsRead).to.equal(expected.length);
  });

  it('filters by status and project, and lists a project across plans newest first', async () => {
    const errors = await checkpoints.list({ projectId: 'default', planId: PLAN_A, status: 'error', limit: 5 });
    expect(errors.map((r) => r.id)).to.deep.equal(newestFirst(ofPlan(PLAN_A, 'default').filter((r) => r.status === 'error')).slice(0, 5));
    const other = await checkpoints.list({ projectId: 'other', limit: 10 });
    expect(other.map((r) => r.id)).to.deep.equal(newestFirst(all.filter((r) => r.project_id === 'other')).slice(0, 10));
    const byDate = await checkpoints.list({ projectId: null, limit: 3, sort: 'asc' });
    expect(byDate.map((r) => r.id)).to.deep.equal(all.slice(0, 3).map((r) => r.id));
  });
});
