/**
 * Chunks decompressed by zstd-napi into a buffer each thread keeps (zstd-native.ts), and the zlib path
 * it falls back to: the same bytes either way, the same corruption errors, and the kept buffer really
 * reused (the point of the change: no fresh memory per chunk).
 */
import { zstdCompressSync } from 'node:zlib';
import { expect } from 'chai';
import { MemoryBank } from '../../src/bank/adapters/memory.js';
import { ChunkCorruptError, chunkId, openChunk, openChunkBorrowed, sealChunk } from '../../src/bank/chunks/codec.js';
import type { CodecKeys } from '../../src/bank/chunks/codec.js';
import { checkBank } from '../../src/bank/chunks/check.js';
import { ChunkStore } from '../../src/bank/chunks/store.js';
import { PrefixedBankSection } from '../../src/bank/section.js';
import { nativeZstdAvailable } from '../../src/bank/chunks/zstd-native.js';
import { MiB, keystream, readAll, streamOf } from '../contracts/chunk-store.contract.js';

const PLAIN: CodecKeys = { idKey: null, encKey: null };
const ENCRYPTED: CodecKeys = { idKey: Buffer.alloc(32, 7), encKey: Buffer.alloc(32, 9) };

/** Compressible bytes that differ with `seed`. */
const text = (size: number, seed: string): Buffer => {
  const line = Buffer.from(`${seed}: the quick brown fox jumps over the lazy dog ${seed.length}\n`);
  const out = Buffer.alloc(size);
  for (let at = 0; at < size; at += line.length) line.copy(out, at);
  return out;
};

/** Runs `fn` with BULWARK_NATIVE_ZSTD=0 (the zlib path), restoring the environment after. */
async function withZlib<T>(fn: () => Promise<T> | T): Promise<T> {
  const before = process.env.BULWARK_NATIVE_ZSTD;
  process.env.BULWARK_NATIVE_ZSTD = '0';
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env.BULWARK_NATIVE_ZSTD;
    else process.env.BULWARK_NATIVE_ZSTD = before;
  }
}

describe('zstd into buffers each thread keeps', function () {
  this.timeout(60_000);

  it('the binding is built and used here (CI builds it from source at npm ci)', () => {
    expect(nativeZstdAvailable()).to.equal(true);
  });

  for (const [name, keys] of [
    ['plain', PLAIN],
    ['encrypted', ENCRYPTED],
  ] as const) {
    it(`opens compressed chunks into one reused buffer, the same bytes as zlib gives (${name})`, async () => {
      const a = text(300 * 1024, 'a');
      const b = text(200 * 1024, 'b');
      const blobA = sealChunk(a, chunkId(a, keys.idKey), 3, keys);
      const blobB = sealChunk(b, chunkId(b, keys.idKey), 3, keys);
      const first = openChunkBorrowed(blobA, chunkId(a, keys.idKey), keys);
      expect(first.borrowed).to.equal(true);
      expect(first.data.equals(a)).to.equal(true);
      const second = openChunkBorrowed(blobB, chunkId(b, keys.idKey), keys);
      expect(second.data.equals(b)).to.equal(true);
      // One buffer: the first view now shows the second chunk's bytes.
      expect(second.data.buffer).to.equal(first.data.buffer);
      expect(first.data.subarray(0, 100).equals(b.subarray(0, 100))).to.equal(true);
      // openChunk hands out a copy of its own, which the next open leaves alone.
      const own = openChunk(blobA, chunkId(a, keys.idKey), keys);
      openChunk(blobB, chunkId(b, keys.idKey), keys);
      expect(own.equals(a)).to.equal(true);

      await withZlib(() => {
        const viaZlib = openChunkBorrowed(blobA, chunkId(a, keys.idKey), keys);
        expect(viaZlib.data.equals(a)).to.equal(true);
        expect(viaZlib.data.buffer).to.not.equal(second.data.buffer);
      });
    });
  }

  it('a damaged frame fails as corrupt on both paths, and the next chunk still opens', async () => {
    const data = text(256 * 1024, 'damaged');
    const id = chunkId(data, null);
    const blob = sealChunk(data, id, 3, PLAIN);
    const cut = blob.subarray(0, blob.length - 9);
    const flipped = Buffer.from(blob);
    flipped[Math.floor(blob.length / 2)]! ^= 0x40;
    for (const bad of [cut, flipped]) {
      expect(() => openChunk(bad, id, PLAIN)).to.throw(ChunkCorruptError);
      await withZlib(() => expect(() => openChunk(bad, id, PLAIN)).to.throw(ChunkCorruptError));
    }
    expect(openChunk(blob, id, PLAIN).equals(data)).to.equal(true);
  });

  it('a frame larger than the largest default chunk goes through zlib (no thread keeps more than 8 MiB)', () => {
    const data = text(9 * MiB, 'large');
    const id = chunkId(data, null);
    const opened = openChunkBorrowed(Buffer.concat([Buffer.from([1]), zstdCompressSync(data)]), id, PLAIN);
    expect(opened.borrowed).to.equal(false);
    expect(opened.data.equals(data)).to.equal(true);
  });

  // A store's workers see the environment they start with.
  it('chunks either path wrote are read and checked by the other, in the codec workers', async () => {
    const payload = Buffer.concat([text(3 * MiB, 'stream'), keystream('zstd-native', MiB)]);
    const SECTION = 'checkpoints/cp/resources/r/';
    const withStore = async <T>(bank: MemoryBank, fn: (store: ChunkStore, section: PrefixedBankSection) => Promise<T>): Promise<T> => {
      const store = new ChunkStore(bank, { workers: 2 }, 'zstd-test');
      try {
        return await fn(store, new PrefixedBankSection(store, SECTION, 'test.resource'));
      } finally {
        await store.close();
      }
    };
    const write = (bank: MemoryBank) => withStore(bank, (_, section) => section.putStream('data', streamOf(payload)));
    const readAndCheck = (bank: MemoryBank) =>
      withStore(bank, async (store, section) => {
        const bytes = await readAll(await section.getStream('data'));
        expect(bytes.equals(payload)).to.equal(true);
        const report = await checkBank(store, { readData: true });
        expect(report.ok, JSON.stringify(report)).to.equal(true);
        expect(report.corrupt_chunks).to.equal(0);
        return report.chunks;
      });
    const byNative = new MemoryBank();
    await write(byNative);
    const byZlib = new MemoryBank();
    await withZlib(() => write(byZlib));
    const counts = [await withZlib(() => readAndCheck(byNative)), await readAndCheck(byZlib), await readAndCheck(byNative)];
    // The same chunks (ids are of the plaintext), whichever wrote them.
    expect(counts[0]).to.be.greaterThan(0);
    expect(counts).to.deep.equal([counts[0], counts[0], counts[0]]);
  });
});
