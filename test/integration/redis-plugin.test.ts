import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { openBulwark } from '../../src/processes/app.js';
import type { BulwarkApp } from '../../src/processes/app.js';
import type { RequestContext } from '../../src/protection-manager/request.js';
import { chunkListOf, chunkPlaintexts, flipChunkByte, flipPlainByte, homeBank, resourceSectionPrefix } from '../helpers/bank-files.js';
import { PrefixedBankSection } from '../../src/bank/section.js';
import { tempDir } from '../helpers/paths.js';
import { BINARY_KEY, SEEDED_BY_TYPE, comparable, seedAllTypes, snapshot } from '../helpers/redis-data.js';
import { redisUrl, requireService } from '../helpers/services.js';

/**
 * The built-in `redis` plugin through the real app (local engine, fs bank, SQLite catalog) against
 * the machine's Redis. It only touches databases 9 and 10, which it flushes, and one ACL user it
 * creates and deletes.
 */
describe('redis plugin (redis.instance)', function () {
  this.timeout(120_000);
  const ctx: RequestContext = { projectId: 'default', admin: false };
  const PROVIDER_ID = '7e57d15c-5ed1-4000-8000-000000000009';
  const SRC_DB = 9;
  const ALT_DB = 10;
  const url = new URL(redisUrl());
  const host = url.hostname || '127.0.0.1';
  const port = Number(url.port || 6379);
  const user = `bwk_${randomBytes(6).toString('hex')}`;
  const secret = `s3cret-${randomBytes(16).toString('hex')}`;
  const wrongSecret = `wrong-${randomBytes(16).toString('hex')}`;
  const envName = `BWK_TEST_REDIS_PW_${randomBytes(4).toString('hex').toUpperCase()}`;
  const clientOptions = { host, port, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null };
  const src = new Redis({ ...clientOptions, db: SRC_DB });
  const alt = new Redis({ ...clientOptions, db: ALT_DB });
  let home: ReturnType<typeof tempDir>;
  let app: BulwarkApp;

  const closedPort = (): Promise<number> =>
    new Promise((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port: p } = server.address() as { port: number };
        server.close(() => resolve(p));
      });
    });

  before(async function () {
    requireService(this, 'Redis', redisUrl());
    await src.connect();
    await alt.connect();
    await src.call('ACL', 'SETUSER', user, 'on', `>${secret}`, '~*', '+@all');
    home = tempDir('redis-plugin');
    const instances = {
      src: { host, port, db: SRC_DB },
      secure: { host, port, db: SRC_DB, username: user, password_env: envName },
      down: { host: '127.0.0.1', port: await closedPort(), db: 0, connect_timeout_ms: 2000 },
    };
    await openApp(instances);
  });

  async function openApp(instances: Record<string, unknown>): Promise<void> {
    mkdirSync(join(home.path, 'providers'), { recursive: true });
    writeFileSync(
      join(home.path, 'providers', 'redis-test.yaml'),
      [
        `id: ${PROVIDER_ID}`,
        'name: redis-test',
        'plugins:',
        '  - name: redis',
        `    options: ${JSON.stringify({ instances })}`,
        'bank:',
        '  type: fs',
        '  options: {path: bank}',
        '',
      ].join('\n'),
    );
    app = await openBulwark(home.path);
  }

  beforeEach(async () => {
    process.env[envName] = secret;
    await src.flushdb();
    await alt.flushdb();
  });

  after(async () => {
    delete process.env[envName];
    if (src.status === 'ready') {
      await src.flushdb();
      await alt.flushdb();
      await src.call('ACL', 'DELUSER', user);
      await src.quit();
      await alt.quit();
    }
    await app?.close();
    home?.cleanup();
  });

  const protect = async (id = 'src') => {
    const plan = await app.manager.createPlan(ctx, {
      name: `redis-${id}`,
      provider_id: PROVIDER_ID,
      resources: [{ type: 'redis.instance', id }],
    });
    return (await (await app.manager.protect(ctx, plan.id)).done).record;
  };
  const restore = async (checkpointId: string, parameters: Record<string, unknown> = {}) =>
    (await (await app.manager.restore(ctx, { checkpoint_id: checkpointId, parameters: { 'redis.instance': parameters } })).done).record;
  const verify = async (checkpointId: string) => (await (await app.manager.verify(ctx, { checkpoint_id: checkpointId })).done).record;
  const reasons = (r: { resources_reason: Record<string, string> }) => Object.values(r.resources_reason).join('\n');
  const savedInfo = (checkpointId: string) => {
    const dir = join(home.path, 'bank', 'checkpoints', checkpointId, 'saved-info');
    return JSON.parse(readFileSync(join(dir, readdirSync(dir)[0]!), 'utf8')) as Record<string, unknown>;
  };

  it('round-trips every key type, binary keys and values and TTLs, into the same and another database', async () => {
    const seeded = await seedAllTypes(src);
    const before = await snapshot(src);
    expect(before.size).to.equal(seeded);
    const cp = await protect();
    expect(cp.status).to.equal('available');
    expect(savedInfo(cp.id)).to.include({ keys: seeded });
    expect(savedInfo(cp.id).by_type).to.deep.equal(SEEDED_BY_TYPE);
    expect(savedInfo(cp.id).skipped).to.deep.equal({ vanished: 0, expired: 0 });

    await src.flushdb();
    const back = await restore(cp.id);
    expect(back.status, reasons(back)).to.equal('success');
    const after = await snapshot(src);
    expect(comparable(after)).to.deep.equal(comparable(before));
    expect(after.has(BINARY_KEY.toString('hex')), 'the binary key name survives').to.equal(true);
    for (const [key, state] of before) {
      if (state.pttl < 0) continue;
      const restored = after.get(key)!;
      expect(restored.pttl, `TTL of ${key}`).to.be.greaterThan(0).and.at.most(state.pttl);
    }

    const other = await restore(cp.id, { target_db: ALT_DB });
    expect(other.status, reasons(other)).to.equal('success');
    expect(comparable(await snapshot(alt))).to.deep.equal(comparable(before));

    await app.manager.deleteCheckpoint(ctx, cp.id);
    expect(existsSync(join(home.path, 'bank', 'checkpoints', cp.id, 'resources'))).to.equal(false);
  });

  it('conflict "fail" refuses before writing anything; "replace" overwrites', async () => {
    await seedAllTypes(src);
    const original = comparable(await snapshot(src));
    const cp = await protect();

    // One existing key in an otherwise empty target is enough to refuse, and nothing else is written.
    await alt.set('filler:3', 'already here');
    const refused = await restore(cp.id, { target_db: ALT_DB });
    expect(refused.status).to.equal('fail');
    expect(reasons(refused))
      .to.match(/BWK_ERR_RESTORE_CONFLICT/)
      .and.to.include('filler:3')
      .and.to.include('replace');
    expect(await alt.dbsize()).to.equal(1);
    expect(await alt.get('filler:3')).to.equal('already here');

    await src.set('str:plain', 'changed');
    await src.del('list:1', 'filler:7');
    const changed = comparable(await snapshot(src));
    const again = await restore(cp.id);
    expect(again.status).to.equal('fail');
    expect(comparable(await snapshot(src))).to.deep.equal(changed);

    const replaced = await restore(cp.id, { conflict: 'replace' });
    expect(replaced.status, reasons(replaced)).to.equal('success');
    expect(comparable(await snapshot(src))).to.deep.equal(original);

    const unknown = await app.manager
      .restore(ctx, { checkpoint_id: cp.id, parameters: { 'redis.instance': { target_instance: 'nope' } } })
      .then(
        () => null,
        (e: { code: string; message: string }) => e,
      );
    expect(unknown?.code).to.equal('BWK_ERR_PARAMETERS_INVALID');
    expect(unknown?.message).to.include('src, secure, down');
  });

  it('verify reads the records back: a flipped byte fails it naming the resource, and restore refuses', async () => {
    await seedAllTypes(src);
    const cp = await protect();
    expect((await verify(cp.id)).status).to.equal('success');

    // A stored byte of the chunk holding the records' 70th percentile, in its pack: verify must read that far.
    const prefix = resourceSectionPrefix(home.path, cp.id);
    const at = Math.floor((await chunkListOf(homeBank(home.path), prefix, 'records')).size * 0.7);
    const spot = await flipChunkByte(homeBank(home.path), prefix, 'records', at);
    const failed = await verify(cp.id);
    expect(failed.status).to.equal('fail');
    expect(reasons(failed))
      .to.match(/BWK_ERR_DATA_CORRUPT/)
      .and.to.include('redis.instance#src')
      .and.to.include(spot.id);

    const refused = await restore(cp.id, { target_db: ALT_DB });
    expect(refused.status).to.equal('fail');
    expect(reasons(refused)).to.match(/BWK_ERR_DATA_CORRUPT/);
    expect(await alt.dbsize(), 'nothing restored from a corrupt checkpoint').to.equal(0);

    // Flipped back (its chunks may be shared with other checkpoints), then one byte of the records
    // themselves changed and stored well-formed: only the records' own SHA-256 in meta.json catches it.
    await flipChunkByte(homeBank(home.path), prefix, 'records', at);
    expect((await verify(cp.id)).status).to.equal('success');
    const provider = app.providers.get(PROVIDER_ID);
    await flipPlainByte(new PrefixedBankSection(provider.chunks, prefix, 'redis.instance#src'), 'records', at);
    const altered = await verify(cp.id);
    expect(altered.status).to.equal('fail');
    expect(reasons(altered))
      .to.match(/BWK_ERR_DATA_CORRUPT/)
      .and.to.include('redis.instance#src');
    const refusedAltered = await restore(cp.id, { target_db: ALT_DB });
    expect(refusedAltered.status).to.equal('fail');
    expect(reasons(refusedAltered)).to.match(/BWK_ERR_DATA_CORRUPT/);
    expect(await alt.dbsize(), 'nothing restored from a corrupt checkpoint').to.equal(0);
  });

  it('refuses instances that are not configured or cannot be reached', async () => {
    const plan = (id: string) =>
      app.manager.createPlan(ctx, { name: 'bad', provider_id: PROVIDER_ID, resources: [{ type: 'redis.instance', id }] }).then(
        () => null,
        (e: { code: string; message: string }) => e,
      );
    const down = await plan('down');
    expect(down?.code).to.equal('BWK_ERR_RESOURCE_NOT_FOUND');
    expect(down?.message).to.include('redis.instance#down').and.to.include('ECONNREFUSED');
    const missing = await plan('nope');
    expect(missing?.code).to.equal('BWK_ERR_RESOURCE_NOT_FOUND');
    expect(missing?.message).to.include('configured: src, secure, down');
  });

  it('reads a password from password_env at use time and never writes it into the home', async () => {
    await seedAllTypes(src);
    const cp = await protect('secure');
    expect(cp.status).to.equal('available');
    expect((await verify(cp.id)).status).to.equal('success');
    const back = await restore(cp.id, { target_db: ALT_DB });
    expect(back.status, reasons(back)).to.equal('success');
    expect(comparable(await snapshot(alt))).to.deep.equal(comparable(await snapshot(src)));

    // A wrong password is refused by Redis, and the error does not carry it either.
    process.env[envName] = wrongSecret;
    const wrong = await app.manager
      .createPlan(ctx, { name: 'w', provider_id: PROVIDER_ID, resources: [{ type: 'redis.instance', id: 'secure' }] })
      .then(
        () => null,
        (e: { code: string; message: string }) => e,
      );
    expect(wrong?.code).to.equal('BWK_ERR_RESOURCE_NOT_FOUND');
    expect(wrong?.message)
      .to.match(/WRONGPASS/)
      .and.not.include(wrongSecret);
    const failed = await restore(cp.id, { target_db: ALT_DB, conflict: 'replace' });
    expect(failed.status).to.equal('fail');
    delete process.env[envName];
    const unset = await protect('secure').catch((e: { code: string; message: string }) => e);
    expect(JSON.stringify(unset)).to.include(envName);

    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(dir, e.name));
        else if (e.isFile()) files.push(join(dir, e.name));
      }
    };
    walk(home.path);
    expect(files.some((f) => f.endsWith('records'))).to.equal(true);
    expect(files.some((f) => f.endsWith('catalog.db'))).to.equal(true);
    expect(files.some((f) => f.endsWith('bulwark.log'))).to.equal(true);
    for (const f of files) {
      const bytes = readFileSync(f);
      expect(bytes.includes(Buffer.from(secret)), `${f} holds the password`).to.equal(false);
      expect(bytes.includes(Buffer.from(wrongSecret)), `${f} holds the wrong password`).to.equal(false);
    }
    // Stored chunks are compressed: search what they hold, too.
    for await (const c of chunkPlaintexts(homeBank(home.path))) {
      expect(c.data.includes(Buffer.from(secret)), `chunk ${c.id} in pack ${c.pack} holds the password`).to.equal(false);
      expect(c.data.includes(Buffer.from(wrongSecret)), `chunk ${c.id} in pack ${c.pack} holds the wrong password`).to.equal(false);
    }
  });

  it('refuses a password written into the provider options, without repeating it', async () => {
    const other = tempDir('redis-bad-options');
    try {
      mkdirSync(join(other.path, 'providers'));
      const leaked = `hunter2-${randomBytes(8).toString('hex')}`;
      writeFileSync(
        join(other.path, 'providers', 'bad.yaml'),
        [
          'id: 7e57d15c-5ed1-4000-8000-00000000000a',
          'name: bad',
          'plugins:',
          '  - name: redis',
          `    options: {instances: {x: {host: 127.0.0.1, password: ${leaked}}}}`,
          'bank:',
          '  type: fs',
          '',
        ].join('\n'),
      );
      const err = await openBulwark(other.path).then(
        async (a) => {
          await a.close();
          return null;
        },
        (e: { code: string; message: string }) => e,
      );
      expect(err?.code).to.equal('BWK_ERR_PLUGIN_INVALID');
      expect(err?.message).to.include('password_env').and.not.include(leaked);
    } finally {
      other.cleanup();
    }
  });
});
