/**
 * `checkpoint export` and `checkpoint import` between two homes (two deployments), in process with
 * real fs banks and the real PostgreSQL: the receiving deployment never saw the plans, yet restores a
 * directory byte-identical and a database into a fresh one of its own. Every refusal leaves the target
 * as it was: an untrusted key, a wrong passphrase, one byte flipped anywhere in the archive (property
 * over positions), a truncated archive, and signed manifests that lie (`..` names, duplicates, huge
 * sizes). An import that fails midway resumes without reading again what it imported.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { CountingBank } from '../../src/bank/adapters/counting.js';
import { MemoryBank } from '../../src/bank/adapters/memory.js';
import { checkBank } from '../../src/bank/chunks/check.js';
import { chunkId } from '../../src/bank/chunks/codec.js';
import { deriveKeys } from '../../src/bank/chunks/keys.js';
import { ChunkStore } from '../../src/bank/chunks/store.js';
import type { ObjectStat } from '../../src/bank/port.js';
import { bwkError } from '../../src/core/errors.js';
import type { CheckpointRecord } from '../../src/checkpoints/model.js';
import { checkpointPrefix } from '../../src/bank/layout.js';
import { openBulwark } from '../../src/processes/app.js';
import type { BulwarkApp } from '../../src/processes/app.js';
import type { Provider } from '../../src/providers/registry.js';
import { MAGIC, PUBLIC_KEY_BYTES, SIGNATURE_BYTES, signedHeader } from '../../src/protection-manager/export/archive-format.js';
import type { Manifest } from '../../src/protection-manager/export/archive-format.js';
import { openArchive } from '../../src/protection-manager/export/archive-reader.js';
import { createDeploymentKey, publicKeyBytes } from '../../src/protection-manager/export/deployment-key.js';
import { importArchive } from '../../src/protection-manager/export/importer.js';
import { DEFAULT_PASSPHRASE_ENV, exportToFile, importFromFile } from '../../src/protection-manager/export/transfer-service.js';
import { PG_PROVIDER_ID, createDb, dropDb, fingerprint, populate, uniqueName, writePgProvider } from '../helpers/postgres-fixture.js';
import { tempDir } from '../helpers/paths.js';
import { pgUrl, requireService } from '../helpers/services.js';
import { expectTreeMatches, snapshotTree } from '../helpers/tree.js';

const FS_PROVIDER = 'cf56bd3e-97a7-4078-b6d5-f36246333fd9';
const PASSPHRASE = 'export passphrase of the test';

/** Every file below `dir` with its size: "the target is unchanged" compares two of these. */
function listing(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true }) as string[])
    .map((rel) => join(dir, rel))
    .filter((p) => statSync(p).isFile())
    .map((p) => `${p} ${statSync(p).size}`)
    .sort();
}

/** A bank that fails its `failAfter`+1-th pack write: an import cut midway, for real, by the bank. */
class FailingBank extends CountingBank {
  packsWritten = 0;
  constructor(
    inner: MemoryBank,
    private readonly failAfter: number,
  ) {
    super(inner);
  }
  override async putObjectStream(key: string, source: Readable | AsyncIterable<Buffer>): Promise<ObjectStat> {
    if (key.startsWith('chunks/packs/') && ++this.packsWritten > this.failAfter)
      throw bwkError('BWK_ERR_BANK_IO', { op: 'write', key, reason: 'disk gone' });
    return super.putObjectStream(key, source);
  }
}

describe('checkpoint export and import between deployments', function () {
  this.timeout(600_000);
  const homeA = tempDir('bwk-export-a');
  const homeB = tempDir('bwk-export-b');
  const work = tempDir('bwk-export-work');
  const data = join(work.path, 'data');
  const fsArchive = join(work.path, 'fs.bwkx');
  const pgArchive = join(work.path, 'pg.bwkx');
  const ctx = { projectId: 'default', admin: true };
  const dbSource = uniqueName('bwk_export_src');
  const dbTarget = uniqueName('bwk_export_dst');
  const made: string[] = [];
  let a: BulwarkApp;
  let b: BulwarkApp;
  let publicKey: string;
  let fsCheckpoint: CheckpointRecord;
  let pgCheckpoint: CheckpointRecord;
  const bankB = (): string[] => [...listing(join(homeB.path, 'bank')), ...listing(join(homeB.path, 'imports'))];

  before(async function () {
    requireService(this, 'PostgreSQL', pgUrl());
    process.env[DEFAULT_PASSPHRASE_ENV] = PASSPHRASE;
    for (const home of [homeA.path, homeB.path]) writePgProvider(home);
    publicKey = (await createDeploymentKey(homeA.path)).publicKey;
    mkdirSync(join(data, 'sub'), { recursive: true });
    for (let i = 0; i < 6; i++) writeFileSync(join(data, `f${i}.bin`), randomBytes(700 * 1024));
    writeFileSync(join(data, 'sub', 'text.txt'), 'hello '.repeat(5000));
    await createDb(dbSource);
    made.push(dbSource);
    await populate(dbSource, 2000);
    a = await openBulwark(homeA.path);
    const fsPlan = await a.manager.createPlan(ctx, {
      name: 'files',
      provider_id: FS_PROVIDER,
      resources: [{ type: 'fs.directory', id: data }],
    });
    fsCheckpoint = (await (await a.manager.protect(ctx, fsPlan.id)).done).record;
    const pgPlan = await a.manager.createPlan(ctx, {
      name: 'db',
      provider_id: PG_PROVIDER_ID,
      resources: [{ type: 'postgres.database', id: `main/${dbSource}` }],
    });
    pgCheckpoint = (await (await a.manager.protect(ctx, pgPlan.id)).done).record;
    expect([fsCheckpoint.status, pgCheckpoint.status]).to.deep.equal(['available', 'available']);
    await exportToFile(a, ctx, { checkpoint_id: fsCheckpoint.id, out: fsArchive });
    await exportToFile(a, ctx, { checkpoint_id: pgCheckpoint.id, out: pgArchive });
    b = await openBulwark(homeB.path);
  });
  after(async () => {
    delete process.env[DEFAULT_PASSPHRASE_ENV];
    await a?.close();
    await b?.close();
    for (const db of made) await dropDb(db).catch(() => undefined);
    homeA.cleanup();
    homeB.cleanup();
    work.cleanup();
  });

  const importInto = (file: string, extra: { trust_keys?: string[]; provider_id?: string } = {}) =>
    importFromFile(b, ctx, {
      file,
      provider_id: extra.provider_id ?? FS_PROVIDER,
      ...(extra.trust_keys ? { trust_keys: extra.trust_keys } : {}),
    });
  const refusal = async (p: Promise<unknown>): Promise<{ code: string; message: string }> => {
    try {
      await p;
    } catch (err) {
      return err as { code: string; message: string };
    }
    throw new Error('the import was not refused');
  };

  it('writes the archive without the bank key or the plaintext, signed with the deployment key', () => {
    const bytes = readFileSync(fsArchive);
    expect(bytes.subarray(0, MAGIC.length).equals(MAGIC)).to.equal(true);
    expect(bytes.subarray(MAGIC.length, MAGIC.length + PUBLIC_KEY_BYTES).equals(publicKeyBytes(publicKey))).to.equal(true);
    expect(bytes.includes(Buffer.from('hello hello hello'))).to.equal(false);
    expect(bytes.includes(readFileSync(join(data, 'f0.bin')).subarray(0, 4096))).to.equal(false);
    expect(existsSync(`${fsArchive}.partial`)).to.equal(false);
  });

  it('refuses an archive signed by a key it does not trust, changing nothing', async () => {
    const before = bankB();
    const err = await refusal(importInto(fsArchive));
    expect(err.code).to.equal('BWK_ERR_ARCHIVE_UNTRUSTED');
    expect(err.message).to.include(publicKey);
    expect(bankB()).to.deep.equal(before);
    const other = (await createDeploymentKey(join(work.path, 'other-home'))).publicKey;
    expect((await refusal(importInto(fsArchive, { trust_keys: [other] }))).code).to.equal('BWK_ERR_ARCHIVE_UNTRUSTED');
    expect(bankB()).to.deep.equal(before);
  });

  it('refuses a wrong passphrase before anything is written', async () => {
    const before = bankB();
    process.env[DEFAULT_PASSPHRASE_ENV] = 'not the passphrase';
    try {
      expect((await refusal(importInto(fsArchive, { trust_keys: [publicKey] }))).code).to.equal('BWK_ERR_EXPORT_PASSPHRASE_WRONG');
    } finally {
      process.env[DEFAULT_PASSPHRASE_ENV] = PASSPHRASE;
    }
    expect(bankB()).to.deep.equal(before);
  });

  it('refuses an archive with any one byte flipped, naming where, and leaves the target unchanged (property)', async () => {
    const original = readFileSync(fsArchive);
    const flipped = join(work.path, 'flipped.bwkx');
    const before = bankB();
    const headerEnd = MAGIC.length + PUBLIC_KEY_BYTES;
    // Every region at least once (magic, key, length, manifest, signature, first and last entry), then random positions.
    const manifestLen = original.readUInt32BE(headerEnd);
    const sigAt = headerEnd + 4 + manifestLen;
    const fixed = [0, MAGIC.length, headerEnd + 1, headerEnd + 4 + 10, sigAt + 5, sigAt + SIGNATURE_BYTES + 3, original.length - 1];
    const positions = fc.oneof(fc.constantFrom(...fixed), fc.integer({ min: 0, max: original.length - 1 }));
    await fc.assert(
      fc.asyncProperty(positions, fc.integer({ min: 1, max: 255 }), async (at, mask) => {
        const copy = Buffer.from(original);
        copy[at] = copy[at]! ^ mask;
        writeFileSync(flipped, copy);
        const err = await refusal(importInto(flipped, { trust_keys: [publicKey] }));
        if (at >= MAGIC.length && at < headerEnd) expect(err.code).to.equal('BWK_ERR_ARCHIVE_UNTRUSTED');
        else {
          expect(err.code, err.message).to.equal('BWK_ERR_ARCHIVE_INVALID');
          const where =
            at < MAGIC.length || at < headerEnd + 4
              ? /the header|the signature/
              : at < sigAt + SIGNATURE_BYTES
                ? /the signature/
                : /entry \d+ /;
          expect(err.message).to.match(where);
        }
        expect(bankB()).to.deep.equal(before);
      }),
      { numRuns: 40 },
    );
  });

  it('refuses a truncated archive, naming the first missing part, and leaves the target unchanged (property)', async () => {
    const original = readFileSync(fsArchive);
    const cut = join(work.path, 'cut.bwkx');
    const before = bankB();
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: original.length - 1 }), async (length) => {
        writeFileSync(cut, original.subarray(0, length));
        const err = await refusal(importInto(cut, { trust_keys: [publicKey] }));
        expect(err.code, err.message).to.equal('BWK_ERR_ARCHIVE_INVALID');
        expect(err.message).to.match(/truncated|more than the archive/);
        expect(bankB()).to.deep.equal(before);
      }),
      { numRuns: 25 },
    );
    // And bytes appended after the last entry.
    writeFileSync(cut, Buffer.concat([original, Buffer.from('x')]));
    expect((await refusal(importInto(cut, { trust_keys: [publicKey] }))).message).to.match(/follow the last entry/);
    expect(bankB()).to.deep.equal(before);
  });

  it('refuses manifests a trusted signer signed but that lie: "..", duplicates, huge sizes, bad names', async () => {
    const signerHome = join(work.path, 'signer');
    const signer = await createDeploymentKey(signerHome);
    const opened = await openArchive(fsArchive, [publicKey]);
    const manifest = opened.manifest;
    const entries = readFileSync(fsArchive).subarray(opened.entriesAt);
    await opened.close();
    const resign = (m: Manifest): string => {
      const header = signedHeader(publicKeyBytes(signer.publicKey), Buffer.from(JSON.stringify(m)));
      const file = join(work.path, `lying-${randomBytes(4).toString('hex')}.bwkx`);
      writeFileSync(file, Buffer.concat([header, signer.sign(header), entries]));
      return file;
    };
    const first = manifest.objects[0]!;
    const list = manifest.objects.find((o) => o.kind === 'list')!;
    const lies: [string, Manifest, RegExp][] = [
      [
        '..',
        { ...manifest, objects: [{ ...first, name: 'resources/../../../etc/x' }, ...manifest.objects.slice(1)] },
        /"\.\."|"\."|segment/,
      ],
      ['absolute', { ...manifest, objects: [{ ...first, name: '/etc/passwd' }, ...manifest.objects.slice(1)] }, /segment|not under/],
      ['outside', { ...manifest, objects: [{ ...first, name: 'index.json' }, ...manifest.objects.slice(1)] }, /not under resources/],
      ['duplicate', { ...manifest, objects: [...manifest.objects, first] }, /appears twice/],
      [
        'huge',
        {
          ...manifest,
          objects: manifest.objects.map((o) => (o === list && o.kind === 'list' ? { ...o, chunks: [[o.chunks[0]![0], 2 ** 40]] } : o)),
        } as Manifest,
        /over \d+ bytes/,
      ],
      ['format', { ...manifest, version: 2 } as unknown as Manifest, /version/],
    ];
    const before = bankB();
    for (const [what, lie, reason] of lies) {
      const err = await refusal(importInto(resign(lie), { trust_keys: [signer.publicKey] }));
      expect(err.code, `${what}: ${err.message}`).to.equal('BWK_ERR_ARCHIVE_INVALID');
      expect(err.message, what).to.match(reason);
      expect(bankB(), what).to.deep.equal(before);
    }
  });

  it('imports into a deployment that never saw the plan, with new ids, and restores byte-identical', async () => {
    const report = await importInto(fsArchive, { trust_keys: [publicKey] });
    const c = report.checkpoint;
    expect(c.status).to.equal('available');
    expect(c.id).not.to.equal(fsCheckpoint.id);
    expect(c.protection_plan.id).not.to.equal(fsCheckpoint.protection_plan.id);
    expect(c.created_at).to.equal(fsCheckpoint.created_at);
    expect(c.extra_info.imported_from).to.deep.include({
      checkpoint_id: fsCheckpoint.id,
      plan_id: fsCheckpoint.protection_plan.id,
      public_key: publicKey,
    });
    expect(await b.store.getPlan(null, fsCheckpoint.protection_plan.id)).to.equal(null);
    expect(report.entries_checked).to.be.above(0);
    const target = join(work.path, 'restored');
    const restore = await (
      await b.manager.restore(ctx, { checkpoint_id: c.id, parameters: { 'fs.directory': { target_path: target } } })
    ).done;
    expect(restore.record.status, JSON.stringify(restore.record.resources_reason)).to.equal('success');
    expectTreeMatches(target, snapshotTree(data));
    const again = await importInto(fsArchive, { trust_keys: [publicKey] });
    expect(again.already_imported).to.equal(true);
    expect(again.checkpoint.id).to.equal(c.id);
    expect(existsSync(join(homeB.path, 'imports', `${c.id}.jsonl`)), 'the journal is gone once imported').to.equal(false);
  });

  it("restores an imported database checkpoint into the new deployment's PostgreSQL", async () => {
    const { checkpoint } = await importInto(pgArchive, { trust_keys: [publicKey], provider_id: 'pg-test' });
    expect(checkpoint.status).to.equal('available');
    made.push(dbTarget);
    const restore = await (
      await b.manager.restore(ctx, { checkpoint_id: checkpoint.id, parameters: { 'postgres.database': { target_database: dbTarget } } })
    ).done;
    expect(restore.record.status, JSON.stringify(restore.record.resources_reason)).to.equal('success');
    expect(await fingerprint(dbTarget)).to.deep.equal(await fingerprint(dbSource));
  });

  it('resumes an import cut midway without reading again what it imported', async () => {
    const inner = new MemoryBank();
    const spec = { pack_size: 256 * 1024 };
    const providerOf = (bank: MemoryBank | FailingBank): Provider =>
      ({
        id: 'f00dcafe-0000-4000-8000-000000000001',
        name: 'memory',
        bank,
        chunks: new ChunkStore(bank, spec, 'memory'),
      }) as unknown as Provider;
    const input = (provider: Provider) => ({
      file: fsArchive,
      provider,
      trusted: [publicKey],
      passphrase: Buffer.from(PASSPHRASE),
      passphraseVariable: DEFAULT_PASSPHRASE_ENV,
      home: join(work.path, 'resume-home'),
      projectId: 'default',
      config: b.config,
      logger: b.logger,
      batchBytes: 512 * 1024,
    });
    const failing = providerOf(new FailingBank(inner, 6));
    const err = await refusal(importArchive(input(failing)));
    expect(err.code).to.equal('BWK_ERR_BANK_IO');
    await failing.chunks.close();
    const healthy = providerOf(inner);
    try {
      const report = await importArchive(input(healthy));
      const total = report.entries_imported + report.entries_resumed;
      expect(report.checkpoint.status).to.equal('available');
      expect(report.entries_checked, 'a verified archive is not checked again').to.equal(0);
      expect(report.entries_resumed, 'entries imported before the cut').to.be.above(0);
      expect(report.entries_imported).to.be.below(total);
      // Every list holds exactly the exported chunks, and the bank is whole.
      const opened = await openArchive(fsArchive, [publicKey]);
      const keys = await deriveKeys(Buffer.from(PASSPHRASE), opened.manifest.kdf);
      await opened.close();
      for (const o of opened.manifest.objects) {
        if (o.kind !== 'list') continue;
        const plain = await healthy.chunks.getSealed(checkpointPrefix(report.checkpoint.id) + o.name);
        const refs = (await healthy.chunks.resolveList(plain, 'test', o.name)).chunks;
        const hashes: string[] = [];
        for await (const chunk of healthy.chunks.read(refs, 'test')) hashes.push(chunkId(chunk, keys.idKey));
        expect(hashes).to.deep.equal(o.chunks.map(([h]) => h));
      }
      const check = await checkBank(healthy.chunks, { readData: true });
      expect(check.ok).to.equal(true);
      expect(check.orphan_packs).to.equal(0);
    } finally {
      await healthy.chunks.close();
    }
  });
});
