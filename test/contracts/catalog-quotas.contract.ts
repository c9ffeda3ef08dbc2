/**
 * Catalog contract cases of issue 25: quota limits set through the API, per project and per quota
 * class. Registered by describeCatalogContract, so every adapter runs them.
 */
import { expect } from 'chai';
import { QuotaLimits } from '../../src/protection-manager/quota-limits.js';
import type { CatalogHarness } from './catalog.contract.js';

const CONFIG = { plans_per_project: 50, triggers_per_project: 7, scheduled_operations_per_project: 9 };

export function quotaCases(harness: () => CatalogHarness): void {
  it('services: one row per host and binary, reused on registration; heartbeat, stop and status', async () => {
    const { services } = harness().store;
    const a = await services.register('h1', 'bulwark-worker', 60_000);
    expect(a).to.include({ host: 'h1', binary: 'bulwark-worker', status: 'enabled', disabled_reason: null });
    expect(Date.parse(a.expires_at)).to.be.greaterThan(Date.now());
    const other = await services.register('h2', 'bulwark-worker', 60_000);
    expect(other.id).to.not.equal(a.id);
    expect((await services.setStatus(a.id, 'disabled', 'why'))!).to.include({ status: 'disabled', disabled_reason: 'why' });
    await services.markStopped(a.id);
    expect(Date.parse((await services.get(a.id))!.expires_at)).to.be.at.most(Date.now());
    // A restart reuses the row, and keeps it disabled.
    const again = await services.register('h1', 'bulwark-worker', 60_000);
    expect(again).to.include({ id: a.id, status: 'disabled', disabled_reason: 'why' });
    expect((await services.heartbeat(a.id, 60_000))!.id).to.equal(a.id);
    expect(await services.heartbeat('00000000-0000-4000-8000-000000000000', 1000)).to.equal(null);
    expect((await services.list({ host: 'h1' })).map((s) => s.id)).to.deep.equal([a.id]);
    expect((await services.list({ binary: 'bulwark-worker' })).map((s) => s.host)).to.deep.equal(['h1', 'h2']);
    expect((await services.setStatus(a.id, 'enabled', 'ignored'))!).to.include({ status: 'enabled', disabled_reason: null });
    expect(await services.setStatus('00000000-0000-4000-8000-000000000000', 'enabled', null)).to.equal(null);
  });

  it('quotas: keeps limits per project and per class, changing only the ones given', async () => {
    const { quotas } = harness().store;
    expect(await quotas.limits('project', 'qa')).to.deep.equal({});
    await quotas.setLimits('project', 'qa', { plans: 3, triggers: -1 });
    await quotas.setLimits('project', 'qa', { plans: 4 });
    await quotas.setLimits('class', 'qa', { plans: 99 }); // a class of the same name is another owner
    expect(await quotas.limits('project', 'qa')).to.deep.equal({ plans: 4, triggers: -1 });
    expect(await quotas.limits('project', 'qb')).to.deep.equal({});
    expect(await quotas.limits('class', 'qa')).to.deep.equal({ plans: 99 });
    await quotas.setLimits('project', 'qa', {});
    expect(await quotas.limits('project', 'qa')).to.deep.equal({ plans: 4, triggers: -1 });
    // Large limits come back as numbers, not as the strings PostgreSQL gives bigints as.
    await quotas.setLimits('class', 'big', { plans: 2 ** 31 - 1 });
    expect(await quotas.limits('class', 'big')).to.deep.equal({ plans: 2 ** 31 - 1 });
  });

  it('quotas: a project gets its own limit, else the class default, else the config; checkCount names the quota', async () => {
    const { store } = harness();
    const limits = new QuotaLimits(store.quotas, CONFIG);
    expect((await limits.projectLimits('qa')).plans).to.deep.equal({ limit: 50, source: 'quotas.plans_per_project in bulwark.yaml' });
    await store.quotas.setLimits('class', 'default', { plans: 20 });
    await store.quotas.setLimits('project', 'qa', { triggers: -1 });
    const qa = await limits.projectLimits('qa');
    expect(qa).to.deep.equal({
      plans: { limit: 20, source: 'quota class default' },
      triggers: { limit: -1, source: 'set for the project' },
      scheduled_operations: { limit: 9, source: 'quotas.scheduled_operations_per_project in bulwark.yaml' },
    });
    await limits.checkCount('qa', 'plans', 19);
    await limits.checkCount('qa', 'triggers', 1_000_000); // unlimited
    const err = await limits.checkCount('qa', 'plans', 20).then(
      () => null,
      (e: { code: string; message: string }) => e,
    );
    expect(err?.code).to.equal('BWK_ERR_QUOTA_EXCEEDED');
    expect(err?.message).to.include('project qa already has 20 plans, its quota plans (quota class default) is 20');
    expect(await limits.classLimits('default')).to.deep.equal({ plans: 20, triggers: 7, scheduled_operations: 9 });
    expect(await limits.classLimits('gold')).to.deep.equal({ plans: 50, triggers: 7, scheduled_operations: 9 });
  });
}
