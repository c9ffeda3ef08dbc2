/**
 * The PostgreSQL side of the database plugin contract (test/contracts/database-plugin.contract.ts),
 * on the server of pgUrl(), built from postgres-fixture.ts.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { DatabasePluginFixture } from '../contracts/database-plugin.contract.js';
import {
  PG_PROVIDER_ID,
  addBigTable,
  admin,
  createDb,
  dbExists,
  dropDb,
  fingerprint,
  populate,
  uniqueName,
  urlFor,
  withDb,
  writePgProvider,
} from './postgres-fixture.js';
import { runningProcesses, writtenBytes } from './processes.js';
import { pgUrl } from './services.js';
import { waitFor } from './wait.js';

const dumperOf = (db: string) => runningProcesses().find((x) => x.argv[0]?.endsWith('pg_dump') && x.argv.some((a) => a.includes(db)));

export const postgresPlugin: DatabasePluginFixture = {
  plugin: 'postgres',
  product: 'PostgreSQL',
  serverUrl: pgUrl,
  providerId: PG_PROVIDER_ID,
  dumpObject: 'dump',
  dumpTool: 'pg_dump',
  // globals: true serves the failure suite's PostgreSQL-only pg_dumpall case.
  writeProvider: (home, account) => writePgProvider(home, account ? { ...account, globals: true } : {}),
  uniqueName: (label) => uniqueName(`bwk_pg_${label}`),
  createDb,
  dropDb,
  dbExists,
  populate: (name) => populate(name),
  fingerprint,
  expectFixtureCovered(original) {
    expect(original['table orders']).to.match(/^100000 rows, md5 [0-9a-f]{32}$/);
    expect(original['sequence order_no']).to.equal(String(1000 + 100_000 - 1));
    expect(original['view big_orders']).to.include('JOIN customers');
    expect(original['index orders_by_customer']).to.include('(customer_id, created)');
  },
  async addRow(name, n, note) {
    await withDb(name, (c) => c.query('insert into settings values ($1, $2)', [98 + n, JSON.stringify(note)]));
  },
  restoreLeftovers: async () =>
    (await admin<{ datname: string }>("select datname from pg_database where datname like 'bwk_restore_%'")).rows.map((r) => r.datname),
  systemDatabaseId: /^main\/template[01]$/,
  copyRestoreParameters: { jobs: 2 },

  failures: {
    async createAccount(password) {
      const role = uniqueName('bwk_role');
      await admin(`create role ${pg.escapeIdentifier(role)} login password ${pg.escapeLiteral(password)} superuser`);
      return role;
    },
    async dropAccount(role) {
      await admin(`drop role if exists ${pg.escapeIdentifier(role)}`);
    },
    missingDatabaseMessage: (db) => `database "${db}" does not exist`,
    cutHow: 'its backend terminated during COPY',
    async protectCutMidStream(s, db) {
      await populate(db, 1000);
      await addBigTable(db, 1_000_000);
      const p = await s.plan(db);
      const handle = await s.app.manager.protect(s.ctx, p.id);
      await handle.started();
      // Output already flowing into Bulwark and a COPY still running: the cut lands mid-stream. (The bank
      // itself sees the dump's chunks only in whole packs, so pg_dump's own written bytes are the signal.)
      const pid = await waitFor(
        'pg_dump copying the big table after output began',
        async () => {
          const dumper = dumperOf(db);
          if (dumper === undefined || !((writtenBytes(dumper.pid) ?? 0) > 0)) return null;
          const r = await admin<{ pid: number }>(
            "select pid from pg_stat_activity where datname = $1 and application_name = 'pg_dump' and query ilike 'copy public.big %'",
            [db],
          );
          return r.rows[0]?.pid ?? null;
        },
        60_000,
        10,
      );
      await admin('select pg_terminate_backend($1)', [pid]);
      return (await handle.done).record;
    },
    cutReason: /Dumping the contents of table "big" failed/,
    async holdDumpOpen(db) {
      await populate(db, 1000);
      // pg_dump locks every table before writing: holding this lock keeps it running until release().
      const blocker = new pg.Client({ connectionString: urlFor(db) });
      await blocker.connect();
      let released = false;
      const release = async () => {
        if (released) return;
        released = true;
        try {
          await blocker.query('rollback');
        } finally {
          await blocker.end();
        }
      };
      try {
        await blocker.query('begin; lock table orders in access exclusive mode');
      } catch (err) {
        await release();
        throw err;
      }
      return { release };
    },
    async dumperWaitingOnLock(_s, db) {
      const dumper = await waitFor('pg_dump to start', () => dumperOf(db) ?? null, 60_000, 10);
      await waitFor(
        'pg_dump to wait on the lock',
        async () => {
          const r = await admin(
            "select 1 from pg_stat_activity where datname = $1 and application_name = 'pg_dump' and wait_event_type = 'Lock'",
            [db],
          );
          return r.rowCount === 1 ? true : null;
        },
        60_000,
        10,
      );
      return dumper;
    },
    expectDumperArgv(argv) {
      expect(argv).to.include('--format=custom');
    },
    expectDumperEnvironment(environment, s) {
      const env = environment.map((v) => v.slice(0, v.indexOf('=')));
      expect(env).to.include.members(['LANG', 'PATH', 'PGCONNECT_TIMEOUT', 'PGPASSWORD']);
      // Nothing else of Bulwark's environment (a wrapper such as Debian's pg_wrapper may add its own).
      expect(env.filter((k) => k in process.env && !['LANG', 'PATH'].includes(k))).to.deep.equal([]);
      expect(env).to.not.include(s.passwordEnv);
    },
    async expectStoredDump(s, checkpointId, db) {
      const meta = JSON.parse(readFileSync(join(s.sectionDir(checkpointId, db), 'meta.json'), 'utf8')) as Record<string, unknown>;
      expect(meta).to.include({ object: 'dump', tool: 'pg_dump' });
      expect(meta.source).to.deep.include({ server: 'main', database: db, format: 'custom' });
      expect(meta.tool_version).to.match(/^pg_dump \(PostgreSQL\) \d+/);
    },
  },
};
