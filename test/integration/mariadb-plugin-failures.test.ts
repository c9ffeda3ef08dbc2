import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BulwarkApp } from '../../src/processes/app.js';
import { openBulwark } from '../../src/processes/app.js';
import { resourceKey, resourcePrefix } from '../../src/bank/layout.js';
import { PrefixedBankSection } from '../../src/bank/section.js';
import type { CheckpointRecord } from '../../src/checkpoints/model.js';
import type { RequestContext } from '../../src/protection-manager/request.js';
import {
  MARIADB_PROVIDER_ID, createDb, databasesLike, dbExists, dropDb, fingerprint, literal, quote, sql, startClient, uniqueName, writeMariaDbProvider,
} from '../helpers/mariadb-fixture.js';
import { chunkPlaintexts, homeBank } from '../helpers/bank-files.js';
import { tempDir } from '../helpers/paths.js';
import { writtenBytes } from '../helpers/processes.js';
import { mariadbUrl, requireService } from '../helpers/services.js';
import { waitFor } from '../helpers/wait.js';

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** `[pid, argv]` of every process we may read (others vanish or are unreadable mid-scan: skipped). */
function processes(): Array<{ pid: string; argv: string[] }> {
  const out: Array<{ pid: string; argv: string[] }> = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      out.push({ pid, argv: readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '') });
    } catch { /* gone */ }
  }
  return out;
}

/**
 * Holds `LOCK TABLES <table> WRITE` in a client session: mariadb-dump, even with --single-transaction,
 * then waits on the table's metadata lock when it reads the rows, so it stays running (its header
 * already written) until release() — no timing involved.
 */
async function holdWriteLock(database: string, table: string): Promise<{ release(): Promise<void> }> {
  const client = startClient(database);
  let out = '';
  client.stdout!.on('data', (d: Buffer) => { out += d.toString('utf8'); });
  const closed = new Promise<void>((resolve) => client.on('close', () => resolve()));
  client.stdin!.write(`LOCK TABLES ${quote(table)} WRITE;\nSELECT 'locked';\n`);
  try {
    await waitFor('the write lock', () => (out.includes('locked') ? true : undefined));
  } catch (err) {
    client.kill();
    throw err;
  }
  return { release: async () => { client.stdin!.end('UNLOCK TABLES;\n'); await closed; } };
}

/**
 * What must never happen with a dump: a failed or cut mariadb-dump leaving an `available` checkpoint or
 * a `meta.json`; a password reaching argv, the bank, the catalog or the logs. Runs as a user of its own
 * with a random password given through password_env, privileged on the test databases only.
 */
describe('mariadb plugin: failed dumps and secrets (real MariaDB)', function () {
  this.timeout(300_000);
  const ctx: RequestContext = { projectId: 'default', admin: false };
  const home = tempDir('mariadb-failures');
  const user = `bwk_${randomBytes(6).toString('hex')}`;
  const account = `${quote(user)}@'127.0.0.1'`;
  const password = `pw-${randomBytes(12).toString('hex')}`;
  const passwordEnv = `BWK_TEST_MARIADB_PW_${randomBytes(4).toString('hex').toUpperCase()}`;
  const databases: string[] = [];
  let app: BulwarkApp;

  /** A database of ours, on which only the test user is granted everything. */
  const newDb = async (): Promise<string> => {
    const name = uniqueName();
    databases.push(name);
    await createDb(name);
    await sql(`GRANT ALL PRIVILEGES ON ${quote(name)}.* TO ${account};`);
    return name;
  };
  const plan = (db: string) => app.manager.createPlan(ctx, { name: db, provider_id: MARIADB_PROVIDER_ID, resources: [{ type: 'mariadb.database', id: `main/${db}` }] });
  const sectionDir = (cp: string, db: string) => join(home.path, 'bank', 'checkpoints', cp, 'resources', resourceKey('mariadb.database', `main/${db}`));
  /** The section protect wrote for `db` in checkpoint `cp`, read through the app's own chunk store. */
  const storedSection = (cp: string, db: string): PrefixedBankSection => {
    const provider = app.providers.get(MARIADB_PROVIDER_ID);
    return new PrefixedBankSection(provider.bank, provider.chunks, resourcePrefix(cp, resourceKey('mariadb.database', `main/${db}`)), `mariadb.database#main/${db}`);
  };
  const storedNames = (cp: string, db: string): string[] => {
    try {
      return readdirSync(sectionDir(cp, db)).filter((n) => !n.startsWith('.tmp-'));
    } catch {
      return [];
    }
  };
  const expectFailedDump = (cp: CheckpointRecord, db: string): string => {
    expect(cp.status).to.equal('error');
    const ref = `mariadb.database#main/${db}`;
    expect(cp.extra_info.resources_status?.[ref]).to.equal('error');
    const reason = cp.extra_info.resources_reason?.[ref] ?? '';
    expect(reason).to.match(/BWK_ERR_DUMP_FAILED/).and.to.include('mariadb-dump');
    expect(storedNames(cp.id, db), 'neither a dump nor a meta.json is left').to.deep.equal([]);
    return reason;
  };
  /** The connection of the user's mariadb-dump once it waits on the lock of `db`. */
  const dumpWaitingOnLock = (db: string) => waitFor('mariadb-dump to wait on the table lock', async () => {
    const rows = await sql(`SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ${literal(db)} AND USER = ${literal(user)} AND STATE = 'Waiting for table metadata lock';`);
    return rows[0]?.[0];
  });
  /** `a_first` is dumped whole (and flushed into the bank) before mariadb-dump reaches `big`. */
  const bigDb = async (rows: number): Promise<string> => {
    const db = await newDb();
    await sql(`SET SESSION max_recursive_iterations = ${rows + 10};
      CREATE TABLE a_first (id INT PRIMARY KEY) ENGINE=InnoDB;
      INSERT INTO a_first VALUES (1), (2), (3);
      CREATE TABLE big (id INT PRIMARY KEY, v CHAR(64)) ENGINE=InnoDB;
      INSERT INTO big WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < ${rows}) SELECT n, SHA2(n, 256) FROM s;`, db);
    return db;
  };

  before(async function () {
    requireService(this, 'MariaDB', mariadbUrl());
    await sql(`CREATE USER ${account} IDENTIFIED BY '${password}';`);
    // Restores build their proof copy in bwk_restore_<hex>: the user may create those, nothing else.
    await sql(`GRANT ALL PRIVILEGES ON \`bwk\\_restore\\_%\`.* TO ${account};`);
    process.env[passwordEnv] = password;
    writeMariaDbProvider(home.path, { user, passwordEnv });
    app = await openBulwark(home.path);
  });
  after(async () => {
    await app?.close();
    for (const db of databases) await dropDb(db);
    await sql(`DROP USER IF EXISTS ${account};`);
    delete process.env[passwordEnv];
    home.cleanup();
  });

  it('a database dropped between planning and protect: the resource ends error with mariadb-dump\'s stderr', async () => {
    const db = await newDb();
    const p = await plan(db);
    await dropDb(db);
    const cp = (await (await app.manager.protect(ctx, p.id)).done).record;
    const reason = expectFailedDump(cp, db);
    expect(reason).to.include(`Unknown database '${db}'`);
  });

  it('a dump whose connection is killed mid-stream (header already streamed out) never becomes available', async () => {
    const db = await bigDb(20_000);
    const p = await plan(db);
    const lock = await holdWriteLock(db, 'big');
    try {
      const handle = await app.manager.protect(ctx, p.id);
      await handle.started();
      const connection = await dumpWaitingOnLock(db);
      // Its output has begun (the bank sees the dump's chunks only in whole packs, so mariadb-dump's own
      // written bytes are the signal): the kill lands mid-stream.
      await waitFor('the dump\'s first bytes on their way to the bank', () => {
        const dumper = processes().find((x) => x.argv[0]?.endsWith('mariadb-dump') && x.argv.includes(db));
        return dumper !== undefined && (writtenBytes(dumper.pid) ?? 0) > 0 ? true : undefined;
      });
      await sql(`KILL CONNECTION ${Number(connection)};`);
      const cp = (await handle.done).record;
      const reason = expectFailedDump(cp, db);
      expect(reason).to.match(/Lost connection|server has gone away|Connection was killed|interrupted/i);
    } finally {
      await lock.release();
    }
  });

  it('no password in any process argv while mariadb-dump runs; mariadb-dump gets a minimal environment', async () => {
    const db = await bigDb(200_000);
    const p = await plan(db);
    const lock = await holdWriteLock(db, 'big');
    let released = false;
    try {
      const handle = await app.manager.protect(ctx, p.id);
      await dumpWaitingOnLock(db);
      const dumper = processes().find((x) => x.argv[0]?.endsWith('mariadb-dump') && x.argv.includes(db));
      expect(dumper, 'mariadb-dump is running').to.not.equal(undefined);
      expect(dumper!.argv).to.include.members(['--single-transaction', '--routines', '--triggers', '--events', '--hex-blob', `--user=${user}`]);
      const leaks = processes().filter((x) => x.argv.some((a) => a.includes(password)));
      expect(leaks.map((x) => `${x.pid}: ${x.argv.join(' ')}`)).to.deep.equal([]);
      const env = readFileSync(`/proc/${dumper!.pid}/environ`, 'utf8').split('\0').filter((v) => v !== '');
      expect(env.map((v) => v.slice(0, v.indexOf('='))).sort()).to.deep.equal(['LANG', 'MYSQL_PWD', 'PATH']);
      expect(env).to.include(`MYSQL_PWD=${password}`);
      await lock.release();
      released = true;
      const cp = (await handle.done).record;
      expect(cp.status, JSON.stringify(cp.extra_info)).to.equal('available');
      expect(storedNames(cp.id, db).sort()).to.deep.equal(['dump.sql', 'meta.json']);
      const meta = JSON.parse(readFileSync(join(sectionDir(cp.id, db), 'meta.json'), 'utf8')) as Record<string, unknown>;
      expect(meta.tool_version).to.match(/^mariadb-dump\s+Ver /);
      expect((await storedSection(cp.id, db).get('dump.sql')).toString('utf8')).to.include('INSERT INTO `big` VALUES');
    } finally {
      if (!released) await lock.release();
    }
  });

  it('a dump that does not load (a view whose DEFINER the user may not set): a new target stays absent, an existing one untouched', async () => {
    const db = await newDb();
    await sql('CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1); CREATE DEFINER=`root`@`127.0.0.1` VIEW v AS SELECT id FROM t;', db);
    const cp = (await (await app.manager.protect(ctx, (await plan(db)).id)).done).record;
    expect(cp.status, JSON.stringify(cp.extra_info)).to.equal('available');
    const restore = async (parameters: Record<string, unknown>) =>
      (await (await app.manager.restore(ctx, { checkpoint_id: cp.id, parameters: { 'mariadb.database': parameters } })).done).record;
    const ref = `mariadb.database#main/${db}`;

    const fresh = await newDb();
    await dropDb(fresh);
    const intoNew = await restore({ target_database: fresh });
    expect(intoNew.status).to.equal('fail');
    expect(intoNew.resources_reason[ref]).to.match(/BWK_ERR_RESTORE_FAILED.*mariadb exit code 1; the partial restore was dropped.*SET USER/s);
    expect(await dbExists(fresh), 'the new target was dropped again').to.equal(false);

    const before = await fingerprint(db);
    const replace = await restore({ conflict: 'drop' });
    expect(replace.status).to.equal('fail');
    expect(replace.resources_reason[ref]).to.match(/BWK_ERR_RESTORE_FAILED.*did not load into a temporary database, so the existing target was not changed/);
    expect(await fingerprint(db)).to.deep.equal(before);
    expect(await databasesLike('bwk_restore_'), 'the temporary database was dropped').to.deep.equal([]);
  });

  it('afterwards no file of the home (bank, catalog, logs) holds the password', async () => {
    await app.close();
    app = await openBulwark(home.path);
    const files = filesUnder(home.path);
    expect(files, 'the log and the catalog are among the files searched').to.include.members([join(home.path, 'logs', 'bulwark.log'), join(home.path, 'catalog.db')]);
    expect(files.filter((f) => readFileSync(f).includes(password))).to.deep.equal([]);
    // Stored chunks are compressed: search what they hold, too.
    const inChunks: string[] = [];
    for await (const c of chunkPlaintexts(homeBank(home.path))) if (c.data.includes(password)) inChunks.push(`${c.pack}: ${c.id}`);
    expect(inChunks).to.deep.equal([]);
  });
});
