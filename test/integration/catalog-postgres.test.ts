// PostgreSQL-only behaviour the shared contract cannot express: server errors, several processes on one database, collations.
import { expect } from 'chai';
import { createServer } from 'node:net';
import { isBulwarkError } from '../../src/core/errors.js';
import { newId } from '../../src/common/ids.js';
import { openCatalogStore } from '../../src/store/factory.js';
import type { CatalogStore } from '../../src/store/port.js';
import { openPostgresStore } from '../../src/store/postgres.js';
import type { PlanRecord } from '../../src/store/records.js';
import { createTempDatabase, supportsIcuDatabases, withServer, type TempDatabase } from '../helpers/pg-database.js';
import { pgUrl, requirePrerequisite, requireService } from '../helpers/services.js';
import { waitFor } from '../helpers/wait.js';

const PASSWORD = 's3cret-Pw';

function plan(o: Partial<PlanRecord> = {}): PlanRecord {
  const at = '2024-01-01T00:00:00.000Z';
  return {
    id: newId(),
    project_id: 'project-a',
    name: 'p',
    description: '',
    provider_id: 'prov-1',
    status: 'suspended',
    resources: [],
    parameters: {},
    created_at: at,
    updated_at: at,
    ...o,
  };
}

/** A port nothing listens on: bound once by us, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function openFailure(url: string): Promise<Error & { toJSON(): unknown }> {
  const err = await openPostgresStore(url).then(
    async (s) => {
      await s.close();
      return null;
    },
    (e: unknown) => e,
  );
  expect(isBulwarkError(err, 'BWK_ERR_CATALOG_UNUSABLE'), `expected BWK_ERR_CATALOG_UNUSABLE, got ${String(err)}`).to.equal(true);
  const e = err as Error & { toJSON(): unknown };
  // Neither the message, nor the wire form, nor the stack may carry the password.
  expect(`${e.message} ${JSON.stringify(e.toJSON())} ${e.stack ?? ''}`).to.not.include(PASSWORD);
  return e;
}

/** Connections the server holds open on `database` (other than the asking one). */
async function connectionsTo(database: string): Promise<number> {
  return withServer(pgUrl(), async (c) => {
    const r = await c.query<{ n: number }>(
      'select count(*)::int as n from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
      [database],
    );
    return r.rows[0]!.n;
  });
}

/** Resolves once the server holds no connection on `database`; the server lets go of them in its own time. */
const connectionsGone = (what: string, database: string): Promise<true> =>
  waitFor(what, async () => ((await connectionsTo(database)) === 0 ? true : undefined), 5_000, 25);

describe('PostgreSQL catalog adapter', () => {
  let database: TempDatabase;
  const opened: CatalogStore[] = [];
  const open = async (url = database.url) => {
    const store = await openPostgresStore(url);
    opened.push(store);
    return store;
  };

  before(function () {
    requireService(this, 'PostgreSQL', pgUrl());
  });
  beforeEach(async () => {
    database = await createTempDatabase(pgUrl());
  });
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
    await database.drop();
  });

  it('migrates once, however often and however concurrently the database is opened', async () => {
    // Two processes starting together: the migrator's advisory lock lets one create the schema.
    const [first, second] = await Promise.all([open(), open()]);
    const p = await first!.createPlan(plan());
    const third = await open(database.url.replace(/^postgres:/, 'postgresql:'));
    expect((await third.getPlan(null, p.id))?.name).to.equal('p');
    expect(await second!.listPlans({ projectId: null })).to.have.length(1);
    await withServer(database.url, async (c) => {
      expect((await c.query('select name from kysely_migration order by name')).rows).to.deep.equal([
        { name: '0001_catalog' },
        { name: '0002_tokens' },
        { name: '0003_token_expiry' },
        { name: '0004_operation_origin' },
        { name: '0005_scheduling' },
        { name: '0006_quotas' },
        { name: '0007_services' },
        { name: '0010_notifications' },
      ]);
      const tables = await c.query(
        "select table_name from information_schema.tables where table_schema = 'public' and table_name not like 'kysely%' order by 1",
      );
      expect(tables.rows.map((r: { table_name: string }) => r.table_name)).to.deep.equal([
        'notification_deliveries',
        'operation_logs',
        'plans',
        'quota_limits',
        'restores',
        'scheduled_operations',
        'services',
        'subscriptions',
        'tokens',
        'triggers',
        'verifications',
      ]);
    });
  });

  it('is selected by the factory for postgres:// and postgresql:// URLs', async () => {
    for (const url of [database.url, database.url.replace(/^postgres:/, 'postgresql:')]) {
      const store = await openCatalogStore(url, '/nonexistent-home');
      opened.push(store);
      const p = await store.createPlan(plan());
      expect((await store.getPlan(null, p.id))?.id).to.equal(p.id);
    }
  });

  it('reports an unreachable server as an unusable catalog, with the password masked', async () => {
    const port = await closedPort();
    const err = await openFailure(`postgres://bulwark:${PASSWORD}@127.0.0.1:${port}/bulwark`);
    expect(err.message).to.include(`catalog postgres://bulwark:***@127.0.0.1:${port}/bulwark cannot be used: cannot connect: `);
    expect(err.message).to.match(/ECONNREFUSED.*PGPASSWORD or ~\/\.pgpass/);
    const viaQuery = await openFailure(`postgresql://bulwark@127.0.0.1:${port}/bulwark?password=${PASSWORD}`);
    expect(viaQuery.message).to.include(`catalog postgresql://bulwark@127.0.0.1:${port}/bulwark?password=*** cannot be used`);
  });

  it('reports a login the server refuses as an unusable catalog, with the password masked', async () => {
    // The shared server trusts every login, so it never refuses a wrong password; it refuses a missing
    // database at the same step (start-up of the session), through the same error path.
    const url = new URL(pgUrl());
    url.password = PASSWORD;
    url.pathname = `/${database.name}_missing`;
    const err = await openFailure(url.toString());
    expect(err.message).to.include(`:***@${url.host}/${database.name}_missing cannot be used: cannot connect: `);
    expect(err.message).to.include(`database "${database.name}_missing" does not exist`);
  });

  it('lets two store instances create records concurrently without losing or duplicating any', async () => {
    const [a, b] = await Promise.all([open(), open()]);
    const created = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a! : b!).createPlan(plan())));
    const ids = created.map((p) => p.id).sort();
    for (const store of [a!, b!]) expect((await store.listPlans({ projectId: null })).map((p) => p.id).sort()).to.deep.equal(ids);

    // The same id from both at once: exactly one wins, the other is told the id exists.
    for (let i = 0; i < 10; i++) {
      const id = newId();
      const results = await Promise.allSettled([a!.createPlan(plan({ id, name: 'from a' })), b!.createPlan(plan({ id, name: 'from b' }))]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(won).to.have.length(1);
      expect(lost).to.have.length(1);
      expect(
        isBulwarkError(lost[0]!.reason, 'BWK_ERR_INVALID_INPUT') && /already exists/.test((lost[0]!.reason as Error).message),
        String(lost[0]!.reason),
      ).to.equal(true);
      expect((await b!.getPlan(null, id))?.name).to.equal((won[0] as PromiseFulfilledResult<PlanRecord>).value.name);
    }
  });

  it('survives the server dropping its idle connections, and close() releases every connection', async () => {
    const store = await open();
    await store.createPlan(plan());
    expect(await connectionsTo(database.name)).to.be.greaterThan(0);
    // An idle pooled connection killed by the server raises an 'error' event on the pool: unhandled, it would crash mocha.
    await withServer(pgUrl(), (c) => c.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [database.name]));
    await connectionsGone('terminated connections gone', database.name);
    expect(await store.listPlans({ projectId: null })).to.have.length(1);
    await store.close();
    await connectionsGone('connections released by close()', database.name);
  });

  describe('on a database whose default collation sorts linguistically', () => {
    let icu: TempDatabase | undefined;
    before(async function () {
      requirePrerequisite(this, 'PostgreSQL 15+ with ICU collations', (await supportsIcuDatabases(pgUrl())) ? 'yes' : undefined);
    });
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close();
      await icu?.drop();
    });

    it('orders and pages by created_at then id byte by byte, as SQLite does', async () => {
      icu = await createTempDatabase(pgUrl(), { icuLocale: 'en-US' });
      const store = await open(icu.url);
      // Ids and timestamps the caller chose: en-US puts "a" before "B" and ignores case first; bytes do not.
      const ids = ['a', 'B', 'b', 'A', '_x', 'a-c', 'ab', 'Ab', 'é', 'e', 'Z'];
      for (const [i, id] of ids.entries()) await store.createPlan(plan({ id, created_at: i % 3 === 0 ? 'b' : 'C' }));
      const byteOrder = [...ids]
        .map((id, i) => ({ id, c: i % 3 === 0 ? 'b' : 'C' }))
        .sort((x, y) => Buffer.compare(Buffer.from(`${x.c}\u0000${x.id}`), Buffer.from(`${y.c}\u0000${y.id}`)))
        .map((x) => x.id);
      await withServer(icu.url, async (c) => {
        const linguistic = (await c.query<{ id: string }>('select id from plans order by created_at, id')).rows.map((r) => r.id);
        expect(linguistic, 'the database default must differ for this test to mean anything').to.not.deep.equal(byteOrder);
      });
      expect((await store.listPlans({ projectId: null, sort: 'asc' })).map((p) => p.id)).to.deep.equal(byteOrder);
      expect((await store.listPlans({ projectId: null })).map((p) => p.id)).to.deep.equal([...byteOrder].reverse());
      for (const sort of ['asc', 'desc'] as const) {
        const paged: string[] = [];
        let marker: string | undefined;
        for (let page = 0; page < ids.length + 1; page++) {
          const got = await store.listPlans({ projectId: null, sort, limit: 2, marker });
          if (got.length === 0) break;
          paged.push(...got.map((p) => p.id));
          marker = got.at(-1)!.id;
        }
        expect(paged).to.deep.equal(sort === 'asc' ? byteOrder : [...byteOrder].reverse());
      }
    });
  });
});
