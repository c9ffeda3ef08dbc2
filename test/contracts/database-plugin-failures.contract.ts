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
import { chunkPlaintexts, homeBank } from '../helpers/bank-files.js';
import { tempDir } from '../helpers/paths.js';
import { processEnvironment, runningProcesses } from '../helpers/processes.js';
import { requireService } from '../helpers/services.js';
import type { DatabasePluginFixture } from './database-plugin.contract.js';

/** The failure suite's state and helpers, for the fixture's hooks and for engine-only cases. */
export interface DumpFailureSuite {
  readonly ctx: RequestContext;
  readonly home: string;
  app: BulwarkApp;
  /** The account the provider dumps as; its password reaches Bulwark only through passwordEnv. */
  user: string;
  readonly password: string;
  readonly passwordEnv: string;
  /** A database of this suite that the account may use, dropped after the suite. */
  newDb(label: string): Promise<string>;
  plan(db: string): Promise<{ id: string }>;
  /** The section of `db` in a checkpoint: on disk, and read through the app's chunk store. */
  sectionDir(checkpointId: string, db: string): string;
  stored(checkpointId: string, db: string): PrefixedBankSection;
  /** What the section holds on disk, leaving out temp files still being written. */
  storedNames(checkpointId: string, db: string): string[];
  /** Asserts that the dump of `db` failed and left nothing; returns the failure reason. */
  expectFailedDump(cp: CheckpointRecord, db: string): string;
}

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

/**
 * What must never happen with a dump: a failed or cut dump leaving an `available` checkpoint or a
 * `meta.json`; a password reaching argv, the bank, the catalog or the logs. Runs as an account of its
 * own whose password is given through password_env (a server that trusts 127.0.0.1 accepts any
 * password, which is exactly why it must still never leak).
 */
export function describeDumpFailures(name: string, fixture: DatabasePluginFixture, engineCases?: (s: DumpFailureSuite) => void): void {
  const f = fixture.failures;
  const tool = fixture.dumpTool;
  describe(`${name} plugin: failed dumps and secrets (real ${fixture.product})`, function () {
    this.timeout(300_000);
    const type = `${fixture.plugin}.database`;
    const home = tempDir(`${fixture.plugin}-failures`);
    const databases: string[] = [];
    const s: DumpFailureSuite = {
      ctx: { projectId: 'default', admin: false },
      home: home.path,
      app: undefined as unknown as BulwarkApp,
      user: '',
      password: `pw-${randomBytes(12).toString('hex')}`,
      passwordEnv: `BWK_TEST_${fixture.plugin.toUpperCase()}_PW_${randomBytes(4).toString('hex').toUpperCase()}`,
      async newDb(label) {
        const db = fixture.uniqueName(label);
        databases.push(db);
        await fixture.createDb(db);
        await f.grantDatabase?.(db, s.user);
        return db;
      },
      plan: (db) => s.app.manager.createPlan(s.ctx, { name: db, provider_id: fixture.providerId, resources: [{ type, id: `main/${db}` }] }),
      sectionDir: (checkpointId, db) => join(home.path, 'bank', 'checkpoints', checkpointId, 'resources', resourceKey(type, `main/${db}`)),
      stored(checkpointId, db) {
        const provider = s.app.providers.get(fixture.providerId);
        return new PrefixedBankSection(
          provider.chunks,
          resourcePrefix(checkpointId, resourceKey(type, `main/${db}`)),
          `${type}#main/${db}`,
        );
      },
      storedNames(checkpointId, db) {
        try {
          return readdirSync(s.sectionDir(checkpointId, db)).filter((n) => !n.startsWith('.tmp-'));
        } catch {
          return [];
        }
      },
      expectFailedDump(cp, db) {
        expect(cp.status).to.equal('error');
        const ref = `${type}#main/${db}`;
        expect(cp.extra_info.resources_status?.[ref]).to.equal('error');
        const reason = cp.extra_info.resources_reason?.[ref] ?? '';
        expect(reason)
          .to.match(/BWK_ERR_DUMP_FAILED/)
          .and.to.include(tool);
        expect(s.storedNames(cp.id, db), 'neither a dump nor a meta.json is left').to.deep.equal([]);
        return reason;
      },
    };

    before(async function () {
      requireService(this, fixture.product, fixture.serverUrl());
      s.user = await f.createAccount(s.password);
      process.env[s.passwordEnv] = s.password;
      fixture.writeProvider(home.path, { user: s.user, passwordEnv: s.passwordEnv });
      s.app = await openBulwark(home.path);
    });
    after(async () => {
      await s.app?.close();
      for (const db of databases) await fixture.dropDb(db);
      if (s.user) await f.dropAccount(s.user);
      delete process.env[s.passwordEnv];
      home.cleanup();
    });

    it(`a database dropped between planning and protect: the resource ends error with ${tool}'s stderr`, async () => {
      const db = await s.newDb('gone');
      const p = await s.plan(db);
      await fixture.dropDb(db);
      const cp = (await (await s.app.manager.protect(s.ctx, p.id)).done).record;
      const reason = s.expectFailedDump(cp, db);
      expect(reason).to.include(f.missingDatabaseMessage(db));
    });

    it(`a dump cut mid-stream (${f.cutHow}) never becomes available`, async () => {
      const db = await s.newDb('cut');
      const cp = await f.protectCutMidStream(s, db);
      const reason = s.expectFailedDump(cp, db);
      expect(reason, reason).to.match(f.cutReason);
    });

    it(`no password in any process argv while ${tool} runs; ${tool} gets a minimal environment`, async () => {
      const db = await s.newDb('slow');
      const p = await s.plan(db);
      const lock = await f.holdDumpOpen(db);
      try {
        const handle = await s.app.manager.protect(s.ctx, p.id);
        const dumper = await f.dumperWaitingOnLock(s, db);
        f.expectDumperArgv(dumper.argv, s);
        const leaks = runningProcesses().filter((x) => x.argv.some((a) => a.includes(s.password)));
        expect(leaks.map((x) => `${x.pid}: ${x.argv.join(' ')}`)).to.deep.equal([]);
        f.expectDumperEnvironment(processEnvironment(dumper.pid), s);
        await lock.release();
        const cp = (await handle.done).record;
        expect(cp.status, JSON.stringify(cp.extra_info)).to.equal('available');
        expect(s.storedNames(cp.id, db).sort()).to.deep.equal([fixture.dumpObject, 'meta.json']);
        await f.expectStoredDump(s, cp.id, db);
      } finally {
        await lock.release();
      }
    });

    engineCases?.(s);

    // Last, so that it searches what every case before it left in the home.
    it('afterwards no file of the home (bank, catalog, logs) holds the password', async () => {
      await s.app.close();
      s.app = await openBulwark(home.path);
      const files = filesUnder(home.path);
      expect(files, 'the log and the catalog are among the files searched').to.include.members([
        join(home.path, 'logs', 'bulwark.log'),
        join(home.path, 'catalog.db'),
      ]);
      expect(files.filter((file) => readFileSync(file).includes(s.password))).to.deep.equal([]);
      // Stored chunks are compressed: search what they hold, too.
      const inChunks: string[] = [];
      for await (const c of chunkPlaintexts(homeBank(home.path))) if (c.data.includes(s.password)) inChunks.push(`${c.pack}: ${c.id}`);
      expect(inChunks).to.deep.equal([]);
    });
  });
}
