import type { OldCatalog } from '../helpers/old-catalog.js';
import { expect } from 'chai';
import Sqlite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import pg from 'pg';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isBulwarkError } from '../../src/core/errors.js';
import { openCatalogStore } from '../../src/store/factory.js';
import type { CatalogStore } from '../../src/store/port.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { createTempDatabase } from '../helpers/pg-database.js';
import { pgUrl, requireService } from '../helpers/services.js';
import { writeOldCatalog } from '../helpers/old-catalog.js';
import { describeCatalogContract } from './catalog.contract.js';

describeCatalogContract('sqlite file', async (options) => {
  const home = mkdtempSync(join(tmpdir(), 'bwk-'));
  const opened: CatalogStore[] = [];
  // Through the factory, with a relative path in a directory that does not exist yet.
  const open = async () => {
    const store = await openCatalogStore('sqlite:state/catalog.db', home, options);
    opened.push(store);
    return store;
  };
  return {
    store: await open(),
    reopen: open,
    openMigratedTo: async (migration, seed) => {
      mkdirSync(join(home, 'old'));
      await writeOldCatalog(
        new Kysely({ dialect: new SqliteDialect({ database: new Sqlite(join(home, 'old', 'catalog.db')) }) }),
        migration,
        seed,
      );
      const store = await openCatalogStore('sqlite:old/catalog.db', home, options);
      opened.push(store);
      return store;
    },
    cleanup: async () => {
      for (const s of opened) await s.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
});

describeCatalogContract('sqlite :memory:', async (options) => {
  const store = await openSqliteStore(':memory:', options);
  return { store, cleanup: () => store.close() };
});

describe('PostgreSQL catalog', () => {
  before(function () {
    requireService(this, 'PostgreSQL', pgUrl());
  });

  // Each test gets its own database, so no run (nor another engineer's) sees its rows.
  describeCatalogContract('postgres', async (options) => {
    const database = await createTempDatabase(pgUrl());
    const opened: CatalogStore[] = [];
    // Through the factory, as catalog.url selects it; the home plays no part for PostgreSQL.
    const open = async () => {
      const store = await openCatalogStore(database.url, '/nonexistent-home', options);
      opened.push(store);
      return store;
    };
    const old: Array<{ drop(): Promise<void> }> = [];
    const cleanup = async () => {
      for (const s of opened) await s.close();
      for (const d of [database, ...old]) await d.drop();
    };
    const openMigratedTo = async (migration: string, seed: (db: OldCatalog) => Promise<void>) => {
      const oldDb = await createTempDatabase(pgUrl());
      old.push(oldDb);
      await writeOldCatalog(
        new Kysely({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: oldDb.url }) }) }),
        migration,
        seed,
      );
      const store = await openCatalogStore(oldDb.url, '/nonexistent-home', options);
      opened.push(store);
      return store;
    };
    try {
      return { store: await open(), reopen: open, openMigratedTo, cleanup };
    } catch (err) {
      await cleanup();
      throw err;
    }
  });
});

// SQLite-only behaviour: the file it leaves behind, and the factory's URL handling.
describe('SQLite catalog adapter', () => {
  let home: string;
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'bwk-'));
  });
  afterEach(() => {
    rmSync(home, { recursive: true, force: true });
  });

  async function expectCode(p: Promise<unknown>, code: 'BWK_ERR_INVALID_INPUT' | 'BWK_ERR_CATALOG_UNUSABLE', pattern: RegExp) {
    const err = await p.then(
      () => null,
      (e: unknown) => e,
    );
    expect(isBulwarkError(err, code), `expected ${code}, got ${String(err)}`).to.equal(true);
    expect((err as Error).message).to.match(pattern);
  }

  it('leaves a WAL-mode file with the schema migrated once, however often it is opened', async () => {
    const file = join(home, 'a', 'b', 'catalog.db');
    for (let i = 0; i < 3; i++) await (await openSqliteStore(file)).close();
    const raw = new Sqlite(file, { readonly: true });
    try {
      expect(raw.pragma('journal_mode', { simple: true })).to.equal('wal');
      expect(raw.prepare('select name from kysely_migration').all()).to.deep.equal([
        { name: '0001_catalog' },
        { name: '0002_tokens' },
        { name: '0003_token_expiry' },
        { name: '0004_operation_origin' },
        { name: '0005_scheduling' },
        { name: '0006_quotas' },
        { name: '0007_services' },
        { name: '0010_notifications' },
      ]);
      const tables = raw.prepare("select name from sqlite_master where type = 'table' and name not like 'kysely%' order by name").all();
      expect(tables.map((t) => (t as { name: string }).name)).to.deep.equal([
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
    } finally {
      raw.close();
    }
  });

  it('resolves a relative catalog path against the home and accepts an absolute one', async () => {
    await (await openCatalogStore('sqlite:rel/c.db', home)).close();
    await (await openCatalogStore(`sqlite:${join(home, 'abs', 'c.db')}`, '/nonexistent-home')).close();
    for (const f of [join(home, 'rel', 'c.db'), join(home, 'abs', 'c.db')]) {
      const raw = new Sqlite(f, { readonly: true });
      try {
        expect(raw.prepare('select count(*) as n from plans').get()).to.deep.equal({ n: 0 });
      } finally {
        raw.close();
      }
    }
  });

  it('refuses catalog URLs it does not support, without echoing credentials', async () => {
    await expectCode(
      openCatalogStore('mysql://bulwark:s3cret@db/bulwark', home),
      'BWK_ERR_INVALID_INPUT',
      /^catalog\.url scheme mysql: is not supported: use "sqlite:<path>".*"postgres:\/\//,
    );
    await openCatalogStore('mysql://bulwark:s3cret@db/bulwark', home).catch((e: Error) => expect(e.message).to.not.include('s3cret'));
    await expectCode(openCatalogStore('catalog.db', home), 'BWK_ERR_INVALID_INPUT', /scheme \(none\) is not supported/);
    await expectCode(openCatalogStore('sqlite:', home), 'BWK_ERR_INVALID_INPUT', /names no database file/);
  });

  it('reports a file that is not a database as an unusable catalog', async () => {
    const file = join(home, 'garbage.db');
    writeFileSync(file, 'this is not an sqlite database, just text that is long enough to have a header'.repeat(20));
    await expectCode(openSqliteStore(file), 'BWK_ERR_CATALOG_UNUSABLE', /garbage\.db cannot be used: .*not a database/);
  });

  it('refuses a catalog migrated by a newer Bulwark, naming what to do', async () => {
    const file = join(home, 'catalog.db');
    await (await openSqliteStore(file)).close();
    const raw = new Sqlite(file);
    raw.prepare('insert into kysely_migration (name, timestamp) values (?, ?)').run('9999_from_the_future', new Date().toISOString());
    raw.close();
    await expectCode(openSqliteStore(file), 'BWK_ERR_CATALOG_UNUSABLE', /migrated by a newer Bulwark.*upgrade Bulwark/);
  });
});
