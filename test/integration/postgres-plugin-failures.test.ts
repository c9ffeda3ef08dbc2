import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { BulwarkApp } from '../../src/processes/app.js';
import { openBulwark } from '../../src/processes/app.js';
import { resourceKey } from '../../src/bank/layout.js';
import { PrefixedBankSection } from '../../src/bank/section.js';
import { silentLogger } from '../../src/common/logging.js';
import type { CheckpointRecord } from '../../src/checkpoints/model.js';
import type { RequestContext } from '../../src/protection-manager/request.js';
import { chunkPlaintexts, homeBank } from '../helpers/bank-files.js';
import { tempDir } from '../helpers/paths.js';
import { writtenBytes } from '../helpers/processes.js';
import {
  PG_PROVIDER_ID, addBigTable, admin, createDb, dropDb, populate, uniqueName, urlFor, writePgProvider,
} from '../helpers/postgres-fixture.js';
import { pgUrl, requireService } from '../helpers/services.js';
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
 * What must never happen with a dump: a failed or cut pg_dump leaving an `available` checkpoint or a
 * `meta.json`; a password reaching argv, the bank, the catalog or the logs. Runs as a role with a
 * password given through password_env (the server trusts 127.0.0.1, so any password works, which is
 * exactly why it must still never leak).
 */
describe('postgres plugin: failed dumps and secrets (real PostgreSQL)', function () {
  this.timeout(300_000);
  const ctx: RequestContext = { projectId: 'default', admin: false };
  const home = tempDir('pg-failures');
  const role = uniqueName('bwk_role');
  const password = `pw-${randomBytes(12).toString('hex')}`;
  const passwordEnv = `BWK_TEST_PG_PW_${randomBytes(4).toString('hex').toUpperCase()}`;
  const databases: string[] = [];
  let app: BulwarkApp;

  const newDb = async (prefix: string): Promise<string> => {
    const name = uniqueName(prefix);
    databases.push(name);
    await createDb(name);
    return name;
  };
  const plan = (db: string) => app.manager.createPlan(ctx, { name: db, provider_id: PG_PROVIDER_ID, resources: [{ type: 'postgres.database', id: `main/${db}` }] });
  const sectionDir = (cp: string, db: string) => join(home.path, 'bank', 'checkpoints', cp, 'resources', resourceKey('postgres.database', `main/${db}`));
  const storedNames = (cp: string, db: string): string[] => {
    try {
      return readdirSync(sectionDir(cp, db)).filter((n) => !n.startsWith('.tmp-'));
    } catch {
      return [];
    }
  };
  const expectFailedDump = (cp: CheckpointRecord, db: string): string => {
    expect(cp.status).to.equal('error');
    const ref = `postgres.database#main/${db}`;
    expect(cp.extra_info.resources_status?.[ref]).to.equal('error');
    const reason = cp.extra_info.resources_reason?.[ref] ?? '';
    expect(reason).to.match(/BWK_ERR_DUMP_FAILED/);
    expect(reason).to.include('pg_dump');
    expect(storedNames(cp.id, db), 'neither a dump nor a meta.json is left').to.deep.equal([]);
    return reason;
  };

  before(async function () {
    requireService(this, 'PostgreSQL', pgUrl());
    await admin(`create role ${pg.escapeIdentifier(role)} login password ${pg.escapeLiteral(password)} superuser`);
    process.env[passwordEnv] = password;
    writePgProvider(home.path, { user: role, passwordEnv, globals: true });
    app = await openBulwark(home.path);
  });
  after(async () => {
    await app?.close();
    for (const db of databases) await dropDb(db);
    await admin(`drop role if exists ${pg.escapeIdentifier(role)}`);
    delete process.env[passwordEnv];
    home.cleanup();
  });

  it('a database dropped between planning and protect: the resource ends error with pg_dump\'s stderr', async () => {
    const db = await newDb('bwk_pg_gone');
    const p = await plan(db);
    await dropDb(db);
    const cp = (await (await app.manager.protect(ctx, p.id)).done).record;
    const reason = expectFailedDump(cp, db);
    expect(reason).to.match(new RegExp(`database "${db}" does not exist`));
  });

  it('a dump cut mid-stream (its backend terminated during COPY) never becomes available', async () => {
    const db = await newDb('bwk_pg_cut');
    await populate(db, 1000);
    await addBigTable(db, 1_000_000);
    const p = await plan(db);
    const handle = await app.manager.protect(ctx, p.id);
    await handle.started();
    // Output already flowing into Bulwark and a COPY still running: the cut lands mid-stream. (The bank
    // itself sees the dump's chunks only in whole packs, so pg_dump's own written bytes are the signal.)
    const pid = await waitFor('pg_dump copying the big table after output began', async () => {
      const dumper = processes().find((x) => x.argv[0]?.endsWith('pg_dump') && x.argv.some((a) => a.includes(db)));
      if (dumper === undefined || !((writtenBytes(dumper.pid) ?? 0) > 0)) return null;
      const r = await admin<{ pid: number }>("select pid from pg_stat_activity where datname = $1 and application_name = 'pg_dump' and query ilike 'copy public.big %'", [db]);
      return r.rows[0]?.pid ?? null;
    }, 60_000, 10);
    await admin('select pg_terminate_backend($1)', [pid]);
    const cp = (await handle.done).record;
    const reason = expectFailedDump(cp, db);
    expect(reason, reason).to.include('Dumping the contents of table "big" failed');
  });

  it('no password in any process argv while pg_dump runs; pg_dump gets a minimal environment', async () => {
    const db = await newDb('bwk_pg_slow');
    await populate(db, 1000);
    // pg_dump locks every table before writing: holding this lock keeps it running until we are done looking.
    const blocker = new pg.Client({ connectionString: urlFor(db) });
    await blocker.connect();
    try {
      await blocker.query('begin; lock table orders in access exclusive mode');
      const p = await plan(db);
      const handle = await app.manager.protect(ctx, p.id);
      const dumper = await waitFor('pg_dump to start', async () => processes().find((x) => x.argv[0]?.endsWith('pg_dump') && x.argv.some((a) => a.includes(db))) ?? null, 60_000, 10);
      await waitFor('pg_dump to wait on the lock', async () => {
        const r = await admin("select 1 from pg_stat_activity where datname = $1 and application_name = 'pg_dump' and wait_event_type = 'Lock'", [db]);
        return r.rowCount === 1 ? true : null;
      }, 60_000, 10);
      expect(dumper.argv).to.include('--format=custom');
      const leaks = processes().filter((x) => x.argv.some((a) => a.includes(password)));
      expect(leaks.map((x) => `${x.pid}: ${x.argv.join(' ')}`)).to.deep.equal([]);
      const env = readFileSync(`/proc/${dumper.pid}/environ`, 'utf8').split('\0').filter((v) => v !== '').map((v) => v.slice(0, v.indexOf('=')));
      expect(env).to.include.members(['LANG', 'PATH', 'PGCONNECT_TIMEOUT', 'PGPASSWORD']);
      // Nothing else of Bulwark's environment (a wrapper such as Debian's pg_wrapper may add its own).
      expect(env.filter((k) => k in process.env && !['LANG', 'PATH'].includes(k))).to.deep.equal([]);
      expect(env).to.not.include(passwordEnv);
      await blocker.query('rollback');
      const cp = (await handle.done).record;
      expect(cp.status, JSON.stringify(cp.extra_info)).to.equal('available');
      expect(storedNames(cp.id, db).sort()).to.deep.equal(['dump', 'meta.json']);
      const meta = JSON.parse(readFileSync(join(sectionDir(cp.id, db), 'meta.json'), 'utf8')) as Record<string, unknown>;
      expect(meta).to.include({ object: 'dump', tool: 'pg_dump' });
      expect(meta.source).to.deep.include({ server: 'main', database: db, format: 'custom' });
      expect(meta.tool_version).to.match(/^pg_dump \(PostgreSQL\) \d+/);
    } finally {
      await blocker.end();
    }
  });

  it('globals: true stores pg_dumpall --globals-only for a postgres.server, which verify checks', async () => {
    const provider = app.providers.get(PG_PROVIDER_ID);
    const plugin = provider.protection.get('postgres.server')!;
    const resource = { type: 'postgres.server', id: 'main', name: 'main' };
    const bank = new PrefixedBankSection(provider.bank, provider.chunks, 'test-globals/', 'postgres.server#main');
    let saved: Record<string, unknown> | null = null;
    const base = {
      operationId: 'op', checkpointId: 'cp', projectId: 'default', resource, parameters: {}, bank, signal: new AbortController().signal,
      logger: silentLogger, progress: () => undefined, resumeState: null, saveResumeState: () => undefined,
    };
    await plugin.getProtectOperation(resource).main!({ ...base, previous: null, saveInfo: async (info) => { saved = info; } });
    expect(saved).to.have.property('format', 'sql');
    const sql = (await bank.get('globals.sql')).toString('utf8');
    expect(sql).to.match(new RegExp(`CREATE ROLE ${role}`));
    await plugin.getVerifyOperation(resource).main!({ ...base, verificationId: 'v', savedInfo: saved });
    await bank.put('globals.sql', `${sql}-- tampered\n`);
    const err = await plugin.getVerifyOperation(resource).main!({ ...base, verificationId: 'v', savedInfo: saved }).then(() => null, (e: { code: string; message: string }) => e);
    expect(err?.code).to.equal('BWK_ERR_DATA_CORRUPT');
    expect(err?.message).to.include('postgres.server#main');
    for (const name of await bank.list()) await bank.delete(name);
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
