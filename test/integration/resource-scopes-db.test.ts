import { expect } from 'chai';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dump as toYaml } from 'js-yaml';
import { Redis } from 'ioredis';
import type { ApiApp } from '../helpers/api-app.js';
import { openApiApp } from '../helpers/api-app.js';
import * as maria from '../helpers/mariadb-fixture.js';
import { tempDir } from '../helpers/paths.js';
import * as pgf from '../helpers/postgres-fixture.js';
import { mariadbUrl, pgUrl, redisUrl, requireService } from '../helpers/services.js';
import { waitFor } from '../helpers/wait.js';

const REDIS_PROVIDER = '7e57d15c-5ed1-4000-8000-0000000005c0';
const SRC_DB = 11;
const OTHER_DB = 12;
const COPY_DB = 13;

/**
 * Resource scopes for the database types through REST with real member tokens: planning and
 * protecting a database outside `scopes.b`, or restoring into one, is a coded 403 and leaves the
 * target as it was; inside the scope the same steps work.
 */
describe('resource scopes: postgres, mariadb and redis through REST', function () {
  this.timeout(180_000);
  const home = tempDir('scopes-db');
  const pgB = pgf.uniqueName('bwk_scope_b');
  const pgA = pgf.uniqueName('bwk_scope_a');
  const myB = maria.uniqueName('bwk_scope_b');
  const myA = maria.uniqueName('bwk_scope_a');
  const url = new URL(redisUrl());
  const redisOptions = { host: url.hostname || '127.0.0.1', port: Number(url.port || 6379), lazyConnect: true, maxRetriesPerRequest: 1 };
  const redisSrc = new Redis({ ...redisOptions, db: SRC_DB });
  const redisOther = new Redis({ ...redisOptions, db: OTHER_DB });
  let h: ApiApp;
  let member = '';
  let admin = '';

  const call = async (method: 'GET' | 'POST', path: string, body?: unknown, token = member) => {
    const r = await h.api.inject({
      method,
      url: `/v1/b${path}`,
      headers: { 'x-auth-token': token, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
    return {
      status: r.statusCode,
      body: (r.body ? JSON.parse(r.body) : {}) as Record<string, { id: string; status: string }> & { code?: string },
    };
  };
  const denied = (a: { status: number; body: { code?: string } }): void => {
    expect(a.status, JSON.stringify(a.body)).to.equal(403);
    expect(a.body.code).to.equal('BWK_ERR_RESOURCE_DENIED');
  };
  const plan = (provider: string, type: string, id: string) =>
    call('POST', '/plans', { plan: { name: 'db', provider_id: provider, resources: [{ type, id }] } });
  /** Plans and protects `id`, waiting for the checkpoint; returns its id. */
  async function protectedCheckpoint(provider: string, type: string, id: string): Promise<string> {
    const p = await plan(provider, type, id);
    expect(p.status, JSON.stringify(p.body)).to.equal(200);
    const cp = await call('POST', `/providers/${provider}/checkpoints`, { checkpoint: { plan_id: p.body.plan!.id } });
    expect(cp.status, JSON.stringify(cp.body)).to.equal(202);
    const done = await waitFor('the protect', async () => {
      const c = (await call('GET', `/providers/${provider}/checkpoints/${cp.body.checkpoint!.id}`)).body.checkpoint!;
      return c.status === 'protecting' ? null : c;
    });
    expect(done.status).to.equal('available');
    return done.id;
  }
  /** What a member sees listing `type` (with listing parameters). */
  const listed = async (type: string, parameters: Record<string, unknown> = {}) => {
    const q = Object.keys(parameters).length ? `?parameters=${encodeURIComponent(JSON.stringify(parameters))}` : '';
    const r = await call('GET', `/protectables/${type}/instances${q}`);
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    return (r.body.instances as unknown as Array<{ id: string }>).map((i) => i.id);
  };
  /** A plan outside the member's scope, made in its project by an admin: the member may not protect it. */
  async function protectRefused(provider: string, type: string, id: string): Promise<void> {
    const p = await call('POST', '/plans', { plan: { name: 'admin-made', provider_id: provider, resources: [{ type, id }] } }, admin);
    expect(p.status, JSON.stringify(p.body)).to.equal(200);
    const before = ((await call('GET', `/providers/${provider}/checkpoints`)).body.checkpoints as unknown as unknown[]).length;
    denied(await call('POST', `/providers/${provider}/checkpoints`, { checkpoint: { plan_id: p.body.plan!.id } }));
    expect(((await call('GET', `/providers/${provider}/checkpoints`)).body.checkpoints as unknown as unknown[]).length).to.equal(before);
  }
  const restore = (checkpointId: string, type: string, parameters: Record<string, unknown>) =>
    call('POST', '/restores', { restore: { checkpoint_id: checkpointId, parameters: { [type]: parameters } } });
  const restored = async (id: string) =>
    waitFor('the restore', async () => {
      const r = (await call('GET', `/restores/${id}`)).body.restore!;
      return r.status === 'in_progress' ? null : r;
    });

  before(async function () {
    requireService(this, 'PostgreSQL', pgUrl());
    requireService(this, 'MariaDB', mariadbUrl());
    requireService(this, 'Redis', redisUrl());
    for (const d of [pgA, pgB]) await pgf.createDb(d);
    for (const d of [myA, myB]) await maria.createDb(d);
    await pgf.withDb(pgA, (c) => c.query("create table t (v text); insert into t values ('A')"));
    await maria.sql(`CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('A')`, myA);
    await redisSrc.connect();
    await redisOther.connect();
    await redisSrc.flushdb();
    await redisOther.flushdb();
    await redisSrc.set('k', 'from src');
    await redisOther.set('k', 'other project');
    pgf.writePgProvider(home.path);
    maria.writeMariaDbProvider(home.path);
    mkdirSync(join(home.path, 'providers'), { recursive: true });
    const instances = { src: { ...redisOptions, db: SRC_DB }, other: { ...redisOptions, db: OTHER_DB } };
    writeFileSync(
      join(home.path, 'providers', 'redis.yaml'),
      toYaml({
        id: REDIS_PROVIDER,
        name: 'redis-scopes',
        plugins: [
          {
            name: 'redis',
            options: {
              instances: {
                src: { host: instances.src.host, port: instances.src.port, db: SRC_DB },
                other: { host: instances.other.host, port: instances.other.port, db: OTHER_DB },
              },
            },
          },
        ],
        bank: { type: 'fs', options: { path: 'bank' } },
      }),
    );
    const scopes = {
      b: {
        'postgres.database': { protect: [`main/${pgB}`], restore: [`main/${pgB}_*`] },
        'mariadb.database': { protect: [`main/${myB}`], restore: [`main/${myB}_*`] },
        'redis.instance': { protect: ['src'], restore: [`src/${COPY_DB}`] },
      },
    };
    writeFileSync(join(home.path, 'bulwark.yaml'), toYaml({ scopes }));
    h = await openApiApp(home.path);
    member = await h.token('b');
    admin = await h.token('ops', 'admin');
  });
  after(async () => {
    await h?.close();
    for (const d of [pgA, pgB, `${pgB}_copy`]) await pgf.dropDb(d).catch(() => undefined);
    for (const d of [myA, myB, `${myB}_copy`]) await maria.dropDb(d).catch(() => undefined);
    if (redisSrc.status === 'ready') {
      for (const c of [redisSrc, redisOther]) await c.flushdb();
      await redisSrc.select(COPY_DB);
      await redisSrc.flushdb();
      await redisSrc.quit();
      await redisOther.quit();
    }
    home.cleanup();
  });

  it('postgres.database: listing, planning, protecting and restoring outside the scope refused; inside, they work', async () => {
    const seen = await listed('postgres.database', { server: 'main' });
    expect(seen).to.include(`main/${pgB}`).and.not.to.include(`main/${pgA}`);
    denied(await plan(pgf.PG_PROVIDER_ID, 'postgres.database', `main/${pgA}`));
    await protectRefused(pgf.PG_PROVIDER_ID, 'postgres.database', `main/${pgA}`);
    denied(await plan(pgf.PG_PROVIDER_ID, 'postgres.server', 'main')); // the whole server: every database on it
    const checkpoint = await protectedCheckpoint(pgf.PG_PROVIDER_ID, 'postgres.database', `main/${pgB}`);
    denied(await restore(checkpoint, 'postgres.database', { target_database: pgA, conflict: 'drop' }));
    expect((await pgf.withDb(pgA, (c) => c.query('select v from t'))).rows).to.deep.equal([{ v: 'A' }]);
    const ok = await restore(checkpoint, 'postgres.database', { target_database: `${pgB}_copy` });
    expect(ok.status, JSON.stringify(ok.body)).to.equal(202);
    expect((await restored(ok.body.restore!.id)).status).to.equal('success');
    expect(await pgf.dbExists(`${pgB}_copy`)).to.equal(true);
  });

  it('mariadb.database: listing, planning, protecting and restoring outside the scope refused; inside, they work', async () => {
    const seen = await listed('mariadb.database', { server: 'main' });
    expect(seen).to.include(`main/${myB}`).and.not.to.include(`main/${myA}`);
    denied(await plan(maria.MARIADB_PROVIDER_ID, 'mariadb.database', `main/${myA}`));
    await protectRefused(maria.MARIADB_PROVIDER_ID, 'mariadb.database', `main/${myA}`);
    const checkpoint = await protectedCheckpoint(maria.MARIADB_PROVIDER_ID, 'mariadb.database', `main/${myB}`);
    denied(await restore(checkpoint, 'mariadb.database', { target_database: myA, conflict: 'drop' }));
    expect(await maria.sql('SELECT v FROM t', myA)).to.deep.equal([['A']]);
    const ok = await restore(checkpoint, 'mariadb.database', { target_database: `${myB}_copy` });
    expect(ok.status, JSON.stringify(ok.body)).to.equal(202);
    expect((await restored(ok.body.restore!.id)).status).to.equal('success');
    expect(await maria.dbExists(`${myB}_copy`)).to.equal(true);
  });

  it('redis.instance: another instance, or another db of its own, refused for listing, planning, protecting, restoring', async () => {
    expect(await listed('redis.instance')).to.deep.equal(['src']);
    denied(await plan(REDIS_PROVIDER, 'redis.instance', 'other'));
    await protectRefused(REDIS_PROVIDER, 'redis.instance', 'other');
    const checkpoint = await protectedCheckpoint(REDIS_PROVIDER, 'redis.instance', 'src');
    denied(await restore(checkpoint, 'redis.instance', { target_instance: 'other', conflict: 'replace' }));
    denied(await restore(checkpoint, 'redis.instance', { target_db: OTHER_DB, conflict: 'replace' }));
    // Without target_db it writes into the checkpoint's own db, which the request does not name: the scope must allow the instance.
    denied(await restore(checkpoint, 'redis.instance', { conflict: 'replace' }));
    expect(await redisOther.get('k')).to.equal('other project');
    const ok = await restore(checkpoint, 'redis.instance', { target_db: COPY_DB });
    expect(ok.status, JSON.stringify(ok.body)).to.equal(202);
    expect((await restored(ok.body.restore!.id)).status).to.equal('success');
    await redisSrc.select(COPY_DB);
    expect(await redisSrc.get('k')).to.equal('from src');
  });
});
