import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { BulwarkApp } from '../../src/processes/app.js';
import { openBulwark } from '../../src/processes/app.js';
import { resourceKey, resourcePrefix } from '../../src/bank/layout.js';
import { PrefixedBankSection } from '../../src/bank/section.js';
import type { CheckpointRecord } from '../../src/checkpoints/model.js';
import { silentLogger } from '../../src/common/logging.js';
import type { RequestContext } from '../../src/protection-manager/request.js';
import { flipChunkByte, flipPlainByte, homeBank } from '../helpers/bank-files.js';
import {
  MARIADB_PROVIDER_ID, createDb, databasesLike, dbExists, dropDb, fingerprint, populate, sql, uniqueName, writeMariaDbProvider,
} from '../helpers/mariadb-fixture.js';
import { tempDir } from '../helpers/paths.js';
import { mariadbUrl, requireService } from '../helpers/services.js';

/**
 * The mariadb plugin through the real app (provider file → plan → protect → restore / verify) against
 * the MariaDB of mariadbUrl(). Correctness is judged by MariaDB itself: CHECKSUM TABLE and SHOW CREATE
 * of every table, view, trigger and procedure, computed without Bulwark.
 */
describe('mariadb plugin: round trip, conflicts, verify (real MariaDB)', function () {
  this.timeout(300_000);
  const ctx: RequestContext = { projectId: 'default', admin: false };
  const home = tempDir('mariadb-plugin');
  const source = uniqueName();
  const created: string[] = [source];
  const ref = `mariadb.database#main/${source}`;
  let app: BulwarkApp;
  let original: Record<string, string>;
  let checkpoint: CheckpointRecord;

  const restore = async (parameters: Record<string, unknown>, checkpointId = checkpoint.id) =>
    (await (await app.manager.restore(ctx, { checkpoint_id: checkpointId, parameters: { 'mariadb.database': parameters } })).done).record;
  const verify = async (checkpointId: string) => (await (await app.manager.verify(ctx, { checkpoint_id: checkpointId })).done).record;
  const protect = async (): Promise<CheckpointRecord> => {
    const plan = await app.manager.createPlan(ctx, { name: 'mariadb', provider_id: MARIADB_PROVIDER_ID, resources: [{ type: 'mariadb.database', id: `main/${source}` }] });
    return (await (await app.manager.protect(ctx, plan.id)).done).record;
  };
  const sectionDir = (checkpointId: string) => join(home.path, 'bank', 'checkpoints', checkpointId, 'resources', resourceKey('mariadb.database', `main/${source}`));
  const sectionPrefix = (checkpointId: string) => resourcePrefix(checkpointId, resourceKey('mariadb.database', `main/${source}`));
  /** The section protect wrote, read through the app's own chunk store. */
  const stored = (checkpointId: string) => {
    const provider = app.providers.get(MARIADB_PROVIDER_ID);
    return new PrefixedBankSection(provider.bank, provider.chunks, sectionPrefix(checkpointId), ref);
  };
  const newName = (): string => {
    const name = uniqueName();
    created.push(name);
    return name;
  };

  before(async function () {
    requireService(this, 'MariaDB', mariadbUrl());
    await createDb(source);
    await populate(source);
    original = await fingerprint(source);
    writeMariaDbProvider(home.path);
    app = await openBulwark(home.path);
    checkpoint = await protect();
  });
  after(async () => {
    await app?.close();
    for (const db of created) await dropDb(db);
    home.cleanup();
  });

  it('the fixture is what the round trip claims to cover', () => {
    expect(original['table orders']).to.match(/^100001 rows, checksum \d+$/);
    expect(original['table audit']).to.match(/^1 rows, /);
    expect(original['create table orders']).to.include('KEY `orders_by_customer` (`customer_id`,`created`)').and.to.include('ENGINE=InnoDB');
    expect(original['view big_orders']).to.include('join `customers`');
    expect(original['trigger orders_audit']).to.include('AFTER INSERT ON orders');
    expect(original['procedure customer_total']).to.include('SELECT SUM(amount) INTO total');
    expect(original.charset).to.equal('utf8mb4 utf8mb4_unicode_ci');
    expect(checkpoint.status, JSON.stringify(checkpoint.extra_info)).to.equal('available');
  });

  it('the provider\'s protectable lists the test database for {server: "main"}, and no system database', async () => {
    const provider = app.providers.get(MARIADB_PROVIDER_ID);
    const listed = (await provider.protectables.get('mariadb.database')!.listResources({ projectId: 'default', parameters: { server: 'main' } })).map((r) => r.id);
    expect(listed).to.include(`main/${source}`);
    expect(listed.filter((id) => /^main\/(mysql|sys|information_schema|performance_schema)$/i.test(id))).to.deep.equal([]);
    const server = await provider.protectables.get('mariadb.server')!.listResources({ projectId: 'default', parameters: {} });
    expect(server.map((r) => r.id)).to.deep.equal(['main']);
    const missing = await app.manager.createPlan(ctx, { name: 'x', provider_id: MARIADB_PROVIDER_ID, resources: [{ type: 'mariadb.database', id: `main/${source}_missing` }] })
      .then(() => null, (e: { code: string }) => e.code);
    expect(missing).to.equal('BWK_ERR_RESOURCE_NOT_FOUND');
  });

  it('stores a mariadb-dump without CREATE DATABASE, with meta.json recording the charset', async () => {
    const bytes = await stored(checkpoint.id).get('dump.sql');
    const dump = bytes.toString('utf8');
    expect(dump).to.not.match(/^CREATE DATABASE/m);
    expect(dump).to.not.match(/^USE /m);
    expect(dump).to.match(/-- Dump completed/);
    const meta = JSON.parse(readFileSync(join(sectionDir(checkpoint.id), 'meta.json'), 'utf8')) as Record<string, unknown>;
    expect(meta).to.include({ object: 'dump.sql', tool: 'mariadb-dump' });
    expect(meta.source).to.deep.equal({ server: 'main', database: source, format: 'sql', charset: { charset: 'utf8mb4', collation: 'utf8mb4_unicode_ci' } });
    expect(meta.sha256).to.equal(createHash('sha256').update(bytes).digest('hex'));
  });

  it('protect → drop the database → restore gives back identical data', async () => {
    await dropDb(source);
    const record = await restore({});
    expect(record.status, JSON.stringify(record.resources_reason)).to.equal('success');
    expect(await fingerprint(source)).to.deep.equal(original);
  });

  it('restores under another name and leaves the original untouched', async () => {
    const copy = newName();
    await sql("INSERT INTO customers VALUES (5000, 'local change', NULL);", source);
    const changed = await fingerprint(source);
    const record = await restore({ target_database: copy });
    expect(record.status, JSON.stringify(record.resources_reason)).to.equal('success');
    expect(await fingerprint(copy)).to.deep.equal(original);
    expect(await fingerprint(source)).to.deep.equal(changed);
  });

  it('conflict "fail" refuses an existing target before touching it; "drop" replaces it', async () => {
    await sql("INSERT INTO customers VALUES (5001, 'must survive a refused restore', NULL);", source);
    const before = await fingerprint(source);
    const refused = await restore({});
    expect(refused.status).to.equal('fail');
    expect(refused.resources_reason[ref]).to.match(/BWK_ERR_RESTORE_CONFLICT.*already exists.*conflict "drop"/);
    expect(await fingerprint(source)).to.deep.equal(before);

    await sql('CREATE TABLE only_in_target (id INT PRIMARY KEY);', source);
    const replaced = await restore({ conflict: 'drop' });
    expect(replaced.status, JSON.stringify(replaced.resources_reason)).to.equal('success');
    expect(await fingerprint(source)).to.deep.equal(original);
    expect(await databasesLike('bwk_restore_'), 'no temporary restore database is left behind').to.deep.equal([]);
  });

  it('refuses an unconfigured target_server or a system database as target before any restore record exists', async () => {
    const attempt = (parameters: Record<string, unknown>) => app.manager.restore(ctx, { checkpoint_id: checkpoint.id, parameters: { 'mariadb.database': parameters } })
      .then(() => null, (e: { code: string; message: string }) => e);
    const server = await attempt({ target_server: 'elsewhere' });
    expect(server?.code).to.equal('BWK_ERR_PARAMETERS_INVALID');
    expect(server?.message).to.include('target_server "elsewhere" is not configured (configured: main)');
    const system = await attempt({ target_database: 'mysql', conflict: 'drop' });
    expect(system?.code).to.equal('BWK_ERR_PARAMETERS_INVALID');
    expect(system?.message).to.include('"mysql" is a system database');
  });

  it('verify succeeds on a good dump; after one flipped byte it fails naming the resource, and restore writes nothing', async () => {
    const cp = await protect();
    expect(cp.status).to.equal('available');
    expect((await verify(cp.id)).status).to.equal('success');

    // One byte flipped where the dump is stored (a chunk in its pack).
    const spot = await flipChunkByte(homeBank(home.path), sectionPrefix(cp.id), 'dump.sql');
    const failed = await verify(cp.id);
    expect(failed.status).to.equal('fail');
    expect(failed.resources_reason[ref]).to.match(/BWK_ERR_DATA_CORRUPT/).and.to.include(ref);

    const target = newName();
    const refused = await restore({ target_database: target }, cp.id);
    expect(refused.status).to.equal('fail');
    expect(refused.resources_reason[ref]).to.match(/BWK_ERR_DATA_CORRUPT/).and.to.include(ref).and.to.include(spot.id);
    expect(await dbExists(target), 'nothing was restored').to.equal(false);
    // Flipped back: the chunk may be shared with other checkpoints of this database (deduplication).
    await flipChunkByte(homeBank(home.path), sectionPrefix(cp.id), 'dump.sql');
    expect((await verify(cp.id)).status).to.equal('success');

    // One byte changed in the dump itself, stored well-formed: only the dump's SHA-256 in meta.json catches it.
    await flipPlainByte(stored(cp.id), 'dump.sql');
    const altered = await verify(cp.id);
    expect(altered.status).to.equal('fail');
    expect(altered.resources_reason[ref]).to.match(/BWK_ERR_DATA_CORRUPT.*does not match the SHA-256/).and.to.include(ref);
    const refusedAltered = await restore({ target_database: target }, cp.id);
    expect(refusedAltered.status).to.equal('fail');
    expect(refusedAltered.resources_reason[ref]).to.match(/BWK_ERR_DATA_CORRUPT.*does not match the SHA-256/);
    expect(await dbExists(target), 'nothing was restored').to.equal(false);
  });

  it('verify checks the dump\'s structure: a hash-consistent dump without its trailer or header is corrupt', async () => {
    const provider = app.providers.get(MARIADB_PROVIDER_ID);
    const resource = { type: 'mariadb.database', id: `main/${source}`, name: source };
    const plugin = provider.protection.get('mariadb.database')!;
    const bank = new PrefixedBankSection(provider.bank, provider.chunks, `test-structure-${source}/`, `mariadb.database#main/${source}`);
    const good = await stored(checkpoint.id).get('dump.sql');
    const meta = JSON.parse((await stored(checkpoint.id).get('meta.json')).toString('utf8')) as Record<string, unknown>;
    const run = async (dump: Buffer) => {
      await bank.putStream('dump.sql', Readable.from([dump]));
      await bank.put('meta.json', JSON.stringify({ ...meta, size: dump.length, sha256: createHash('sha256').update(dump).digest('hex') }));
      return plugin.getVerifyOperation(resource).main!({
        operationId: 'op', checkpointId: 'cp', projectId: 'default', resource, parameters: {}, bank, signal: new AbortController().signal,
        logger: silentLogger, progress: () => undefined, resumeState: null, saveResumeState: () => undefined, verificationId: 'v', savedInfo: null,
      }).then(() => null, (e: { code: string; message: string }) => e);
    };
    try {
      expect(await run(good)).to.equal(null);
      const cut = good.subarray(0, good.lastIndexOf('-- Dump completed'));
      const truncated = await run(cut);
      expect(truncated?.code).to.equal('BWK_ERR_DATA_CORRUPT');
      expect(truncated?.message).to.include(ref).and.to.include('"-- Dump completed"');
      const headless = await run(good.subarray(good.indexOf('\n/*!40101')));
      expect(headless?.code).to.equal('BWK_ERR_DATA_CORRUPT');
      expect(headless?.message).to.include('does not begin with mariadb-dump\'s header');
    } finally {
      for (const name of await bank.list()) await bank.delete(name);
    }
  });

  it('deleting a checkpoint removes its dump and meta.json', async () => {
    const cp = await protect();
    expect(existsSync(join(sectionDir(cp.id), 'meta.json'))).to.equal(true);
    await app.manager.deleteCheckpoint(ctx, cp.id);
    expect(existsSync(join(sectionDir(cp.id), 'dump.sql'))).to.equal(false);
    expect(existsSync(join(sectionDir(cp.id), 'meta.json'))).to.equal(false);
  });
});
