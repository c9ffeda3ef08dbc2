import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BulwarkApp } from '../../src/processes/app.js';
import { openBulwark } from '../../src/processes/app.js';
import { resourceKey, resourcePrefix } from '../../src/bank/layout.js';
import { PrefixedBankSection } from '../../src/bank/section.js';
import type { CheckpointRecord } from '../../src/checkpoints/model.js';
import type { RequestContext } from '../../src/protection-manager/request.js';
import { flipChunkByte, flipPlainByte, homeBank } from '../helpers/bank-files.js';
import { supportsIcuDatabases } from '../helpers/pg-database.js';
import { tempDir } from '../helpers/paths.js';
import {
  PG_PROVIDER_ID, admin, createDb, dbExists, dropDb, fingerprint, populate, uniqueName, withDb, writePgProvider,
} from '../helpers/postgres-fixture.js';
import { pgUrl, requireService } from '../helpers/services.js';

/**
 * The postgres plugin through the real app (provider file → plan → protect → restore / verify) against
 * the PostgreSQL of pgUrl(). Correctness is judged by PostgreSQL itself: a fingerprint of every row,
 * the sequence, the view and the indexes, computed without Bulwark.
 */
describe('postgres plugin: round trip, conflicts, verify (real PostgreSQL)', function () {
  this.timeout(300_000);
  const ctx: RequestContext = { projectId: 'default', admin: false };
  const home = tempDir('pg-plugin');
  const source = uniqueName('bwk_pg_src');
  const created: string[] = [source];
  let app: BulwarkApp;
  let original: Record<string, string>;
  let checkpoint: CheckpointRecord;

  const restore = async (parameters: Record<string, unknown>, checkpointId = checkpoint.id) =>
    (await (await app.manager.restore(ctx, { checkpoint_id: checkpointId, parameters: { 'postgres.database': parameters } })).done).record;
  const verify = async (checkpointId: string) => (await (await app.manager.verify(ctx, { checkpoint_id: checkpointId })).done).record;
  const protect = async (): Promise<CheckpointRecord> => {
    const plan = await app.manager.createPlan(ctx, { name: 'pg', provider_id: PG_PROVIDER_ID, resources: [{ type: 'postgres.database', id: `main/${source}` }] });
    return (await (await app.manager.protect(ctx, plan.id)).done).record;
  };
  const dumpFile = (checkpointId: string) => join(home.path, 'bank', 'checkpoints', checkpointId, 'resources', resourceKey('postgres.database', `main/${source}`), 'dump');
  const ref = `postgres.database#main/${source}`;
  const sectionPrefix = (checkpointId: string) => resourcePrefix(checkpointId, resourceKey('postgres.database', `main/${source}`));
  /** The section protect wrote, read through the app's own chunk store. */
  const stored = (checkpointId: string) => {
    const provider = app.providers.get(PG_PROVIDER_ID);
    return new PrefixedBankSection(provider.bank, provider.chunks, sectionPrefix(checkpointId), ref);
  };

  before(async function () {
    requireService(this, 'PostgreSQL', pgUrl());
    await createDb(source);
    await populate(source);
    original = await fingerprint(source);
    writePgProvider(home.path);
    app = await openBulwark(home.path);
    checkpoint = await protect();
  });
  after(async () => {
    await app?.close();
    for (const db of created) await dropDb(db);
    home.cleanup();
  });

  it('the fixture is what the round trip claims to cover', () => {
    expect(original['table orders']).to.match(/^100000 rows, md5 [0-9a-f]{32}$/);
    expect(original['sequence order_no']).to.equal(String(1000 + 100_000 - 1));
    expect(original['view big_orders']).to.include('JOIN customers');
    expect(original['index orders_by_customer']).to.include('(customer_id, created)');
    expect(checkpoint.status, JSON.stringify(checkpoint.extra_info)).to.equal('available');
  });

  it('lists the database through app.manager.protectables, and the server with it as a dependent', async () => {
    const provider = app.providers.get(PG_PROVIDER_ID);
    const listed = await provider.protectables.get('postgres.database')!.listResources({ projectId: 'default', parameters: { server: 'main' } });
    expect(listed.map((r) => r.id)).to.include(`main/${source}`);
    expect(listed.map((r) => r.id).filter((id) => /^main\/template[01]$/.test(id))).to.deep.equal([]);
    // Discovery through the manager reaches the operator's provider (server `main`), not the built-in one.
    const instances = await app.manager.protectables.instances(ctx, 'postgres.database', { server: 'main' });
    expect(instances.map((r) => r.id)).to.include(`main/${source}`);
    const server = await app.manager.protectables.instance(ctx, 'postgres.server', 'main');
    expect(server.dependent_resources.map((r) => r.id)).to.include(`main/${source}`);
    const missing = await app.manager.createPlan(ctx, { name: 'x', provider_id: PG_PROVIDER_ID, resources: [{ type: 'postgres.database', id: `main/${source}_missing` }] })
      .then(() => null, (e: { code: string }) => e.code);
    expect(missing).to.equal('BWK_ERR_RESOURCE_NOT_FOUND');
  });

  it('protect → drop the database → restore gives back identical data', async () => {
    expect(checkpoint.status).to.equal('available');
    await dropDb(source);
    const record = await restore({});
    expect(record.status, JSON.stringify(record.resources_reason)).to.equal('success');
    expect(await fingerprint(source)).to.deep.equal(original);
  });

  it('restores under another name and leaves the original untouched', async () => {
    const copy = uniqueName('bwk_pg_copy');
    created.push(copy);
    await withDb(source, (c) => c.query("insert into settings values (99, '\"local change\"')"));
    const changed = await fingerprint(source);
    const record = await restore({ target_database: copy, jobs: 2 });
    expect(record.status, JSON.stringify(record.resources_reason)).to.equal('success');
    expect(await fingerprint(copy)).to.deep.equal(original);
    expect(await fingerprint(source)).to.deep.equal(changed);
  });

  it('restores in the prepare_begin hook with phase: prepare (for stacks whose files depend on it)', async () => {
    const copy = uniqueName('bwk_pg_early');
    created.push(copy);
    const record = await restore({ target_database: copy, phase: 'prepare' });
    expect(record.status, JSON.stringify(record.resources_reason)).to.equal('success');
    expect(await fingerprint(copy)).to.deep.equal(original);
  });

  it('conflict "fail" refuses an existing target before touching it; "drop" replaces it', async () => {
    await withDb(source, (c) => c.query("insert into settings values (100, '\"must survive a refused restore\"')"));
    const before = await fingerprint(source);
    const refused = await restore({});
    expect(refused.status).to.equal('fail');
    expect(refused.resources_reason[`postgres.database#main/${source}`]).to.match(/BWK_ERR_RESTORE_CONFLICT.*already exists.*conflict "drop"/);
    expect(await fingerprint(source)).to.deep.equal(before);

    const replaced = await restore({ conflict: 'drop' });
    expect(replaced.status, JSON.stringify(replaced.resources_reason)).to.equal('success');
    expect(await fingerprint(source)).to.deep.equal(original);
    const leftovers = await withDb('postgres', (c) => c.query("select datname from pg_database where datname like 'bwk_restore_%'"));
    expect(leftovers.rows, 'no temporary restore database is left behind').to.deep.equal([]);
  });

  it('refuses a target_server the provider does not configure before any restore record exists', async () => {
    const err = await app.manager.restore(ctx, { checkpoint_id: checkpoint.id, parameters: { 'postgres.database': { target_server: 'elsewhere' } } })
      .then(() => null, (e: { code: string; message: string }) => e);
    expect(err?.code).to.equal('BWK_ERR_PARAMETERS_INVALID');
    expect(err?.message).to.include('target_server "elsewhere" is not configured (configured: main)');
  });

  it('verify succeeds on a good dump; after one flipped byte it fails naming the resource, and restore writes nothing', async () => {
    const cp = await protect();
    expect(cp.status).to.equal('available');
    expect((await verify(cp.id)).status).to.equal('success');

    // One byte flipped where the dump is stored (a chunk in its pack).
    const spot = await flipChunkByte(homeBank(home.path), sectionPrefix(cp.id), 'dump');
    const failed = await verify(cp.id);
    expect(failed.status).to.equal('fail');
    const reason = failed.resources_reason[ref];
    expect(reason).to.match(/BWK_ERR_DATA_CORRUPT/);
    expect(reason).to.include(ref);

    const target = uniqueName('bwk_pg_corrupt');
    created.push(target);
    const refused = await restore({ target_database: target }, cp.id);
    expect(refused.status).to.equal('fail');
    expect(refused.resources_reason[ref]).to.match(/BWK_ERR_DATA_CORRUPT/).and.to.include(ref).and.to.include(spot.id);
    expect(await dbExists(target), 'nothing was restored').to.equal(false);
    // Flipped back: the chunk may be shared with the first checkpoint's dump (deduplication).
    await flipChunkByte(homeBank(home.path), sectionPrefix(cp.id), 'dump');
    expect((await verify(cp.id)).status).to.equal('success');

    // One byte changed in the dump itself, stored well-formed: only the dump's SHA-256 in meta.json catches it.
    const bytes = await flipPlainByte(stored(cp.id), 'dump');
    const altered = await verify(cp.id);
    expect(altered.status).to.equal('fail');
    expect(altered.resources_reason[ref]).to.match(/BWK_ERR_DATA_CORRUPT.*does not match the SHA-256/).and.to.include(ref);
    const refusedAltered = await restore({ target_database: target }, cp.id);
    expect(refusedAltered.status).to.equal('fail');
    expect(refusedAltered.resources_reason[ref]).to.match(/BWK_ERR_DATA_CORRUPT.*does not match the SHA-256/);
    expect(await dbExists(target), 'nothing was restored').to.equal(false);

    // Re-sealing meta.json over the altered dump (as someone with write access to the bank could)
    // is caught by the saved info the checkpoint keeps apart.
    const metaFile = join(dumpFile(cp.id), '..', 'meta.json');
    writeFileSync(metaFile, JSON.stringify({ ...JSON.parse(readFileSync(metaFile, 'utf8')), sha256: createHash('sha256').update(bytes).digest('hex') }));
    const resealed = await verify(cp.id);
    expect(resealed.status).to.equal('fail');
    expect(resealed.resources_reason[ref]).to.match(/BWK_ERR_DATA_CORRUPT.*saved with the checkpoint/);
    expect(existsSync(dumpFile(checkpoint.id)), 'the first checkpoint still has its dump').to.equal(true);
  });

  it('recreates the database with its encoding and locale provider (an ICU database stays ICU)', async function () {
    if (!(await supportsIcuDatabases(pgUrl()))) this.skip();
    const icu = uniqueName('bwk_pg_icu');
    const copy = uniqueName('bwk_pg_icu_copy');
    created.push(icu, copy);
    await admin(`create database ${icu} template template0 encoding 'UTF8' locale_provider icu icu_locale 'en-US'`);
    await withDb(icu, (c) => c.query("create table words (id int primary key, w text); insert into words values (1, 'b'), (2, 'A'), (3, 'a')"));
    const plan = await app.manager.createPlan(ctx, { name: 'icu', provider_id: PG_PROVIDER_ID, resources: [{ type: 'postgres.database', id: `main/${icu}` }] });
    const cp = (await (await app.manager.protect(ctx, plan.id)).done).record;
    expect(cp.status, JSON.stringify(cp.extra_info)).to.equal('available');
    const record = (await (await app.manager.restore(ctx, { checkpoint_id: cp.id, parameters: { 'postgres.database': { target_database: copy } } })).done).record;
    expect(record.status, JSON.stringify(record.resources_reason)).to.equal('success');
    const props = async (db: string) => (await admin("select pg_encoding_to_char(encoding) as enc, datlocprovider as provider, coalesce(to_jsonb(d)->>'datlocale', to_jsonb(d)->>'daticulocale') as locale from pg_database d where datname = $1", [db])).rows[0];
    expect(await props(copy)).to.deep.equal(await props(icu));
    expect(await fingerprint(copy)).to.deep.equal(await fingerprint(icu));
  });

  it('deleting a checkpoint removes its dump and meta.json', async () => {
    const cp = await protect();
    const dir = join(home.path, 'bank', 'checkpoints', cp.id, 'resources', resourceKey('postgres.database', `main/${source}`));
    expect(existsSync(join(dir, 'meta.json'))).to.equal(true);
    await app.manager.deleteCheckpoint(ctx, cp.id);
    expect(existsSync(join(dir, 'dump'))).to.equal(false);
    expect(existsSync(join(dir, 'meta.json'))).to.equal(false);
  });
});
