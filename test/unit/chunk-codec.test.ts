/**
 * The chunk codec (src/bank/chunks/codec.ts): what one chunk becomes in a pack and back, chunk ids,
 * and the sealed envelope of small objects. Run in process (no worker threads): the pool only moves
 * these calls to workers.
 */
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { zstdCompressSync } from 'node:zlib';
import { expect } from 'chai';
import fc from 'fast-check';
import {
  ChunkCorruptError,
  SEALED_OVERHEAD,
  chunkId,
  isSealedObject,
  openChunk,
  openObject,
  sealChunk,
  sealObject,
  zstdContentSize,
} from '../../src/bank/chunks/codec.js';
import type { CodecKeys } from '../../src/bank/chunks/codec.js';
import { deriveKeys, newKdfParams } from '../../src/bank/chunks/keys.js';
import type { KdfParams } from '../../src/bank/chunks/keys.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const NONCE = 12;
const TAG = 16;

function keystream(seed: string | number, length: number): Buffer {
  const key = createHash('sha256').update(`codec-test:${seed}`).digest();
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(length));
}

/** Text-like data that zstd shrinks a lot. */
function text(length: number): Buffer {
  const words = ['bulwark', 'checkpoint', 'bank', 'chunk', 'restore', 'verify', 'plan', 'provider', 'the', 'of', 'and'];
  const parts: string[] = [];
  let n = 0;
  for (let i = 0; n < length; i++) {
    const w = `${words[(i * 7 + (i >> 3)) % words.length]}${i % 13 === 0 ? '.\n' : ' '}`;
    parts.push(w);
    n += w.length;
  }
  return Buffer.from(parts.join('').slice(0, length));
}

const PLAIN: CodecKeys = { idKey: null, encKey: null };
const keyed = (): CodecKeys => ({ idKey: randomBytes(32), encKey: randomBytes(32) });

/** Runs `fn`, which must throw a ChunkCorruptError for `id`. */
function expectCorrupt(fn: () => unknown, id: string): ChunkCorruptError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected a ChunkCorruptError').to.be.instanceOf(ChunkCorruptError);
  expect((caught as ChunkCorruptError).id).to.equal(id);
  expect((caught as Error).message).to.contain(id);
  return caught as ChunkCorruptError;
}

describe('chunk codec', function () {
  this.timeout(60_000);
  const ENC = keyed();

  describe('chunk ids', () => {
    it('are unkeyed BLAKE3 (known test vectors) on a plain bank', () => {
      // BLAKE3 reference vectors (https://github.com/BLAKE3-team/BLAKE3/blob/master/test_vectors).
      expect(chunkId(Buffer.alloc(0), null)).to.equal('af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262');
      expect(chunkId(Buffer.from([0]), null)).to.equal('2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213');
      expect(chunkId(Buffer.from('abc'), null)).to.equal('6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85');
    });

    it('are keyed on an encrypted bank: they differ from unkeyed ids and between keys, and are stable for one key', () => {
      const data = text(10_000);
      const a = randomBytes(32);
      const b = randomBytes(32);
      const plain = chunkId(data, null);
      const idA = chunkId(data, a);
      expect(idA).to.match(/^[0-9a-f]{64}$/);
      expect(idA).to.not.equal(plain);
      expect(chunkId(data, b)).to.not.equal(idA).and.not.equal(plain);
      expect(chunkId(Buffer.from(data), Buffer.from(a))).to.equal(idA);
      expect(chunkId(Buffer.concat([data, Buffer.from([0])]), a)).to.not.equal(idA);
    });

    it('keyed ids follow from the passphrase and the bank salt (same secret + salt: same ids; another salt: other ids)', async () => {
      const fast = (salt: string): KdfParams => ({ name: 'scrypt', N: 1 << 10, r: 8, p: 1, salt });
      const salt = newKdfParams().salt;
      const k1 = await deriveKeys(Buffer.from('passphrase one'), fast(salt));
      const k1again = await deriveKeys(Buffer.from('passphrase one'), fast(salt));
      const k2 = await deriveKeys(Buffer.from('passphrase two'), fast(salt));
      const k1salt = await deriveKeys(Buffer.from('passphrase one'), fast(newKdfParams().salt));
      expect(k1again.idKey.equals(k1.idKey)).to.equal(true);
      expect(k1again.check).to.equal(k1.check);
      // Purpose separation: the id key, the encryption key and the check are unrelated values.
      expect(k1.idKey.equals(k1.encKey)).to.equal(false);
      expect(k1.check).to.not.equal(k1.idKey.toString('hex')).and.not.equal(k1.encKey.toString('hex'));
      const data = text(5000);
      const ids = [k1, k2, k1salt].map((k) => chunkId(data, k.idKey));
      expect(new Set([...ids, chunkId(data, null)]).size).to.equal(4);
      expect(k2.check).to.not.equal(k1.check);
      expect(k1salt.check).to.not.equal(k1.check);
    });
  });

  describe('seal and open', () => {
    const inputs: [string, Buffer][] = [
      ['empty', Buffer.alloc(0)],
      ['one byte', Buffer.from([42])],
      ['63 bytes of text (below the compression floor)', text(63)],
      ['100 KiB of text', text(100 * KiB)],
      ['1 MiB of text (judged on a sample first)', text(1 * MiB)],
      ['100 KiB random', keystream('r100', 100 * KiB)],
      ['1 MiB random (judged on a sample first)', keystream('r1m', 1 * MiB)],
      ['random head, zero tail', Buffer.concat([keystream('head', 300 * KiB), Buffer.alloc(300 * KiB)])],
    ];
    for (const [keysName, keys] of [
      ['plain', PLAIN],
      ['encrypted', ENC],
    ] as const) {
      for (const level of [0, 3, 19]) {
        it(`round-trips every kind of input (${keysName}, level ${level})`, () => {
          for (const [what, data] of inputs) {
            const id = chunkId(data, keys.idKey);
            const blob = sealChunk(data, id, level, keys);
            const back = openChunk(blob, id, keys);
            expect(back.equals(data), what).to.equal(true);
          }
        });
      }
    }

    it('round-trips random data of random sizes, plain and encrypted (property)', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 4096 }), fc.boolean(), fc.constantFrom(0, 1, 3), (bytes, encrypted, level) => {
          const keys = encrypted ? ENC : PLAIN;
          const data = Buffer.from(bytes);
          const id = chunkId(data, keys.idKey);
          expect(openChunk(sealChunk(data, id, level, keys), id, keys).equals(data)).to.equal(true);
        }),
        { numRuns: 200 },
      );
    });

    it('compresses text: the stored form is much smaller and flagged zstd', () => {
      for (const size of [100 * KiB, 1 * MiB]) {
        const data = text(size);
        const plain = sealChunk(data, chunkId(data, null), 3, PLAIN);
        expect(plain[0], 'flags').to.equal(1);
        expect(plain.length).to.be.lessThan(data.length / 5);
        const enc = sealChunk(data, chunkId(data, ENC.idKey), 3, ENC);
        expect(enc.length).to.be.lessThan(data.length / 5);
        expect(enc.length).to.equal(plain.length + NONCE + TAG);
      }
    });

    it('stores random data uncompressed (flags 0), one byte larger plain and 29 bytes larger encrypted', () => {
      for (const size of [100 * KiB, 1 * MiB]) {
        const data = keystream(`incompressible-${size}`, size);
        const plain = sealChunk(data, chunkId(data, null), 3, PLAIN);
        expect(plain[0], 'flags').to.equal(0);
        expect(plain.length).to.equal(size + 1);
        expect(plain.subarray(1).equals(data)).to.equal(true);
        const enc = sealChunk(data, chunkId(data, ENC.idKey), 3, ENC);
        expect(enc.length).to.equal(size + 1 + NONCE + TAG);
      }
    });

    it('stores compressible data uncompressed at level 0', () => {
      const data = text(200 * KiB);
      const blob = sealChunk(data, chunkId(data, null), 0, PLAIN);
      expect(blob[0]).to.equal(0);
      expect(blob.length).to.equal(data.length + 1);
      expect(sealChunk(data, chunkId(data, ENC.idKey), 0, ENC).length).to.equal(data.length + 1 + NONCE + TAG);
    });

    it('encrypts: the stored bytes hide the plaintext, and sealing twice gives different bytes (fresh nonce)', () => {
      const marker = Buffer.from('BULWARK-CODEC-PLAINTEXT-MARKER');
      const data = Buffer.concat([keystream('m', 5000), marker, keystream('n', 5000)]);
      const id = chunkId(data, ENC.idKey);
      const one = sealChunk(data, id, 0, ENC);
      const two = sealChunk(data, id, 0, ENC);
      expect(one.includes(marker)).to.equal(false);
      expect(one.equals(two)).to.equal(false);
      expect(one.subarray(0, NONCE).equals(two.subarray(0, NONCE))).to.equal(false);
      expect(openChunk(two, id, ENC).equals(data)).to.equal(true);
      // The control: without encryption the marker is there in the clear.
      expect(sealChunk(data, chunkId(data, null), 0, PLAIN).includes(marker)).to.equal(true);
    });
  });

  describe('tampering and misfiling are detected', () => {
    const random = keystream('tamper-random', 64 * KiB);
    const prose = text(64 * KiB);

    it('any altered byte of an encrypted blob (nonce, flags, body, tag) fails authentication', () => {
      for (const [what, data, level] of [
        ['random', random, 3],
        ['text', prose, 3],
        ['text, level 0', prose, 0],
      ] as const) {
        const id = chunkId(data, ENC.idKey);
        const blob = sealChunk(data, id, level, ENC);
        const positions = {
          'nonce[0]': 0,
          'nonce[11]': NONCE - 1,
          flags: NONCE,
          'body start': NONCE + 1,
          'body middle': Math.floor(blob.length / 2),
          'body end': blob.length - TAG - 1,
          'tag[0]': blob.length - TAG,
          'tag[15]': blob.length - 1,
        };
        for (const [where, at] of Object.entries(positions)) {
          for (const mask of [0x01, 0x80, 0xff]) {
            const bad = Buffer.from(blob);
            bad[at] = bad[at]! ^ mask;
            const err = expectCorrupt(() => openChunk(bad, id, ENC), id);
            expect(err.message, `${what} @ ${where}`).to.contain('authentication');
          }
        }
        // Truncated, extended, emptied.
        expectCorrupt(() => openChunk(blob.subarray(0, blob.length - 1), id, ENC), id);
        expectCorrupt(() => openChunk(Buffer.concat([blob, Buffer.from([0])]), id, ENC), id);
        expectCorrupt(() => openChunk(blob.subarray(0, NONCE + TAG), id, ENC), id);
        expectCorrupt(() => openChunk(Buffer.alloc(0), id, ENC), id);
      }
    });

    it('any altered byte of an encrypted blob fails (property over position and mask)', () => {
      const id = chunkId(prose, ENC.idKey);
      const blob = sealChunk(prose, id, 3, ENC);
      fc.assert(
        fc.property(fc.integer({ min: 0, max: blob.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, mask) => {
          const bad = Buffer.from(blob);
          bad[at] = bad[at]! ^ mask;
          expectCorrupt(() => openChunk(bad, id, ENC), id);
        }),
        { numRuns: 200 },
      );
    });

    it('any altered byte of an uncompressed plain blob no longer matches its id', () => {
      const id = chunkId(random, null);
      const blob = sealChunk(random, id, 3, PLAIN);
      expect(blob[0]).to.equal(0);
      for (const at of [1, 2, 1000, blob.length >> 1, blob.length - 1]) {
        const bad = Buffer.from(blob);
        bad[at] = bad[at]! ^ 0x20;
        expect(expectCorrupt(() => openChunk(bad, id, PLAIN), id).message).to.contain('does not match its id');
      }
      expect(expectCorrupt(() => openChunk(Buffer.from([7, ...blob.subarray(1, 100)]), id, PLAIN), id).message).to.contain('flags');
      expectCorrupt(() => openChunk(Buffer.alloc(0), id, PLAIN), id);
      expectCorrupt(() => openChunk(blob.subarray(0, blob.length - 1), id, PLAIN), id);
    });

    it('a compressed plain blob with any byte altered either fails or still yields exactly the original (property)', () => {
      const id = chunkId(prose, null);
      const blob = sealChunk(prose, id, 3, PLAIN);
      expect(blob[0]).to.equal(1);
      let failed = 0;
      fc.assert(
        fc.property(fc.integer({ min: 0, max: blob.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, mask) => {
          const bad = Buffer.from(blob);
          bad[at] = bad[at]! ^ mask;
          let out: Buffer;
          try {
            out = openChunk(bad, id, PLAIN);
          } catch (err) {
            expect(err).to.be.instanceOf(ChunkCorruptError);
            failed++;
            return;
          }
          // A few header bits (e.g. zstd's window size) do not change the output: harmless.
          expect(out.equals(prose), `flip at ${at}`).to.equal(true);
        }),
        { numRuns: 200 },
      );
      expect(failed).to.be.greaterThan(150);
    });

    it("a blob opened under another chunk's id fails (plain and encrypted)", () => {
      const other = keystream('other', 1000);
      for (const keys of [PLAIN, ENC]) {
        for (const level of [0, 3]) {
          for (const data of [random, prose]) {
            const id = chunkId(data, keys.idKey);
            const otherId = chunkId(other, keys.idKey);
            const blob = sealChunk(data, id, level, keys);
            expectCorrupt(() => openChunk(blob, otherId, keys), otherId);
          }
        }
      }
      // Even a correct-looking id of the same data under another key does not open an encrypted blob.
      const id = chunkId(prose, ENC.idKey);
      const blob = sealChunk(prose, id, 3, ENC);
      const plainId = chunkId(prose, null);
      expectCorrupt(() => openChunk(blob, plainId, ENC), plainId);
    });

    it('a blob sealed under one bank key does not open under another', () => {
      const other = keyed();
      const id = chunkId(prose, ENC.idKey);
      const blob = sealChunk(prose, id, 3, ENC);
      expectCorrupt(() => openChunk(blob, id, { idKey: ENC.idKey, encKey: other.encKey }), id);
      expectCorrupt(() => openChunk(blob, id, { idKey: other.idKey, encKey: ENC.encKey }), id);
      expectCorrupt(() => openChunk(blob, id, PLAIN), id);
    });
  });

  describe('zstd frame content size (the decompression buffer hint)', () => {
    const frame = (descriptor: number, rest: number[]): Buffer => Buffer.from([0x28, 0xb5, 0x2f, 0xfd, descriptor, ...rest]);

    it('reads the size zlib writes into every frame it compresses, at each size class', () => {
      for (const size of [64, 255, 256, 300, 65_791, 65_792, MiB, 8 * MiB + 3]) {
        expect(zstdContentSize(zstdCompressSync(text(size))), `${size} bytes`).to.equal(size);
      }
    });

    it('reads every field width of RFC 8878, after the window and dictionary fields', () => {
      expect(zstdContentSize(frame(0x20, [200, 0]))).to.equal(200); // single segment, 1 byte
      expect(zstdContentSize(frame(0x40, [0x50, 0x50, 0x01, 0]))).to.equal(0x0150 + 256); // window byte, 2 bytes + 256
      expect(zstdContentSize(frame(0x82, [0x50, 1, 2, 0x00, 0x00, 0x10, 0x00]))).to.equal(MiB); // window, 2-byte dictionary id, 4 bytes
      // Single segment, 1-byte dictionary id, 8 bytes.
      expect(zstdContentSize(frame(0xe1, [7, 0, 0, 0x20, 0, 0, 0, 0, 0]))).to.equal(2 * MiB);
    });

    it('is null when there is no frame, no declared size, a truncated header or a size no chunk can have', () => {
      expect(zstdContentSize(text(4 * KiB))).to.equal(null);
      expect(zstdContentSize(frame(0x00, [0x50, 0, 0]))).to.equal(null); // no size field
      expect(zstdContentSize(frame(0x80, [0x50, 0x00, 0x00]))).to.equal(null); // 4-byte field cut short
      expect(zstdContentSize(frame(0x80, [0x50, 0x00, 0x00, 0x00, 0x04]))).to.equal(64 * MiB); // the largest chunk
      expect(zstdContentSize(frame(0x80, [0x50, 0x01, 0x00, 0x00, 0x04]))).to.equal(null); // one byte more
      expect(zstdContentSize(frame(0xc0, [0x50, 0, 0, 0, 0, 0, 0, 0, 1]))).to.equal(null);
    });

    it('a frame claiming the wrong size still opens to exactly the chunk, or fails as corrupt', () => {
      const data = text(200 * KiB);
      const id = chunkId(data, null);
      const blob = sealChunk(data, id, 3, PLAIN);
      const sizeAt = 1 + 4 + 1; // flags, magic, descriptor (single segment: no window byte)
      expect(blob[1 + 4], 'descriptor: single segment, 4-byte size').to.equal(0xa0);
      expect(zstdContentSize(blob.subarray(1))).to.equal(data.length);
      for (const claimed of [data.length - 1, data.length + 1, 1, 40 * MiB]) {
        const bad = Buffer.from(blob);
        bad.writeUInt32LE(claimed, sizeAt);
        let opened: Buffer | null = null;
        try {
          opened = openChunk(bad, id, PLAIN);
        } catch (err) {
          expect(err, `claimed ${claimed}`).to.be.instanceOf(ChunkCorruptError);
        }
        if (opened !== null) expect(opened.equals(data), `claimed ${claimed}`).to.equal(true);
      }
    });
  });

  describe('sealed objects', () => {
    const key = randomBytes(32);
    const data = Buffer.from('{"chunks":[["00",1]]} a small object');

    it('round-trip, are marked, hide the content and add exactly SEALED_OVERHEAD bytes', () => {
      const sealed = sealObject(data, 'checkpoints/a/resources/b/meta.json', key);
      expect(isSealedObject(sealed)).to.equal(true);
      expect(isSealedObject(data)).to.equal(false);
      expect(sealed.length).to.equal(data.length + SEALED_OVERHEAD);
      expect(sealed.includes(Buffer.from('small object'))).to.equal(false);
      expect(openObject(sealed, 'checkpoints/a/resources/b/meta.json', key)!.equals(data)).to.equal(true);
      expect(openObject(sealObject(Buffer.alloc(0), 'x', key), 'x', key)!.length).to.equal(0);
      expect(sealObject(data, 'k', key).equals(sealObject(data, 'k', key))).to.equal(false);
    });

    it('return null under another name (moved object), another key, or when altered or truncated', () => {
      const aad = 'chunks/index/20250101T000000Z-00';
      const sealed = sealObject(data, aad, key);
      expect(openObject(sealed, 'chunks/index/20250101T000000Z-01', key)).to.equal(null);
      expect(openObject(sealed, '', key)).to.equal(null);
      expect(openObject(sealed, aad, randomBytes(32))).to.equal(null);
      for (let at = 0; at < sealed.length; at++) {
        const bad = Buffer.from(sealed);
        bad[at] = bad[at]! ^ 0x04;
        expect(openObject(bad, aad, key), `byte ${at}`).to.equal(null);
      }
      expect(openObject(sealed.subarray(0, sealed.length - 1), aad, key)).to.equal(null);
      expect(openObject(sealed.subarray(0, SEALED_OVERHEAD - 1), aad, key)).to.equal(null);
      expect(openObject(data, aad, key)).to.equal(null);
      expect(openObject(Buffer.alloc(0), aad, key)).to.equal(null);
    });
  });
});
