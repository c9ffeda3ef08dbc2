/**
 * Catalog contract cases of issue 15 (token expiry and last use, who started an operation), and the
 * upgrade from a catalog the previous build wrote. Registered by describeCatalogContract, so every
 * adapter runs them.
 */
import type { OldCatalog } from '../helpers/old-catalog.js';
import { expect } from 'chai';
import { hashToken } from '../../src/store/tokens.js';
import type { CatalogHarness } from './catalog.contract.js';

/** The last migration of the build before issue 15: an "old" catalog is migrated up to it. */
export const PRE_ISSUE_15_MIGRATION = '0002_tokens';

const OLD_SECRET = 'bwk_an-old-token-made-before-expiries-existed-0123456789';
const OLD_TOKEN = { id: 'b0b7c2e4-9d62-4c55-8a5e-1f9a4f2c0a11', project_id: 'old', role: 'member', description: 'from before' };
const OLD_RESTORE = {
  id: '5e4b1f9a-9c1e-4f4c-9d2e-3b2a1c0d9e8f',
  project_id: 'old',
  provider_id: 'prov-1',
  checkpoint_id: 'cp-old',
  parameters: '{}',
  status: 'success',
  resources_status: '{}',
  resources_reason: '{}',
  created_at: '2024-01-01T00:00:00.000Z',
  updated_at: '2024-01-01T00:00:00.000Z',
  restore_target: null,
};

/** Rows as the previous build wrote them: no expiry, no last use, no token id on the restore. */
async function seedOldCatalog(db: OldCatalog): Promise<void> {
  await db
    .insertInto('tokens')
    .values({ ...OLD_TOKEN, token_hash: hashToken(OLD_SECRET), created_at: '2024-01-01T00:00:00.000Z' })
    .execute();
  await db.insertInto('restores').values(OLD_RESTORE).execute();
}

export function tokenHygieneCases(harness: () => CatalogHarness): void {
  it('tokens: keep an expiry and a last use, and list both (issue 15)', async () => {
    const { store } = harness();
    const expires = '2031-02-03T04:05:06.789Z';
    const t = await store.tokens.createToken({ project_id: 'proj-a', role: 'member', expires_at: expires });
    const never = await store.tokens.createToken({ project_id: 'proj-a', role: 'member' });
    expect(t.record.expires_at).to.equal(expires);
    expect(never.record.expires_at).to.equal(null);
    expect(await store.tokens.findToken(t.token)).to.deep.equal({ ...t.record, last_used_at: null });
    const used = '2030-01-01T00:00:00.000Z';
    await store.tokens.markTokenUsed(t.record.id, used);
    await store.tokens.markTokenUsed('00000000-0000-4000-8000-000000000000', used); // gone: nothing happens
    const listed = await store.tokens.listTokens('proj-a');
    const byId = new Map(listed.map((r) => [r.id, r]));
    expect(byId.get(t.record.id)).to.deep.equal({ ...t.record, last_used_at: used });
    expect(byId.get(never.record.id)).to.deep.equal(never.record);
    expect(listed).to.have.length(2);
  });

  it('opens a catalog the previous build wrote: its tokens work, never expire, and its restores name no token', async function () {
    const h = harness();
    if (!h.openMigratedTo) this.skip(); // only adapters that can hold an old database run it
    const store = await h.openMigratedTo(PRE_ISSUE_15_MIGRATION, seedOldCatalog);
    const found = await store.tokens.findToken(OLD_SECRET);
    expect(found).to.deep.equal({ ...OLD_TOKEN, created_at: '2024-01-01T00:00:00.000Z', expires_at: null, last_used_at: null });
    await store.tokens.markTokenUsed(OLD_TOKEN.id, '2030-01-01T00:00:00.000Z');
    expect((await store.tokens.listTokens('old'))[0]!.last_used_at).to.equal('2030-01-01T00:00:00.000Z');
    const restore = await store.getRestore('old', OLD_RESTORE.id);
    expect(restore).to.include({ id: OLD_RESTORE.id, status: 'success', token_id: null, client_address: null });
    const fresh = await store.tokens.createToken({ project_id: 'old', role: 'admin', expires_at: '2031-01-01T00:00:00.000Z' });
    expect((await store.tokens.findToken(fresh.token))?.expires_at).to.equal('2031-01-01T00:00:00.000Z');
  });
}
