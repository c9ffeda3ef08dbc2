/**
 * The MariaDB side of the database plugin contract (test/contracts/database-plugin.contract.ts),
 * on the server of mariadbUrl(), built from mariadb-fixture.ts.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DatabasePluginFixture } from '../contracts/database-plugin.contract.js';
import {
  MARIADB_PROVIDER_ID,
  addDumpTables,
  createDb,
  databasesLike,
  dbExists,
  dropDb,
  dumpWaitingOnLock,
  fingerprint,
  holdWriteLock,
  populate,
  quote,
  sql,
  uniqueName,
  writeMariaDbProvider,
} from './mariadb-fixture.js';
import { runningProcesses, writtenBytes } from './processes.js';
import { mariadbUrl } from './services.js';
import { waitFor } from './wait.js';

/** The failure suite's account logs in over TCP from 127.0.0.1, as the plugin connects. */
const account = (user: string): string => `${quote(user)}@'127.0.0.1'`;

const dumperOf = (db: string) => runningProcesses().find((x) => x.argv[0]?.endsWith('mariadb-dump') && x.argv.includes(db));

export const mariadbPlugin: DatabasePluginFixture = {
  plugin: 'mariadb',
  product: 'MariaDB',
  serverUrl: mariadbUrl,
  providerId: MARIADB_PROVIDER_ID,
  dumpObject: 'dump.sql',
  dumpTool: 'mariadb-dump',
  writeProvider: (home, login) => writeMariaDbProvider(home, login ?? {}),
  // bwk_test_<hex> for every purpose: the failure suite's account is granted each database by name.
  uniqueName: () => uniqueName(),
  createDb,
  dropDb,
  dbExists,
  populate: (name) => populate(name),
  fingerprint,
  expectFixtureCovered(original) {
    expect(original['table orders']).to.match(/^100001 rows, checksum \d+$/);
    expect(original['table audit']).to.match(/^1 rows, /);
    expect(original['create table orders'])
      .to.include('KEY `orders_by_customer` (`customer_id`,`created`)')
      .and.to.include('ENGINE=InnoDB');
    expect(original['view big_orders']).to.include('join `customers`');
    expect(original['trigger orders_audit']).to.include('AFTER INSERT ON orders');
    expect(original['procedure customer_total']).to.include('SELECT SUM(amount) INTO total');
    expect(original.charset).to.equal('utf8mb4 utf8mb4_unicode_ci');
  },
  async addRow(name, n, note) {
    await sql(`INSERT INTO customers VALUES (${4999 + n}, '${note.replaceAll("'", "''")}', NULL);`, name);
  },
  async changeBeyondRows(name) {
    await sql('CREATE TABLE only_in_target (id INT PRIMARY KEY);', name);
  },
  restoreLeftovers: () => databasesLike('bwk_restore_'),
  systemDatabaseId: /^main\/(mysql|sys|information_schema|performance_schema)$/i,
  copyRestoreParameters: {},

  failures: {
    async createAccount(password) {
      const user = `bwk_${randomBytes(6).toString('hex')}`;
      await sql(`CREATE USER ${account(user)} IDENTIFIED BY '${password}';`);
      // Restores build their proof copy in bwk_restore_<hex>: the user may create those, nothing else.
      await sql(`GRANT ALL PRIVILEGES ON \`bwk\\_restore\\_%\`.* TO ${account(user)};`);
      return user;
    },
    async dropAccount(user) {
      await sql(`DROP USER IF EXISTS ${account(user)};`);
    },
    async grantDatabase(name, user) {
      await sql(`GRANT ALL PRIVILEGES ON ${quote(name)}.* TO ${account(user)};`);
    },
    missingDatabaseMessage: (db) => `Unknown database '${db}'`,
    cutHow: 'its connection killed, the header already streamed out',
    async protectCutMidStream(s, db) {
      await addDumpTables(db, 20_000);
      const p = await s.plan(db);
      const lock = await holdWriteLock(db, 'big');
      try {
        const handle = await s.app.manager.protect(s.ctx, p.id);
        await handle.started();
        const connection = await dumpWaitingOnLock(s.user, db);
        // Its output has begun (the bank sees the dump's chunks only in whole packs, so mariadb-dump's own
        // written bytes are the signal): the kill lands mid-stream.
        await waitFor("the dump's first bytes on their way to the bank", () => {
          const dumper = dumperOf(db);
          return dumper !== undefined && (writtenBytes(dumper.pid) ?? 0) > 0 ? true : undefined;
        });
        await sql(`KILL CONNECTION ${Number(connection)};`);
        return (await handle.done).record;
      } finally {
        await lock.release();
      }
    },
    cutReason: /Lost connection|server has gone away|Connection was killed|interrupted/i,
    async holdDumpOpen(db) {
      await addDumpTables(db, 200_000);
      return holdWriteLock(db, 'big');
    },
    async dumperWaitingOnLock(s, db) {
      await dumpWaitingOnLock(s.user, db);
      const dumper = dumperOf(db);
      expect(dumper, 'mariadb-dump is running').to.not.equal(undefined);
      return dumper!;
    },
    expectDumperArgv(argv, s) {
      expect(argv).to.include.members(['--single-transaction', '--routines', '--triggers', '--events', '--hex-blob', `--user=${s.user}`]);
    },
    expectDumperEnvironment(environment, s) {
      expect(environment.map((v) => v.slice(0, v.indexOf('='))).sort()).to.deep.equal(['LANG', 'MYSQL_PWD', 'PATH']);
      expect(environment).to.include(`MYSQL_PWD=${s.password}`);
    },
    async expectStoredDump(s, checkpointId, db) {
      const meta = JSON.parse(readFileSync(join(s.sectionDir(checkpointId, db), 'meta.json'), 'utf8')) as Record<string, unknown>;
      expect(meta.tool_version).to.match(/^mariadb-dump\s+Ver /);
      expect((await s.stored(checkpointId, db).get('dump.sql')).toString('utf8')).to.include('INSERT INTO `big` VALUES');
    },
  },
};
