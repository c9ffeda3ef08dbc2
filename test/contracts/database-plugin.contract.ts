import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { BulwarkApp } from '../../src/processes/app.js';
import { openBulwark } from '../../src/processes/app.js';
import { resourceKey, resourcePrefix } from '../../src/bank/layout.js';
import { PrefixedBankSection } from '../../src/bank/section.js';
import type { CheckpointRecord } from '../../src/checkpoints/model.js';
import type { RequestContext } from '../../src/protection-manager/request.js';
import { flipChunkByte, flipPlainByte, homeBank } from '../helpers/bank-files.js';
import { tempDir } from '../helpers/paths.js';
import { requireService } from '../helpers/services.js';
import { describeDumpFailures, type DumpFailureSuite } from './database-plugin-failures.contract.js';

/** What a restore or a verification ended with, as these cases read it. */
export interface Outcome {
  status: string;
  resources_reason: Record<string, string>;
}

/**
 * The engine-specific pieces of the database plugin contract: the server, its databases (created,
 * filled and compared by the server itself, never through Bulwark), and how a dump is made to fail.
 */
export interface DatabasePluginFixture {
  /** The plugin's name: it protects `<plugin>.database` (id `main/<database>`) and `<plugin>.server`. */
  plugin: string;
  /** The server product, as suite titles and requireService name it. */
  product: string;
  serverUrl(): string;
  providerId: string;
  /** The dump's object name in a database's section of a checkpoint. */
  dumpObject: string;
  /** The dump program, as failure reasons name it. */
  dumpTool: string;
  /**
   * `<home>/providers/` gets a provider with server `main` = the test server; with `account`, it
   * logs in as that account, its password named by an environment variable, never written.
   */
  writeProvider(home: string, account?: { user: string; passwordEnv: string }): void;
  /** A database name no other run uses; `label` says what it is for. */
  uniqueName(label: string): string;
  createDb(name: string): Promise<void>;
  dropDb(name: string): Promise<void>;
  dbExists(name: string): Promise<boolean>;
  /** Tables, an index, a view and more, with 100 000 orders: data worth restoring. */
  populate(name: string): Promise<void>;
  /** Everything a restore must bring back, computed by the server. */
  fingerprint(name: string): Promise<Record<string, string>>;
  /** Asserts that populate()'s fingerprint holds what the round trip claims to cover. */
  expectFixtureCovered(original: Record<string, string>): void;
  /** Adds local change number `n` (1, 2...) to `name` as a row of its own. */
  addRow(name: string, n: number, note: string): Promise<void>;
  /** A change beyond rows that a conflict "drop" restore must undo too, where a case was written for one. */
  changeBeyondRows?(name: string): Promise<void>;
  /** Databases restores left behind under their temporary names (bwk_restore_*). */
  restoreLeftovers(): Promise<string[]>;
  /** Resource ids of the server's own databases, which listings must leave out. */
  systemDatabaseId: RegExp;
  /** Restore parameters the copy round trip adds (such as parallel jobs). */
  copyRestoreParameters: Record<string, unknown>;
  failures: DumpFailureFixture;
}

/** How the failure cases make a dump fail or wait, which differs with each server and dump tool. */
export interface DumpFailureFixture {
  /** An account of the suite's own logging in with `password`; returns its user name. */
  createAccount(password: string): Promise<string>;
  dropAccount(user: string): Promise<void>;
  /** Lets `user` dump and restore `name`, where the account does not already may. */
  grantDatabase?(name: string, user: string): Promise<void>;
  /** What the dump tool says about a database that does not exist. */
  missingDatabaseMessage(name: string): string;
  /** How a dump gets cut mid-stream, for the case's title. */
  cutHow: string;
  /** Protects `db` and cuts the dump's connection once output has begun; resolves with the ended checkpoint. */
  protectCutMidStream(s: DumpFailureSuite, db: string): Promise<CheckpointRecord>;
  /** What the failure reason says about such a cut. */
  cutReason: RegExp;
  /** Fills `db` and locks a table of it, so a dump of `db` waits (already running) until release(). */
  holdDumpOpen(db: string): Promise<{ release(): Promise<void> }>;
  /** The dump process of `db` once it waits on that lock. */
  dumperWaitingOnLock(s: DumpFailureSuite, db: string): Promise<{ pid: string; argv: string[] }>;
  expectDumperArgv(argv: string[], s: DumpFailureSuite): void;
  /** `environment`: the dump process's NAME=value entries. */
  expectDumperEnvironment(environment: string[], s: DumpFailureSuite): void;
  /** What the stored dump of `db` in checkpoint `checkpointId` must show beyond its two objects. */
  expectStoredDump(s: DumpFailureSuite, checkpointId: string, db: string): Promise<void>;
}

/** The round-trip suite's state and helpers, for engine-only cases registered inside it. */
export interface RoundTripSuite {
  readonly ctx: RequestContext;
  readonly home: string;
  /** The populated database the suite protected, and its resource reference. */
  readonly source: string;
  readonly ref: string;
  app: BulwarkApp;
  /** populate()'s fingerprint, taken before any case ran. */
  original: Record<string, string>;
  /** The checkpoint of `source` the suite took first. */
  checkpoint: CheckpointRecord;
  protect(): Promise<CheckpointRecord>;
  restore(parameters: Record<string, unknown>, checkpointId?: string): Promise<Outcome>;
  verify(checkpointId: string): Promise<Outcome>;
  /** A database name dropped after the suite, whether a case created it or not. */
  newName(label: string): string;
  /** The resource's section of a checkpoint: on disk, as a bank prefix, and read through the app's chunk store. */
  sectionDir(checkpointId: string): string;
  sectionPrefix(checkpointId: string): string;
  stored(checkpointId: string): PrefixedBankSection;
}

/** Cases only one engine has, registered inside the contract's suites so they share its setup. */
export interface EngineCases {
  roundTrip?(s: RoundTripSuite): void;
  failures?(s: DumpFailureSuite): void;
}

/**
 * What every database plugin must do, through the real app (provider file → plan → protect →
 * restore / verify) against a real server: round trips judged by the server's own fingerprint,
 * conflicts, verification of a damaged dump, and dumps that fail or could leak a password.
 * Engine-only cases run after the shared ones, before each suite's closing case.
 */
export function describeDatabasePluginContract(name: string, fixture: DatabasePluginFixture, engineCases: EngineCases = {}): void {
  describeRoundTrip(name, fixture, engineCases.roundTrip);
  describeDumpFailures(name, fixture, engineCases.failures);
}

function describeRoundTrip(name: string, fixture: DatabasePluginFixture, engineCases?: (s: RoundTripSuite) => void): void {
  describe(`${name} plugin: round trip, conflicts, verify (real ${fixture.product})`, function () {
    this.timeout(300_000);
    const type = `${fixture.plugin}.database`;
    const home = tempDir(`${fixture.plugin}-plugin`);
    const source = fixture.uniqueName('src');
    // Filled once setup reaches the server: a suite skipped or failed up front has nothing to drop.
    const created: string[] = [];
    const s: RoundTripSuite = {
      ctx: { projectId: 'default', admin: false },
      home: home.path,
      source,
      ref: `${type}#main/${source}`,
      app: undefined as unknown as BulwarkApp,
      original: {},
      checkpoint: undefined as unknown as CheckpointRecord,
      async protect() {
        const plan = await s.app.manager.createPlan(s.ctx, {
          name: fixture.plugin,
          provider_id: fixture.providerId,
          resources: [{ type, id: `main/${source}` }],
        });
        return (await (await s.app.manager.protect(s.ctx, plan.id)).done).record;
      },
      async restore(parameters, checkpointId = s.checkpoint.id) {
        return (await (await s.app.manager.restore(s.ctx, { checkpoint_id: checkpointId, parameters: { [type]: parameters } })).done)
          .record;
      },
      async verify(checkpointId) {
        return (await (await s.app.manager.verify(s.ctx, { checkpoint_id: checkpointId })).done).record;
      },
      newName(label) {
        const db = fixture.uniqueName(label);
        created.push(db);
        return db;
      },
      sectionDir: (checkpointId) => join(home.path, 'bank', 'checkpoints', checkpointId, 'resources', resourceKey(type, `main/${source}`)),
      sectionPrefix: (checkpointId) => resourcePrefix(checkpointId, resourceKey(type, `main/${source}`)),
      stored(checkpointId) {
        const provider = s.app.providers.get(fixture.providerId);
        return new PrefixedBankSection(provider.chunks, s.sectionPrefix(checkpointId), s.ref);
      },
    };

    before(async function () {
      requireService(this, fixture.product, fixture.serverUrl());
      created.push(source);
      await fixture.createDb(source);
      await fixture.populate(source);
      s.original = await fixture.fingerprint(source);
      fixture.writeProvider(home.path);
      s.app = await openBulwark(home.path);
      s.checkpoint = await s.protect();
    });
    after(async () => {
      await s.app?.close();
      for (const db of created) await fixture.dropDb(db);
      home.cleanup();
    });

    it('the fixture is what the round trip claims to cover', () => {
      fixture.expectFixtureCovered(s.original);
      expect(s.checkpoint.status, JSON.stringify(s.checkpoint.extra_info)).to.equal('available');
    });

    it(
      'the provider\'s protectable lists the test database for {server: "main"}, and no system database; a plan for a missing one is ' +
        'refused',
      async () => {
        const provider = s.app.providers.get(fixture.providerId);
        const listed = (await provider.protectables.get(type)!.listResources({ projectId: 'default', parameters: { server: 'main' } })).map(
          (r) => r.id,
        );
        expect(listed).to.include(`main/${source}`);
        expect(listed.filter((id) => fixture.systemDatabaseId.test(id))).to.deep.equal([]);
        const missing = await s.app.manager
          .createPlan(s.ctx, { name: 'x', provider_id: fixture.providerId, resources: [{ type, id: `main/${source}_missing` }] })
          .then(
            () => null,
            (e: { code: string }) => e.code,
          );
        expect(missing).to.equal('BWK_ERR_RESOURCE_NOT_FOUND');
      },
    );

    it('protect → drop the database → restore gives back identical data', async () => {
      expect(s.checkpoint.status).to.equal('available');
      await fixture.dropDb(source);
      const record = await s.restore({});
      expect(record.status, JSON.stringify(record.resources_reason)).to.equal('success');
      expect(await fixture.fingerprint(source)).to.deep.equal(s.original);
    });

    it('restores under another name and leaves the original untouched', async () => {
      const copy = s.newName('copy');
      await fixture.addRow(source, 1, 'local change');
      const changed = await fixture.fingerprint(source);
      const record = await s.restore({ target_database: copy, ...fixture.copyRestoreParameters });
      expect(record.status, JSON.stringify(record.resources_reason)).to.equal('success');
      expect(await fixture.fingerprint(copy)).to.deep.equal(s.original);
      expect(await fixture.fingerprint(source)).to.deep.equal(changed);
    });

    it('conflict "fail" refuses an existing target before touching it; "drop" replaces it', async () => {
      await fixture.addRow(source, 2, 'must survive a refused restore');
      const before = await fixture.fingerprint(source);
      const refused = await s.restore({});
      expect(refused.status).to.equal('fail');
      expect(refused.resources_reason[s.ref]).to.match(/BWK_ERR_RESTORE_CONFLICT.*already exists.*conflict "drop"/);
      expect(await fixture.fingerprint(source)).to.deep.equal(before);

      await fixture.changeBeyondRows?.(source);
      const replaced = await s.restore({ conflict: 'drop' });
      expect(replaced.status, JSON.stringify(replaced.resources_reason)).to.equal('success');
      expect(await fixture.fingerprint(source)).to.deep.equal(s.original);
      expect(await fixture.restoreLeftovers(), 'no temporary restore database is left behind').to.deep.equal([]);
    });

    it('refuses a target_server the provider does not configure before any restore record exists', async () => {
      const err = await s.app.manager
        .restore(s.ctx, { checkpoint_id: s.checkpoint.id, parameters: { [type]: { target_server: 'elsewhere' } } })
        .then(
          () => null,
          (e: { code: string; message: string }) => e,
        );
      expect(err?.code).to.equal('BWK_ERR_PARAMETERS_INVALID');
      expect(err?.message).to.include('target_server "elsewhere" is not configured (configured: main)');
    });

    it('verify succeeds on a good dump; after one flipped byte it fails naming the resource, and restore writes nothing', async () => {
      const cp = await s.protect();
      expect(cp.status).to.equal('available');
      expect((await s.verify(cp.id)).status).to.equal('success');

      // One byte flipped where the dump is stored (a chunk in its pack).
      const spot = await flipChunkByte(homeBank(home.path), s.sectionPrefix(cp.id), fixture.dumpObject);
      const failed = await s.verify(cp.id);
      expect(failed.status).to.equal('fail');
      expect(failed.resources_reason[s.ref])
        .to.match(/BWK_ERR_DATA_CORRUPT/)
        .and.to.include(s.ref);

      const target = s.newName('corrupt');
      const refused = await s.restore({ target_database: target }, cp.id);
      expect(refused.status).to.equal('fail');
      expect(refused.resources_reason[s.ref])
        .to.match(/BWK_ERR_DATA_CORRUPT/)
        .and.to.include(s.ref)
        .and.to.include(spot.id);
      expect(await fixture.dbExists(target), 'nothing was restored').to.equal(false);
      // Flipped back: the chunk may be shared with other checkpoints of this database (deduplication).
      await flipChunkByte(homeBank(home.path), s.sectionPrefix(cp.id), fixture.dumpObject);
      expect((await s.verify(cp.id)).status).to.equal('success');

      // One byte changed in the dump itself, stored well-formed: only the dump's SHA-256 in meta.json catches it.
      await flipPlainByte(s.stored(cp.id), fixture.dumpObject);
      const altered = await s.verify(cp.id);
      expect(altered.status).to.equal('fail');
      expect(altered.resources_reason[s.ref])
        .to.match(/BWK_ERR_DATA_CORRUPT.*does not match the SHA-256/)
        .and.to.include(s.ref);
      const refusedAltered = await s.restore({ target_database: target }, cp.id);
      expect(refusedAltered.status).to.equal('fail');
      expect(refusedAltered.resources_reason[s.ref]).to.match(/BWK_ERR_DATA_CORRUPT.*does not match the SHA-256/);
      expect(await fixture.dbExists(target), 'nothing was restored').to.equal(false);
    });

    engineCases?.(s);

    it('deleting a checkpoint removes its dump and meta.json', async () => {
      const cp = await s.protect();
      expect(existsSync(join(s.sectionDir(cp.id), 'meta.json'))).to.equal(true);
      await s.app.manager.deleteCheckpoint(s.ctx, cp.id);
      expect(existsSync(join(s.sectionDir(cp.id), fixture.dumpObject))).to.equal(false);
      expect(existsSync(join(s.sectionDir(cp.id), 'meta.json'))).to.equal(false);
    });
  });
}
