// PostgreSQL-only cases: what only the postgres plugin has (phase: prepare, ICU databases, pg_dumpall globals,
// discovery of a server's databases) and a re-sealed meta.json, so far checked only here.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PrefixedBankSection } from '../../src/bank/section.js';
import { silentLogger } from '../../src/common/logging.js';
import { describeDatabasePluginContract } from '../contracts/database-plugin.contract.js';
import { flipPlainByte } from '../helpers/bank-files.js';
import { supportsIcuDatabases } from '../helpers/pg-database.js';
import { PG_PROVIDER_ID, admin, fingerprint, withDb } from '../helpers/postgres-fixture.js';
import { postgresPlugin } from '../helpers/postgres-plugin-fixture.js';
import { pgUrl } from '../helpers/services.js';
import { encodeDumpMeta, type DumpMeta } from '../../src/plugins/db/dump-meta.js';

describeDatabasePluginContract('postgres', postgresPlugin, {
  roundTrip(s) {
    it('lists the database through app.manager.protectables, and the server with it as a dependent', async () => {
      // Discovery through the manager reaches the operator's provider (server `main`), not the built-in one.
      const instances = await s.app.manager.protectables.instances(s.ctx, 'postgres.database', { server: 'main' });
      expect(instances.map((r) => r.id)).to.include(`main/${s.source}`);
      const server = await s.app.manager.protectables.instance(s.ctx, 'postgres.server', 'main');
      expect(server.dependent_resources.map((r) => r.id)).to.include(`main/${s.source}`);
    });

    it('restores in the prepare_begin hook with phase: prepare (for stacks whose files depend on it)', async () => {
      const copy = s.newName('early');
      const record = await s.restore({ target_database: copy, phase: 'prepare' });
      expect(record.status, JSON.stringify(record.resources_reason)).to.equal('success');
      expect(await fingerprint(copy)).to.deep.equal(s.original);
    });

    const resealed =
      'verify catches a dump altered and its meta.json re-sealed to match, through the saved info the checkpoint keeps apart';
    it(resealed, async () => {
      const cp = await s.protect();
      expect(cp.status).to.equal('available');
      const bytes = await flipPlainByte(s.stored(cp.id), 'dump');
      // Re-sealing meta.json over the altered dump, as someone with write access to the bank could.
      const metaFile = join(s.sectionDir(cp.id), 'meta.json');
      const { meta_sha256: _seal, ...meta } = JSON.parse(readFileSync(metaFile, 'utf8')) as DumpMeta & { meta_sha256: string };
      writeFileSync(metaFile, encodeDumpMeta({ ...meta, sha256: createHash('sha256').update(bytes).digest('hex') }));
      const resealed = await s.verify(cp.id);
      expect(resealed.status).to.equal('fail');
      expect(resealed.resources_reason[s.ref]).to.match(/BWK_ERR_DATA_CORRUPT.*saved with the checkpoint/);
      expect(existsSync(join(s.sectionDir(s.checkpoint.id), 'dump')), 'the first checkpoint still has its dump').to.equal(true);
    });

    it('recreates the database with its encoding and locale provider (an ICU database stays ICU)', async function () {
      if (!(await supportsIcuDatabases(pgUrl()))) this.skip();
      const icu = s.newName('icu');
      const copy = s.newName('icu_copy');
      await admin(`create database ${icu} template template0 encoding 'UTF8' locale_provider icu icu_locale 'en-US'`);
      await withDb(icu, (c) =>
        c.query("create table words (id int primary key, w text); insert into words values (1, 'b'), (2, 'A'), (3, 'a')"),
      );
      const plan = await s.app.manager.createPlan(s.ctx, {
        name: 'icu',
        provider_id: PG_PROVIDER_ID,
        resources: [{ type: 'postgres.database', id: `main/${icu}` }],
      });
      const cp = (await (await s.app.manager.protect(s.ctx, plan.id)).done).record;
      expect(cp.status, JSON.stringify(cp.extra_info)).to.equal('available');
      const record = await s.restore({ target_database: copy }, cp.id);
      expect(record.status, JSON.stringify(record.resources_reason)).to.equal('success');
      const props = async (db: string) =>
        (
          await admin(
            "select pg_encoding_to_char(encoding) as enc, datlocprovider as provider, coalesce(to_jsonb(d)->>'datlocale', " +
              "to_jsonb(d)->>'daticulocale') as locale from pg_database d where datname = $1",
            [db],
          )
        ).rows[0];
      expect(await props(copy)).to.deep.equal(await props(icu));
      expect(await fingerprint(copy)).to.deep.equal(await fingerprint(icu));
    });
  },

  failures(s) {
    it('globals: true stores pg_dumpall --globals-only for a postgres.server, which verify checks', async () => {
      const provider = s.app.providers.get(PG_PROVIDER_ID);
      const plugin = provider.protection.get('postgres.server')!;
      const resource = { type: 'postgres.server', id: 'main', name: 'main' };
      const bank = new PrefixedBankSection(provider.chunks, 'test-globals/', 'postgres.server#main');
      let saved: Record<string, unknown> | null = null;
      const base = {
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
      };
      await plugin.getProtectOperation(resource).main!({
        ...base,
        previous: null,
        saveInfo: async (info) => {
          saved = info;
        },
      });
      expect(saved).to.have.property('format', 'sql');
      const sql = (await bank.get('globals.sql')).toString('utf8');
      expect(sql).to.match(new RegExp(`CREATE ROLE ${s.user}`));
      await plugin.getVerifyOperation(resource).main!({ ...base, verificationId: 'v', savedInfo: saved });
      await bank.put('globals.sql', `${sql}-- tampered\n`);
      const err = await plugin.getVerifyOperation(resource).main!({ ...base, verificationId: 'v', savedInfo: saved }).then(
        () => null,
        (e: { code: string; message: string }) => e,
      );
      expect(err?.code).to.equal('BWK_ERR_DATA_CORRUPT');
      expect(err?.message).to.include('postgres.server#main');
      for (const name of await bank.list()) await bank.delete(name);
    });
  },
});
