/**
 * The chunk store behind every bank section (src/bank/chunks/store.ts, src/bank/section.ts), run
 * unchanged over every bank adapter (memory and fs in test/unit/chunk-store.test.ts, S3 on MinIO in
 * test/integration/chunk-store-s3.test.ts): streams round-trip through chunks and packs, identical
 * data is stored once across sections and processes, an encrypted bank hides content and refuses a
 * wrong or missing key without writing, and damaged or missing stored bytes are reported as
 * BWK_ERR_DATA_CORRUPT naming the resource. `newBank` gives an empty bank on every call.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import fc from 'fast-check';
import { CountingBank } from '../../src/bank/adapters/counting.js';
import { chunkId, isSealedObject } from '../../src/bank/chunks/codec.js';
import type { ChunkStoreSpec } from '../../src/bank/chunks/config.js';
import { DEFAULT_CHUNKER } from '../../src/bank/chunks/fastcdc.js';
import { ChunkStore } from '../../src/bank/chunks/store.js';
import { CHUNK_CONFIG, PACKS, PACK_INDEXES, packIndexKey, packKey } from '../../src/bank/layout.js';
import type { BankPlugin } from '../../src/bank/port.js';
import { PrefixedBankSection } from '../../src/bank/section.js';
import type { BankSection, ChunkRef } from '../../src/plugins/api.js';
import { blake3Hex } from '../../src/common/hashers.js';
import { expectCode } from '../unit/fs-plugin-helpers.js';

/**
 * `writeChunksToFile` into a new file, truncated to the chunks' size as a restore does: its bytes,
 * the BLAKE3 it returned, and the bytes it takes on disk. The file is removed.
 */
async function writeToFile(section: BankSection, refs: readonly ChunkRef[]): Promise<{ bytes: Buffer; blake3: string; allocated: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'bwk-wf-'));
  const path = join(dir, 'out');
  const fd = openSync(path, 'wx', 0o600);
  try {
    const blake3 = await section.writeChunksToFile!(refs, fd);
    ftruncateSync(
      fd,
      refs.reduce((n, r) => n + r.size, 0),
    );
    return { bytes: readFileSync(path), blake3, allocated: statSync(path).blocks * 512 };
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}

export const KiB = 1024;
export const MiB = 1024 * KiB;
/** Small chunks, so a few MiB make many chunks and packs. */
export const SMALL_CHUNKS: ChunkStoreSpec['chunking'] = { min_size: 16 * KiB, avg_size: 64 * KiB, max_size: 256 * KiB };
const PASS_ENV = 'BWK_TEST_PASS';
const OTHER_PASS_ENV = 'BWK_TEST_PASS_OTHER';
const UNSET_ENV = 'BWK_TEST_PASS_NEVER_SET';

export function keystream(seed: string | number, length: number): Buffer {
  const key = createHash('sha256').update(`chunk-store-test:${seed}`).digest();
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(length));
}

/** `data` as a stream of pieces of `piece` bytes (as files are read). */
export function streamOf(data: Buffer, piece = 1 * MiB): Readable {
  const pieces: Buffer[] = [];
  for (let at = 0; at < data.length; at += piece) pieces.push(data.subarray(at, at + piece));
  return Readable.from(pieces);
}

export async function readAll(stream: Readable | AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of stream) parts.push(Buffer.from(p as Buffer));
  return Buffer.concat(parts);
}

/** Every object of a bank with its bytes. */
async function dump(bank: BankPlugin): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const key of await bank.listObjects('')) out.set(key, await bank.getObject(key));
  return out;
}

function expectSameBank(after: Map<string, Buffer>, before: Map<string, Buffer>): void {
  expect([...after.keys()]).to.deep.equal([...before.keys()]);
  for (const [k, v] of before) expect(after.get(k)!.equals(v), k).to.equal(true);
}

/** Where a chunk is stored, found the way an operator would: through the pack index objects. */
async function locate(store: ChunkStore, id: string): Promise<{ pack: string; offset: number; length: number; size: number }> {
  for (const key of await store.bank.listObjects(PACK_INDEXES)) {
    const index = JSON.parse((await store.getSealed(key)).toString('utf8')) as {
      pack: string;
      chunks: [string, number, number, number][];
    };
    expect(key).to.equal(packIndexKey(index.pack));
    const hit = index.chunks.find((c) => c[0] === id);
    if (hit) return { pack: index.pack, offset: hit[1], length: hit[2], size: hit[3] };
  }
  throw new Error(`chunk ${id} is in no pack index`);
}

/** XORs one byte of a stored object. */
async function flipStoredByte(bank: BankPlugin, key: string, at: number, mask = 0x40): Promise<void> {
  const bytes = await bank.getObject(key);
  bytes[at] = bytes[at]! ^ mask;
  await bank.putObject(key, bytes);
}

/** Drains readChunks, returning what was yielded before an error (and the error). */
async function drain(section: BankSection, refs: readonly ChunkRef[]): Promise<{ yielded: Buffer; error: unknown }> {
  const parts: Buffer[] = [];
  try {
    for await (const p of section.readChunks(refs)) parts.push(p);
  } catch (error) {
    return { yielded: Buffer.concat(parts), error };
  }
  return { yielded: Buffer.concat(parts), error: undefined };
}

export function describeChunkStore(
  name: string,
  newBank: () => BankPlugin,
  hooks: { before?: (ctx: Mocha.Context) => Promise<void> | void; after?: () => Promise<void> } = {},
): void {
  describe(`chunk store over ${name}`, function () {
    this.timeout(120_000);
    const stores: ChunkStore[] = [];
    /** A store closed in after(): close() terminates its worker threads. */
    const open = (bank: BankPlugin, spec: ChunkStoreSpec = {}, label = 'test-bank'): ChunkStore => {
      const s = new ChunkStore(bank, { workers: 2, ...spec }, label);
      stores.push(s);
      return s;
    };
    let n = 0;
    const sectionOf = (store: ChunkStore, label = 'test.resource#data'): PrefixedBankSection =>
      new PrefixedBankSection(store, `checkpoints/cp${++n}/resources/r/`, label);

    before(async function () {
      await hooks.before?.(this);
      process.env[PASS_ENV] = 'correct horse battery staple';
      process.env[OTHER_PASS_ENV] = 'incorrect horse battery staple';
      delete process.env[UNSET_ENV];
    });

    after(async () => {
      delete process.env[PASS_ENV];
      delete process.env[OTHER_PASS_ENV];
      await Promise.all(stores.map((s) => s.close()));
      await hooks.after?.();
    });

    describe('streams round-trip through a section', () => {
      const sizes = [0, 1, 100 * KiB, 20 * MiB];
      let store: ChunkStore;
      let section: PrefixedBankSection;
      const data = new Map<number, Buffer>();

      before(async () => {
        store = open(newBank());
        section = sectionOf(store);
        for (const size of sizes) {
          data.set(size, keystream(`rt-${size}`, size));
          const put = await section.putStream(`obj-${size}`, streamOf(data.get(size)!));
          expect(put.size).to.equal(size);
        }
      });

      for (const size of sizes) {
        it(`${size} bytes: getStream, get, stat and the chunk list agree with what was written`, async () => {
          const want = data.get(size)!;
          const name = `obj-${size}`;
          expect((await readAll(await section.getStream(name))).equals(want)).to.equal(true);
          expect((await section.get(name)).equals(want)).to.equal(true);
          expect(await section.stat(name)).to.deep.equal({ size });
          const refs = await section.getChunkList(name);
          expect(refs.reduce((a, r) => a + r.size, 0)).to.equal(size);
          // Content-addressed: each id is the BLAKE3 of exactly that slice of the data.
          let at = 0;
          refs.forEach((r, i) => {
            if (i < refs.length - 1) expect(r.size).to.be.within(DEFAULT_CHUNKER.minSize, DEFAULT_CHUNKER.maxSize);
            expect(r.id).to.equal(chunkId(want.subarray(at, at + r.size), null));
            at += r.size;
          });
          expect((await readAll(section.readChunks(refs))).equals(want)).to.equal(true);
          expect((await readAll(section.readChunks(refs, undefined, { aheadBytes: 1 }))).equals(want)).to.equal(true);
          const written = await writeToFile(section, refs);
          expect(written.bytes.equals(want)).to.equal(true);
          expect(written.blake3).to.equal(blake3Hex(want));
        });
      }

      it('writeChunksToFile leaves 64 KiB blocks of zeros as holes, and counts them in the BLAKE3', async () => {
        const MB4 = 4 * MiB;
        const want = Buffer.concat([keystream('holes-a', 300 * KiB), Buffer.alloc(MB4), keystream('holes-b', 200 * KiB)]);
        const own = sectionOf(open(newBank()));
        await own.putStream('holes', streamOf(want));
        const written = await writeToFile(own, await own.getChunkList('holes'));
        expect(written.bytes.equals(want)).to.equal(true);
        expect(written.blake3).to.equal(blake3Hex(want));
        expect(written.allocated).to.be.lessThan(want.length - MB4 + MiB);
      });

      it('stores the data in packs and pack indexes, not as plaintext objects under the section', async () => {
        expect(await section.list()).to.deep.equal(sizes.map((s) => `obj-${s}`).sort());
        const packs = await store.bank.listObjects(PACKS);
        const indexes = await store.bank.listObjects(PACK_INDEXES);
        expect(packs.length).to.be.at.least(2); // 20 MiB > one 16 MiB pack
        expect(indexes.map((k) => k.slice(PACK_INDEXES.length))).to.deep.equal(packs.map((k) => k.slice(PACKS.length)));
        let packBytes = 0;
        for (const k of packs) packBytes += (await store.bank.statObject(k))!.size;
        const total = sizes.reduce((a, b) => a + b, 0);
        // Random data is stored as it is, plus one flag byte per chunk.
        expect(packBytes).to.be.within(total, total * 1.001);
        for (const size of sizes)
          expect((await store.bank.getObject(`${section.prefix}obj-${size}`)).length, 'a chunk list, not the data').to.be.lessThan(4096);
        expect(await section.stat('absent')).to.equal(null);
      });

      it('small objects written with put are stored whole and read back', async () => {
        await section.put('meta.json', '{"a":1}');
        expect((await section.get('meta.json')).toString()).to.equal('{"a":1}');
        expect(await section.stat('meta.json')).to.deep.equal({ size: 7 });
        expect((await readAll(await section.getStream('meta.json'))).toString()).to.equal('{"a":1}');
        expect((await store.bank.getObject(`${section.prefix}meta.json`)).toString()).to.equal('{"a":1}');
      });

      it('a fresh store over the same bank (another process) reads everything back', async () => {
        const other = open(store.bank);
        const s = new PrefixedBankSection(other, section.prefix, 'test.resource#data');
        expect((await s.get(`obj-${20 * MiB}`)).equals(data.get(20 * MiB)!)).to.equal(true);
      });
    });

    describe('deduplication', () => {
      it('the same 20 MiB in a second section (same store) costs the bank less than 1% of the first write', async () => {
        const counting = new CountingBank(newBank());
        const store = open(counting);
        const payload = keystream('dedup', 20 * MiB);
        await sectionOf(store).putStream('data', streamOf(payload));
        const first = counting.counts.bytesWritten;
        expect(first).to.be.at.least(20 * MiB);

        counting.reset();
        const second = sectionOf(store);
        await second.putStream('data', streamOf(payload, 3 * MiB + 7));
        expect(counting.counts.bytesWritten, `${counting.counts.bytesWritten} bytes the second time`).to.be.lessThan(first / 100);
        expect((await second.get('data')).equals(payload)).to.equal(true);

        // A store opened later (another process) deduplicates against what this one wrote.
        counting.reset();
        const third = sectionOf(open(counting));
        await third.putStream('data', streamOf(payload));
        expect(counting.counts.bytesWritten).to.be.lessThan(first / 100);

        // Content-defined: one byte inserted at the front re-stores only the chunks around it.
        counting.reset();
        const shifted = Buffer.concat([Buffer.from([0x42]), payload]);
        const fourth = sectionOf(store);
        await fourth.putStream('data', streamOf(shifted));
        expect(counting.counts.bytesWritten, 'after a one-byte insert').to.be.lessThan(first / 4);
        expect((await fourth.get('data')).equals(shifted)).to.equal(true);
      });

      it('repeated content within one stream is stored once', async () => {
        const counting = new CountingBank(newBank());
        const store = open(counting, { chunking: SMALL_CHUNKS });
        const part = keystream('twice', 4 * MiB);
        const section = sectionOf(store);
        await section.putStream('twice', streamOf(Buffer.concat([part, part, part])));
        expect(counting.counts.bytesWritten).to.be.within(4 * MiB, 4 * MiB + 1 * MiB);
        expect((await section.get('twice')).equals(Buffer.concat([part, part, part]))).to.equal(true);
      });
    });

    describe('encryption', () => {
      const ENC: ChunkStoreSpec = { encryption: { passphrase_env: PASS_ENV } };
      const MARKER = Buffer.from('BULWARK-PLAINTEXT-MARKER-2f9c71');
      // Random data with a marker every 64 KiB: incompressible, so a plain bank keeps the markers readable.
      const payload = Buffer.concat(Array.from({ length: 48 }, (_, i) => Buffer.concat([keystream(`enc-${i}`, 64 * KiB), MARKER])));
      let encBank: BankPlugin;
      let encSection: PrefixedBankSection;

      before(async () => {
        encBank = newBank();
        encSection = sectionOf(open(encBank, { ...ENC, chunking: SMALL_CHUNKS }));
        await encSection.putStream('data', streamOf(payload));
        await encSection.put('meta.json', `{"note":"${MARKER.toString()}"}`);
      });

      it('round-trips, also through a fresh store with the same passphrase', async () => {
        expect((await encSection.get('data')).equals(payload)).to.equal(true);
        expect((await encSection.get('meta.json')).toString()).to.contain(MARKER.toString());
        const again = new PrefixedBankSection(open(encBank, ENC), encSection.prefix, 'test.resource#data');
        expect((await readAll(await again.getStream('data'))).equals(payload)).to.equal(true);
        expect(await again.stat('data')).to.deep.equal({ size: payload.length });
      });

      it('leaves no plaintext in the bank: packs, indexes, chunk lists and small objects are all opaque', async () => {
        const objects = await dump(encBank);
        expect([...objects.keys()].filter((k) => k.startsWith(PACKS)).length).to.be.at.least(1);
        for (const [key, bytes] of objects) {
          expect(bytes.includes(MARKER), key).to.equal(false);
          expect(bytes.includes(Buffer.from(process.env[PASS_ENV]!)), key).to.equal(false);
          if (key.startsWith(PACK_INDEXES) || key.startsWith(encSection.prefix)) expect(isSealedObject(bytes), key).to.equal(true);
        }
        const config = JSON.parse(objects.get(CHUNK_CONFIG)!.toString()) as { encryption: unknown };
        expect(config.encryption).to.include({ cipher: 'aes-256-gcm', id_hash: 'blake3-keyed' });
        // The control: the same data on a plain bank leaves the markers readable in its packs.
        const plainBank = newBank();
        await sectionOf(open(plainBank, { chunking: SMALL_CHUNKS })).putStream('data', streamOf(payload));
        const plainPacks = [...(await dump(plainBank))].filter(([k]) => k.startsWith(PACKS));
        expect(plainPacks.some(([, b]) => b.includes(MARKER))).to.equal(true);
      });

      it('chunk ids are keyed: same cut points as a plain bank, but no id in common', async () => {
        const plainSection = sectionOf(open(newBank(), { chunking: SMALL_CHUNKS }));
        await plainSection.putStream('data', streamOf(payload));
        const plainRefs = await plainSection.getChunkList('data');
        const encRefs = await encSection.getChunkList('data');
        expect(encRefs.length).to.be.greaterThan(5);
        expect(encRefs.map((r) => r.size)).to.deep.equal(plainRefs.map((r) => r.size));
        const plainIds = new Set(plainRefs.map((r) => r.id));
        expect(encRefs.filter((r) => plainIds.has(r.id))).to.deep.equal([]);
      });

      it('another passphrase is refused with BWK_ERR_BANK_KEY_WRONG, and nothing is written', async () => {
        const before = await dump(encBank);
        const wrong = open(encBank, { encryption: { passphrase_env: OTHER_PASS_ENV } });
        const s = new PrefixedBankSection(wrong, encSection.prefix, 'test.resource#data');
        await expectCode(wrong.ready(), 'BWK_ERR_BANK_KEY_WRONG');
        await expectCode(s.get('data'), 'BWK_ERR_BANK_KEY_WRONG');
        await expectCode(s.stat('data'), 'BWK_ERR_BANK_KEY_WRONG');
        await expectCode(s.put('other.json', '{}'), 'BWK_ERR_BANK_KEY_WRONG');
        await expectCode(s.putStream('more', streamOf(keystream('more', 100 * KiB))), 'BWK_ERR_BANK_KEY_WRONG');
        const elsewhere = new PrefixedBankSection(wrong, 'checkpoints/new/resources/r/', 'test.resource#data');
        await expectCode(elsewhere.putStream('fresh', streamOf(keystream('fresh', 10 * KiB))), 'BWK_ERR_BANK_KEY_WRONG');
        expectSameBank(await dump(encBank), before);
      });

      it('an encrypted bank without a configured passphrase is refused with BWK_ERR_BANK_KEY_REQUIRED', async () => {
        const before = await dump(encBank);
        const none = open(encBank, {});
        await expectCode(none.ready(), 'BWK_ERR_BANK_KEY_REQUIRED');
        await expectCode(new PrefixedBankSection(none, encSection.prefix, 'x#y').get('data'), 'BWK_ERR_BANK_KEY_REQUIRED');
        const unset = open(encBank, { encryption: { passphrase_env: UNSET_ENV } });
        const err = await expectCode(unset.ready(), 'BWK_ERR_BANK_KEY_REQUIRED');
        expect(err.message).to.contain(UNSET_ENV);
        expectSameBank(await dump(encBank), before);
      });

      it('a new bank whose passphrase variable is unset is refused and left uninitialised', async () => {
        const bank = newBank();
        const unset = open(bank, { encryption: { passphrase_env: UNSET_ENV } });
        await expectCode(sectionOf(unset).putStream('data', streamOf(keystream('u', 1000))), 'BWK_ERR_BANK_KEY_REQUIRED');
        expect(await bank.listObjects('chunks/')).to.deep.equal([]);
        expect(await bank.listObjects('checkpoints/')).to.deep.equal([]);
        // Once the variable is set, the first writer creates an encrypted store.
        const ok = open(bank, ENC);
        expect((await ok.ready()).encryption !== null).to.equal(true);
      });

      it('encryption configured on a bank created without it is refused with BWK_ERR_BANK_NOT_ENCRYPTED', async () => {
        const bank = newBank();
        await sectionOf(open(bank)).putStream('data', streamOf(keystream('plain', 10 * KiB)));
        const before = await dump(bank);
        const enc = open(bank, ENC);
        await expectCode(enc.ready(), 'BWK_ERR_BANK_NOT_ENCRYPTED');
        await expectCode(sectionOf(enc).put('x', 'y'), 'BWK_ERR_BANK_NOT_ENCRYPTED');
        expectSameBank(await dump(bank), before);
      });
    });

    describe('configuration', () => {
      it('refuses invalid chunking parameters before creating the store', async () => {
        const bank = newBank();
        const bad = open(bank, { chunking: { min_size: 64 * KiB, avg_size: 100 * KiB, max_size: 1 * MiB } });
        await expectCode(bad.ready(), 'BWK_ERR_INVALID_INPUT');
        expect(await bank.listObjects('chunks/')).to.deep.equal([]);
      });

      it('records the chunker on first use; a later store with other chunking settings keeps the recorded ones', async () => {
        const bank = newBank();
        const first = open(bank, { chunking: SMALL_CHUNKS });
        expect((await first.ready()).chunker).to.deep.equal({ minSize: 16 * KiB, avgSize: 64 * KiB, maxSize: 256 * KiB });
        const payload = keystream('recorded', 1 * MiB);
        const firstSection = sectionOf(first);
        await firstSection.putStream('a', streamOf(payload));
        const later = open(bank, {});
        expect((await later.ready()).chunker).to.deep.equal({ minSize: 16 * KiB, avgSize: 64 * KiB, maxSize: 256 * KiB });
        // Same cut points, so the same data deduplicates across the two stores.
        const s = sectionOf(later);
        await s.putStream('b', streamOf(payload));
        expect(await s.getChunkList('b')).to.deep.equal(await firstSection.getChunkList('a'));
      });
    });

    describe('damaged or missing stored bytes', () => {
      const LABEL = 'test.resource#tamper';
      const payload = keystream('tamper', 2 * MiB);

      for (const [kind, spec] of [
        ['plain', {}],
        ['encrypted', { encryption: { passphrase_env: PASS_ENV } }],
      ] as const) {
        const title = `a flipped byte inside a chunk's stored range fails the read with BWK_ERR_DATA_CORRUPT naming the resource (${kind})`;
        it(title, async () => {
          const store = open(newBank(), { ...spec, chunking: SMALL_CHUNKS });
          const section = sectionOf(store, LABEL);
          await section.putStream('data', streamOf(payload));
          const refs = await section.getChunkList('data');
          expect(refs.length).to.be.greaterThan(6);
          const victim = refs[4]!;
          const loc = await locate(store, victim.id);
          expect(loc.size).to.equal(victim.size);
          const key = packKey(loc.pack);
          for (const at of [loc.offset, loc.offset + (loc.length >> 1), loc.offset + loc.length - 1]) {
            await flipStoredByte(store.bank, key, at);
            const err = await expectCode(section.get('data'), 'BWK_ERR_DATA_CORRUPT');
            expect(err.message).to.contain(LABEL).and.contain(victim.id);
            await expectCode(readAll(await section.getStream('data')), 'BWK_ERR_DATA_CORRUPT');
            // The chunks before the damaged one are delivered, nothing from it or after it.
            const { yielded, error } = await drain(section, refs);
            expect((error as { code?: string }).code).to.equal('BWK_ERR_DATA_CORRUPT');
            const good = refs.slice(0, 4).reduce((a, r) => a + r.size, 0);
            expect(yielded.equals(payload.subarray(0, good))).to.equal(true);
            const written = await expectCode(writeToFile(section, refs), 'BWK_ERR_DATA_CORRUPT');
            expect(written.message).to.contain(LABEL).and.contain(victim.id);
            // Put the byte back: the same read succeeds, so it was that byte.
            await flipStoredByte(store.bank, key, at);
            expect((await section.get('data')).equals(payload)).to.equal(true);
          }
        });
      }

      it('a missing pack fails the read with BWK_ERR_DATA_CORRUPT (in this process and in a fresh one)', async () => {
        const store = open(newBank(), { chunking: SMALL_CHUNKS });
        const section = sectionOf(store, LABEL);
        await section.putStream('data', streamOf(payload));
        const refs = await section.getChunkList('data');
        const loc = await locate(store, refs.at(-1)!.id);
        await store.bank.deleteObject(packKey(loc.pack));
        const err = await expectCode(section.get('data'), 'BWK_ERR_DATA_CORRUPT');
        expect(err.message).to.contain(LABEL).and.contain('missing');
        expect((await expectCode(writeToFile(section, refs), 'BWK_ERR_DATA_CORRUPT')).message).to.contain(LABEL);
        const fresh = new PrefixedBankSection(open(store.bank), section.prefix, LABEL);
        await expectCode(readAll(await fresh.getStream('data')), 'BWK_ERR_DATA_CORRUPT');
        // The pack's index gone too: the chunk is simply missing from the bank.
        await store.bank.deleteObject(packIndexKey(loc.pack));
        const fresher = new PrefixedBankSection(open(store.bank), section.prefix, LABEL);
        const err2 = await expectCode(fresher.get('data'), 'BWK_ERR_DATA_CORRUPT');
        expect(err2.message).to.contain(LABEL);
        const missing = /chunk ([0-9a-f]{64}) is missing from the bank/.exec(err2.message);
        expect(missing, err2.message).to.not.equal(null);
        expect(refs.map((r) => r.id)).to.include(missing![1]);
      });

      it('a truncated pack fails the read with BWK_ERR_DATA_CORRUPT naming the resource, not a bank I/O error', async () => {
        const store = open(newBank(), { chunking: SMALL_CHUNKS });
        const section = sectionOf(store, LABEL);
        await section.putStream('data', streamOf(payload));
        const refs = await section.getChunkList('data');
        const loc = await locate(store, refs.at(-1)!.id);
        const key = packKey(loc.pack);
        const whole = await store.bank.getObject(key);
        await store.bank.putObject(key, whole.subarray(0, loc.offset + loc.length - 10));
        expect((await expectCode(writeToFile(section, refs), 'BWK_ERR_DATA_CORRUPT')).message).to.contain(LABEL);
        const err = await expectCode(section.get('data'), 'BWK_ERR_DATA_CORRUPT');
        // Chunks land in a pack in the order their sealing finishes: the cut may catch a later one too.
        const hit = /holding chunk ([0-9a-f]{64}) is truncated/.exec(err.message);
        expect(err.message).to.contain(LABEL);
        expect(hit, err.message).to.not.equal(null);
        expect(refs.map((r) => r.id)).to.include(hit![1]);
      });

      it('a chunk list that does not add up is BWK_ERR_DATA_CORRUPT, not wrong data', async () => {
        const store = open(newBank(), { chunking: SMALL_CHUNKS });
        const section = sectionOf(store, LABEL);
        await section.putStream('data', streamOf(payload));
        const key = `${section.prefix}data`;
        const list = (await store.bank.getObject(key)).toString();
        // Claim a different size for the first chunk (its id stays): the read must not return short or padded data.
        const tampered = list.replace(
          /^(BWKCL1\n\{"size":)(\d+)(,"chunks":\[\["[0-9a-f]{64}",)(\d+)/,
          (_m, a: string, total: string, b: string, first: string) => `${a}${Number(total) + 1}${b}${Number(first) + 1}`,
        );
        expect(tampered).to.not.equal(list);
        await store.bank.putObject(key, tampered);
        const err = await expectCode(section.get('data'), 'BWK_ERR_DATA_CORRUPT');
        expect(err.message).to.contain(LABEL);
      });
    });

    describe('ChunkedWriter', () => {
      it('reuse refuses unknown chunks (appending nothing) and accepts chunks the bank holds', async () => {
        const store = open(newBank(), { chunking: SMALL_CHUNKS });
        const section = sectionOf(store);
        const earlier = keystream('earlier', 1 * MiB);
        await section.putStream('earlier', streamOf(earlier));
        const known = await section.getChunkList('earlier');

        const writer = await section.chunkedWriter();
        const unknown: ChunkRef = { id: chunkId(Buffer.from('never stored'), null), size: 12 };
        expect(await writer.reuse([unknown])).to.equal(false);
        expect(writer.length).to.equal(0);
        // A chunk that exists in another bank is still unknown here.
        const foreign = sectionOf(open(newBank(), { chunking: SMALL_CHUNKS }));
        await foreign.putStream('x', streamOf(keystream('foreign', 100 * KiB)));
        expect(await writer.reuse(await foreign.getChunkList('x'))).to.equal(false);

        const head = keystream('head', 300 * KiB);
        const written = await writer.write(streamOf(head, 64 * KiB));
        expect(written.size).to.equal(head.length);
        expect(writer.length).to.equal(written.chunks);
        expect(await writer.reuse([...known, unknown])).to.equal(false);
        expect(writer.length, 'a refused reuse appends nothing').to.equal(written.chunks);
        expect(await writer.reuse(known)).to.equal(true);
        expect(writer.length).to.equal(written.chunks + known.length);
        const done = await writer.commit('combined');
        expect(done.size).to.equal(head.length + earlier.length);
        expect(done.chunks).to.equal(written.chunks + known.length);
        expect((await section.get('combined')).equals(Buffer.concat([head, earlier]))).to.equal(true);
        const list = await section.getChunkList('combined');
        expect(list.slice(written.chunks)).to.deep.equal(known);
        expect(
          list
            .slice(0, written.chunks)
            .map((r) => r.size)
            .reduce((a, b) => a + b, 0),
        ).to.equal(head.length);
      });
    });

    describe('ChunkedWriter with many streams and reuses interleaved', () => {
      it('commits exactly the concatenation, in order, whatever the mix (property)', async () => {
        const store = open(newBank(), { chunking: { min_size: 1 * KiB, avg_size: 4 * KiB, max_size: 16 * KiB }, pack_size: 64 * KiB });
        const base = sectionOf(store);
        const earlier = keystream('interleave-earlier', 200 * KiB);
        await base.putStream('earlier', streamOf(earlier, 10_000));
        const known = await base.getChunkList('earlier');
        const op = fc.oneof(
          fc.record({
            t: fc.constant('write' as const),
            seed: fc.integer({ min: 0, max: 5 }),
            size: fc.integer({ min: 0, max: 40 * KiB }),
            piece: fc.integer({ min: 1, max: 9000 }),
          }),
          fc.record({ t: fc.constant('reuse' as const), from: fc.nat({ max: known.length - 1 }), count: fc.integer({ min: 0, max: 5 }) }),
        );
        await fc.assert(
          fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
            const section = sectionOf(store);
            const writer = await section.chunkedWriter();
            const expected: Buffer[] = [];
            let chunks = 0;
            for (const o of ops) {
              if (o.t === 'write') {
                const bytes = keystream(`interleave-${o.seed}`, o.size); // repeated seeds: repeats within the writer
                const w = await writer.write(streamOf(bytes, o.piece));
                expect(w.size).to.equal(o.size);
                chunks += w.chunks;
                expected.push(bytes);
              } else {
                const refs = known.slice(o.from, o.from + o.count);
                expect(await writer.reuse(refs)).to.equal(true);
                chunks += refs.length;
                let at = known.slice(0, o.from).reduce((a, r) => a + r.size, 0);
                for (const r of refs) {
                  expected.push(earlier.subarray(at, at + r.size));
                  at += r.size;
                }
              }
              expect(writer.length).to.equal(chunks);
            }
            const want = Buffer.concat(expected);
            const done = await writer.commit('mixed');
            expect(done.size).to.equal(want.length);
            expect(done.chunks).to.equal(chunks);
            expect((await section.get('mixed')).equals(want)).to.equal(true);
          }),
          { numRuns: 25 },
        );
      });
    });
  });
}
