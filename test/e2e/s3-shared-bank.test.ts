/**
 * One S3 bank (MinIO) and one PostgreSQL catalog shared by two deployments of separate homes, as two
 * machines would share them: each home runs its own `bulwark api` and `bulwark protection-service`
 * (over RabbitMQ queues of its own). A checkpoint made through one is restored byte-identical through
 * the other; a GC started through one while the other protects loses nothing (`bank check
 * --read-data` passes after, and the checkpoint restores whole).
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckReport } from '../../src/bank/chunks/check.js';
import type { GcReport } from '../../src/bank/chunks/gc.js';
import { writeAmqpHome } from '../helpers/amqp-home.js';
import { cliJson, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/paths.js';
import { createTempDatabase, type TempDatabase } from '../helpers/pg-database.js';
import type { Daemon } from '../helpers/processes.js';
import { startDaemon } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';
import { emptyPrefix, ensureTestBucket, freshPrefix, requireS3, s3BankOptions } from '../helpers/s3.js';
import { allowAll } from '../helpers/scopes.js';
import { pgUrl, requireService } from '../helpers/services.js';
import { expectTreeMatches, snapshotTree } from '../helpers/tree.js';

const PROVIDER_ID = '5e7e57e5-0000-4000-8000-0000000053b3';
const PROJECT = 's3shared';
const MiB = 1024 * 1024;

interface Home {
  path: string;
  url: string;
  cleanup(): void;
}

/** A tree of incompressible files (and one repeated block, so chunks dedupe) under `dir`. */
function makeTree(dir: string, files: number, size: number): void {
  mkdirSync(join(dir, 'sub'), { recursive: true });
  for (let i = 0; i < files; i++) writeFileSync(join(dir, i % 2 ? 'sub' : '', `f${i}.bin`), randomBytes(size + i));
  writeFileSync(join(dir, 'notes.txt'), 'plain text\n'.repeat(1000));
}

describe('e2e: two deployments sharing one S3 bank and one PostgreSQL catalog', function () {
  this.timeout(300_000);
  const work = tempDir('s3shared');
  const prefix = freshPrefix('shared');
  const daemons: Daemon[] = [];
  const homes: Home[] = [];
  let db: TempDatabase | undefined;
  let admin = '';
  /** The first test's checkpoint and tree: the GC test checks it is still whole too. */
  let first: { id: string; want: ReturnType<typeof snapshotTree> } | undefined;

  before(async function () {
    requireS3(this);
    requireService(this, 'PostgreSQL', pgUrl());
    await ensureTestBucket();
    db = await createTempDatabase(pgUrl());
    for (const name of ['a', 'b']) {
      const home = tempDir(`s3shared-${name}`);
      writeAmqpHome(this, home.path, `bulwark-s3-${name}`, ['catalog:', `  url: ${db.url}`]);
      allowAll(home.path, [PROJECT]);
      mkdirSync(join(home.path, 'providers'), { recursive: true });
      writeFileSync(
        join(home.path, 'providers', 'shared-s3.yaml'),
        [
          `id: ${PROVIDER_ID}`,
          'name: shared-s3',
          'plugins:',
          '  - name: fs.directory',
          `bank: ${JSON.stringify({ type: 's3', options: s3BankOptions(prefix), pack_size: 4 * MiB })}`,
          '',
        ].join('\n'),
      );
      // Each home names its host: two processes of one machine would otherwise share a service row.
      const host = { BULWARK_SERVICE_HOST: `s3shared-${name}` };
      daemons.push(await startDaemon(home.path, ['protection-service'], /"ready":true/, 60_000, host));
      const api = await startDaemon(home.path, ['api', '--port', '0'], /"url":"[^"]+"/, 60_000, host);
      daemons.push(api);
      homes.push({ ...home, url: (JSON.parse(/\{"url".*\}/.exec(api.output())![0]) as { url: string }).url });
    }
    // One catalog: a token made in home a works against home b's API too.
    admin = (await cliJson<{ token: string }>(homes[0]!.path, ['token', 'create', '--project', PROJECT, '--role', 'admin'])).token;
  });

  after(async () => {
    await Promise.all(daemons.map((d) => d.stop().catch(() => undefined)));
    delete process.env.BWK_TEST_AMQP_PASSWORD;
    await db?.drop();
    for (const h of homes) h.cleanup();
    work.cleanup();
    if (db !== undefined) await emptyPrefix(prefix);
  });

  const api = async (home: Home, method: string, path: string, body?: unknown) => {
    const r = await fetch(`${home.url}/v1/${PROJECT}${path}`, {
      method,
      headers: { 'x-auth-token': admin, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await r.text();
    return { status: r.status, body: (text === '' ? {} : JSON.parse(text)) as Record<string, Record<string, unknown>> };
  };

  const createPlan = async (home: Home, name: string, dir: string): Promise<string> => {
    const r = await api(home, 'POST', '/plans', {
      plan: { name, provider_id: PROVIDER_ID, resources: [{ type: 'fs.directory', id: dir }] },
    });
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    return r.body.plan!.id as string;
  };

  const startCheckpoint = async (home: Home, planId: string): Promise<string> => {
    const r = await api(home, 'POST', `/providers/${PROVIDER_ID}/checkpoints`, { checkpoint: { plan_id: planId } });
    expect(r.status, JSON.stringify(r.body)).to.equal(202);
    return r.body.checkpoint!.id as string;
  };

  const checkpointStatus = async (home: Home, id: string): Promise<string> =>
    (await api(home, 'GET', `/providers/${PROVIDER_ID}/checkpoints/${id}`)).body.checkpoint!.status as string;

  const waitAvailable = (home: Home, id: string) =>
    waitFor(
      `checkpoint ${id} to end`,
      async () => {
        const status = await checkpointStatus(home, id);
        return ['available', 'error'].includes(status) ? status : undefined;
      },
      180_000,
      300,
    );

  const restoreThrough = async (home: Home, checkpointId: string, target: string): Promise<void> => {
    const r = await api(home, 'POST', '/restores', {
      restore: { provider_id: PROVIDER_ID, checkpoint_id: checkpointId, parameters: { 'fs.directory': { target_path: target } } },
    });
    expect(r.status, JSON.stringify(r.body)).to.be.oneOf([200, 202]);
    const id = r.body.restore!.id as string;
    const status = await waitFor(
      `restore ${id} to end`,
      async () => {
        const s = (await api(home, 'GET', `/restores/${id}`)).body.restore!.status as string;
        return ['success', 'fail', 'error'].includes(s) ? s : undefined;
      },
      180_000,
      300,
    );
    expect(status, JSON.stringify((await api(home, 'GET', `/restores/${id}`)).body)).to.equal('success');
  };

  const cli = (home: Home, args: string[]) => runCli(home.path, args, { env: { BULWARK_URL: home.url, BULWARK_TOKEN: admin } });

  it('a checkpoint made through one deployment is restored byte-identical through the other', async () => {
    const [a, b] = homes as [Home, Home];
    const src = join(work.path, 'src-1');
    makeTree(src, 6, 700 * 1024);
    const want = snapshotTree(src);
    const cp = await startCheckpoint(a, await createPlan(a, 'one', src));
    expect(await waitAvailable(a, cp)).to.equal('available');
    const target = join(work.path, 'restored-1');
    await restoreThrough(b, cp, target);
    expectTreeMatches(target, want);
    first = { id: cp, want };
  });

  it('a GC started through one while the other protects loses nothing: bank check --read-data passes, all restores whole', async () => {
    const [a, b] = homes as [Home, Home];
    // Garbage for the GC to find: a checkpoint deleted through b.
    const junk = join(work.path, 'junk');
    makeTree(junk, 4, 600 * 1024);
    const junkCp = await startCheckpoint(b, await createPlan(b, 'junk', junk));
    expect(await waitAvailable(b, junkCp)).to.equal('available');
    expect((await api(b, 'DELETE', `/providers/${PROVIDER_ID}/checkpoints/${junkCp}`)).status).to.be.oneOf([200, 202, 204]);
    await waitFor(
      'the deleted checkpoint to go',
      async () => {
        const r = await api(b, 'GET', `/providers/${PROVIDER_ID}/checkpoints/${junkCp}`);
        return r.status === 404 || r.body.checkpoint?.status === 'deleted' ? true : undefined;
      },
      60_000,
      300,
    );

    const src = join(work.path, 'src-2');
    makeTree(src, 16, 2 * MiB);
    const want = snapshotTree(src);
    const cp = await startCheckpoint(a, await createPlan(a, 'two', src));
    await waitFor('the protect to run', async () => ((await checkpointStatus(a, cp)) === 'protecting' ? true : undefined), 60_000, 50);
    // Both deployments run on this machine's clock: no skew to allow for, so the junk packs are judged now.
    const gc = await cli(b, ['bank', 'gc', '--provider', PROVIDER_ID, '--clock-skew', '0']);
    expect(gc.code, gc.stderr).to.equal(0);
    const report = gc.json<GcReport>();
    expect(await waitAvailable(a, cp)).to.equal('available');
    // The GC did collect: the deleted checkpoint's packs went (at once, or as fossils for a later run).
    expect(report.packs_fossilized + report.chunks_removed + report.orphan_packs_deleted, JSON.stringify(report)).to.be.greaterThan(0);

    const check = await cli(b, ['bank', 'check', '--provider', PROVIDER_ID, '--read-data']);
    expect(check.code, `${check.stdout} ${check.stderr}`).to.equal(0);
    expect(check.json<CheckReport>()).to.include({ ok: true, missing_chunks: 0, corrupt_chunks: 0 });
    // A second GC (fossils now past the running protect) still leaves every checkpoint whole.
    expect((await cli(a, ['bank', 'gc', '--provider', PROVIDER_ID, '--clock-skew', '0'])).code).to.equal(0);
    const again = await cli(a, ['bank', 'check', '--provider', PROVIDER_ID, '--read-data']);
    expect(again.json<CheckReport>()).to.include({ ok: true, missing_chunks: 0, corrupt_chunks: 0 });
    const target = join(work.path, 'restored-2');
    await restoreThrough(b, cp, target);
    expectTreeMatches(target, want);
    if (first !== undefined) {
      await restoreThrough(a, first.id, join(work.path, 'restored-1-again'));
      expectTreeMatches(join(work.path, 'restored-1-again'), first.want);
    }
  });
});
