/**
 * `bank check --read-data` (src/bank/chunks/check.ts) reads packs in runs of back-to-back chunks,
 * opened in the codec workers: every damaged chunk must still be named, not only the first of a run,
 * chunks past the end of a truncated pack are named one by one, and the intact ones are not blamed.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { MemoryBank } from '../../src/bank/adapters/memory.js';
import { checkBank } from '../../src/bank/chunks/check.js';
import type { ChunkStoreSpec } from '../../src/bank/chunks/config.js';
import type { PackIndex } from '../../src/bank/chunks/pack-index.js';
import { ChunkStore } from '../../src/bank/chunks/store.js';
import { packKey } from '../../src/bank/layout.js';
import { PrefixedBankSection } from '../../src/bank/section.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const SMALL_CHUNKS: ChunkStoreSpec['chunking'] = { min_size: 16 * KiB, avg_size: 64 * KiB, max_size: 256 * KiB };

const keystream = (seed: string, length: number): Buffer =>
  createCipheriv('aes-256-ctr', createHash('sha256').update(seed).digest(), Buffer.alloc(16)).update(Buffer.alloc(length));

describe('bank check --read-data over runs of chunks', function () {
  this.timeout(60_000);
  const stores: ChunkStore[] = [];
  after(async () => {
    await Promise.all(stores.map((s) => s.close()));
  });

  /** A bank holding 3 MiB of random data in small chunks, and its largest pack's chunks by offset. */
  async function filled(spec: ChunkStoreSpec = {}): Promise<{ store: ChunkStore; pack: PackIndex }> {
    const store = new ChunkStore(new MemoryBank(), { workers: 2, chunking: SMALL_CHUNKS, ...spec }, 'check-bank');
    stores.push(store);
    const section = new PrefixedBankSection(store, 'checkpoints/cp1/resources/r/', 'test.resource#check');
    const data = keystream('check', 3 * MiB);
    await section.putStream('data', Readable.from([data.subarray(0, MiB), data.subarray(MiB, 2 * MiB), data.subarray(2 * MiB)]));
    const packs = (await store.index()).indexes();
    const pack = [...packs].sort((a, b) => b.chunks.length - a.chunks.length)[0]!;
    expect(pack.chunks.length).to.be.greaterThan(8);
    return { store, pack: { pack: pack.pack, chunks: [...pack.chunks].sort((a, b) => a[1] - b[1]) } };
  }

  for (const [kind, spec] of [
    ['plain', {}],
    ['encrypted', { encryption: { passphrase_env: 'BWK_TEST_CHECK_PASS' } }],
  ] as const) {
    it(`names every damaged chunk of a pack, the ones after the first too, and only those (${kind})`, async () => {
      process.env['BWK_TEST_CHECK_PASS'] = 'check passphrase';
      const { store, pack } = await filled(spec);
      const clean = await checkBank(store, { readData: true });
      expect(clean).to.include({ ok: true, corrupt_chunks: 0 });
      expect(clean.packs_read).to.equal(clean.packs);

      const victims = [pack.chunks[1]!, pack.chunks[2]!, pack.chunks.at(-2)!];
      const bytes = await store.bank.getObject(packKey(pack.pack));
      for (const [, offset, length] of victims) bytes[offset + (length >> 1)] = bytes[offset + (length >> 1)]! ^ 0x10;
      await store.bank.putObject(packKey(pack.pack), bytes);

      const report = await checkBank(store, { readData: true });
      expect(report.ok).to.equal(false);
      expect(report.corrupt_chunks).to.equal(3);
      expect(report.corrupt.map((c) => c.id).sort()).to.deep.equal(victims.map(([id]) => id).sort());
      for (const c of report.corrupt) expect(c.pack).to.equal(pack.pack);
      expect(report.damaged_packs).to.deep.equal([]);
    });
  }

  it('a truncated pack: the chunks past its end are named, the ones before it are not', async () => {
    const { store, pack } = await filled();
    const cut = pack.chunks[pack.chunks.length - 3]!;
    const bytes = await store.bank.getObject(packKey(pack.pack));
    await store.bank.putObject(packKey(pack.pack), bytes.subarray(0, cut[1] + 5));

    const report = await checkBank(store, { readData: true });
    expect(report.ok).to.equal(false);
    const past = pack.chunks.slice(-3).map(([id]) => id);
    expect(report.corrupt.map((c) => c.id).sort()).to.deep.equal([...past].sort());
    for (const c of report.corrupt) expect(c.reason).to.equal('lies beyond the end of its pack');
    expect(report.damaged_packs.map((d) => d.pack)).to.deep.equal([pack.pack]);
  });

  it('a missing pack is reported once as damaged and its chunks are not read', async () => {
    const { store, pack } = await filled();
    await store.bank.deleteObject(packKey(pack.pack));
    const report = await checkBank(store, { readData: true });
    expect(report.ok).to.equal(false);
    expect(report.damaged_packs.filter((d) => d.pack === pack.pack)).to.have.length(1);
    expect(report.corrupt_chunks).to.equal(0);
    expect(report.packs_read).to.equal(report.packs - 1);
  });
});
