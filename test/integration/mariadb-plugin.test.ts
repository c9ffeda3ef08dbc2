// MariaDB-only cases: mariadb-dump's plain-SQL dump (no CREATE DATABASE, structure checked by verify),
// MySQL's system databases, DEFINER rights on load, and the server listing, so far checked only here.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { PrefixedBankSection } from '../../src/bank/section.js';
import { silentLogger } from '../../src/common/logging.js';
import { encodeDumpMeta, type DumpMeta } from '../../src/plugins/db/dump-meta.js';
import { describeDatabasePluginContract } from '../contracts/database-plugin.contract.js';
import { MARIADB_PROVIDER_ID, databasesLike, dbExists, dropDb, fingerprint, sql } from '../helpers/mariadb-fixture.js';
import { mariadbPlugin } from '../helpers/mariadb-plugin-fixture.js';

describeDatabasePluginContract('mariadb', mariadbPlugin, {
  roundTrip(s) {
    it('the provider\'s protectable lists the one configured mariadb.server, "main"', async () => {
      const provider = s.app.providers.get(MARIADB_PROVIDER_ID);
      const server = await provider.protectables.get('mariadb.server')!.listResources({ projectId: 'default', parameters: {} });
      expect(server.map((r) => r.id)).to.deep.equal(['main']);
    });

    it('stores a mariadb-dump without CREATE DATABASE, with meta.json recording the charset', async () => {
      const bytes = await s.stored(s.checkpoint.id).get('dump.sql');
      const dump = bytes.toString('utf8');
      expect(dump).to.not.match(/^CREATE DATABASE/m);
      expect(dump).to.not.match(/^USE /m);
      expect(dump).to.match(/-- Dump completed/);
      const meta = JSON.parse(readFileSync(join(s.sectionDir(s.checkpoint.id), 'meta.json'), 'utf8')) as Record<string, unknown>;
      expect(meta).to.include({ object: 'dump.sql', tool: 'mariadb-dump' });
      expect(meta.source).to.deep.equal({
        server: 'main',
        database: s.source,
        format: 'sql',
        charset: { charset: 'utf8mb4', collation: 'utf8mb4_unicode_ci' },
      });
      expect(meta.sha256).to.equal(createHash('sha256').update(bytes).digest('hex'));
    });

    it('refuses a system database as target before any restore record exists', async () => {
      const system = await s.app.manager
        .restore(s.ctx, {
          checkpoint_id: s.checkpoint.id,
          parameters: { 'mariadb.database': { target_database: 'mysql', conflict: 'drop' } },
        })
        .then(
          () => null,
          (e: { code: string; message: string }) => e,
        );
      expect(system?.code).to.equal('BWK_ERR_PARAMETERS_INVALID');
      expect(system?.message).to.include('"mysql" is a system database');
    });

    it("verify checks the dump's structure: a hash-consistent dump without its trailer or header is corrupt", async () => {
      const provider = s.app.providers.get(MARIADB_PROVIDER_ID);
      const resource = { type: 'mariadb.database', id: `main/${s.source}`, name: s.source };
      const plugin = provider.protection.get('mariadb.database')!;
      const bank = new PrefixedBankSection(provider.chunks, `test-structure-${s.source}/`, s.ref);
      const good = await s.stored(s.checkpoint.id).get('dump.sql');
      const { meta_sha256: _seal, ...meta } = JSON.parse(
        (await s.stored(s.checkpoint.id).get('meta.json')).toString('utf8'),
      ) as DumpMeta & {
        meta_sha256: string;
      };
      const run = async (dump: Buffer) => {
        await bank.putStream('dump.sql', Readable.from([dump]));
        await bank.put(
          'meta.json',
          encodeDumpMeta({ ...meta, size: dump.length, sha256: createHash('sha256').update(dump).digest('hex') }),
        );
        return plugin.getVerifyOperation(resource).main!({
          operationId: 'op',
          checkpointId: 'cp',
          projectId: 'default',
          resource,
          parameters: {},
          bank,
          signal: new AbortController().signal,
          logger: silentLogger,
          progress: () => undefined,
          resumeState: null,
          saveResumeState: () => undefined,
          verificationId: 'v',
          savedInfo: null,
        }).then(
          () => null,
          (e: { code: string; message: string }) => e,
        );
      };
      try {
        expect(await run(good)).to.equal(null);
        const cut = good.subarray(0, good.lastIndexOf('-- Dump completed'));
        const truncated = await run(cut);
        expect(truncated?.code).to.equal('BWK_ERR_DATA_CORRUPT');
        expect(truncated?.message).to.include(s.ref).and.to.include('"-- Dump completed"');
        const headless = await run(good.subarray(good.indexOf('\n/*!40101')));
        expect(headless?.code).to.equal('BWK_ERR_DATA_CORRUPT');
        expect(headless?.message).to.include("does not begin with mariadb-dump's header");
      } finally {
        for (const name of await bank.list()) await bank.delete(name);
      }
    });
  },

  failures(s) {
    const definer =
      'a dump that does not load (a view whose DEFINER the user may not set): a new target stays absent, an existing one untouched';
    it(definer, async () => {
      const db = await s.newDb('definer');
      await sql(
        'CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1); CREATE DEFINER=`root`@`127.0.0.1` VIEW v AS SELECT id FROM t;',
        db,
      );
      const cp = (await (await s.app.manager.protect(s.ctx, (await s.plan(db)).id)).done).record;
      expect(cp.status, JSON.stringify(cp.extra_info)).to.equal('available');
      const restore = async (parameters: Record<string, unknown>) =>
        (await (await s.app.manager.restore(s.ctx, { checkpoint_id: cp.id, parameters: { 'mariadb.database': parameters } })).done).record;
      const ref = `mariadb.database#main/${db}`;

      const fresh = await s.newDb('fresh');
      await dropDb(fresh);
      const intoNew = await restore({ target_database: fresh });
      expect(intoNew.status).to.equal('fail');
      expect(intoNew.resources_reason[ref]).to.match(
        /BWK_ERR_RESTORE_FAILED.*mariadb exit code 1; the partial restore was dropped.*SET USER/s,
      );
      expect(await dbExists(fresh), 'the new target was dropped again').to.equal(false);

      const before = await fingerprint(db);
      const replace = await restore({ conflict: 'drop' });
      expect(replace.status).to.equal('fail');
      expect(replace.resources_reason[ref]).to.match(
        /BWK_ERR_RESTORE_FAILED.*did not load into a temporary database, so the existing target was not changed/,
      );
      expect(await fingerprint(db)).to.deep.equal(before);
      expect(await databasesLike('bwk_restore_'), 'the temporary database was dropped').to.deep.equal([]);
    });
  },
});
