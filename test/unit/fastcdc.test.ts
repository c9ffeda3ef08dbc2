/**
 * FastCDC chunker (src/bank/chunks/fastcdc.ts): boundaries must be content-defined (an edit moves only
 * the chunks next to it), independent of how the stream is fed to `push`, bounded by min/max, and
 * identical to a plain, non-streaming FastCDC over the same gear table — any drift there silently
 * breaks deduplication against existing banks.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { expect } from 'chai';
import fc from 'fast-check';
import { Chunker, DEFAULT_CHUNKER, chunkerParamsProblem } from '../../src/bank/chunks/fastcdc.js';
import type { ChunkerParams } from '../../src/bank/chunks/fastcdc.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const SMALL: ChunkerParams = { minSize: 2 * KiB, avgSize: 8 * KiB, maxSize: 64 * KiB };

/** Deterministic pseudo-random bytes: the AES-256-CTR keystream of a key derived from `seed`. */
function keystream(seed: string | number, length: number): Buffer {
  const key = createHash('sha256').update(`fastcdc-test:${seed}`).digest();
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(length));
}

/** Feeds `pieces` to a fresh chunker; returns the absolute end offset of every chunk (the last one included). */
function chunkEnds(params: ChunkerParams, pieces: readonly Uint8Array[]): number[] {
  const chunker = new Chunker(params);
  const ends: number[] = [];
  let base = 0;
  for (const piece of pieces) {
    for (const cut of chunker.push(piece)) {
      expect(cut, 'a cut lies inside the piece it was reported for').to.be.within(1, piece.length);
      ends.push(base + cut);
    }
    base += piece.length;
  }
  if (base > 0 && ends.at(-1) !== base) ends.push(base);
  return ends;
}

/** Splits `data` at the given offsets (duplicates give empty pieces, which must be harmless). */
function splitAt(data: Buffer, offsets: readonly number[]): Buffer[] {
  const sorted = [...offsets].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let start = 0;
  for (const at of sorted) {
    pieces.push(data.subarray(start, at));
    start = at;
  }
  pieces.push(data.subarray(start));
  return pieces;
}

const sizesOf = (ends: readonly number[]): number[] => ends.map((e, i) => e - (i === 0 ? 0 : ends[i - 1]!));
const digest = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const chunksOf = (data: Buffer, ends: readonly number[]): Buffer[] => ends.map((e, i) => data.subarray(i === 0 ? 0 : ends[i - 1]!, e));

/**
 * A straightforward FastCDC (normalization level 2) over a whole buffer, written from the paper and the
 * module's documented constants rather than from its streaming code: gear values are the first 4 bytes
 * (big endian) of SHA-256("bulwark-fastcdc-gear-<i>"), masks take their one-bits from the top of the word.
 */
function referenceEnds(params: ChunkerParams, data: Uint8Array): number[] {
  const gear = Array.from({ length: 256 }, (_, i) => createHash('sha256').update(`bulwark-fastcdc-gear-${i}`).digest().readUInt32BE(0));
  const bits = Math.log2(params.avgSize);
  const high = (n: number): number => ((2 ** n - 1) * 2 ** (32 - n)) >>> 0;
  const maskS = high(Math.min(bits + 2, 31));
  const maskL = high(Math.max(bits - 2, 1));
  const ends: number[] = [];
  let start = 0;
  while (start < data.length) {
    const remaining = data.length - start;
    let len: number;
    if (remaining <= params.minSize) {
      len = remaining;
    } else {
      const normal = Math.min(params.avgSize, remaining);
      const limit = Math.min(params.maxSize, remaining);
      let h = 0;
      let i = params.minSize;
      len = -1;
      for (; i < normal; i++) {
        h = ((h << 1) + gear[data[start + i]!]!) >>> 0;
        if ((h & maskS) === 0) {
          len = i + 1;
          break;
        }
      }
      if (len < 0) {
        for (; i < limit; i++) {
          h = ((h << 1) + gear[data[start + i]!]!) >>> 0;
          if ((h & maskL) === 0) {
            len = i + 1;
            break;
          }
        }
      }
      if (len < 0) len = limit;
    }
    start += len;
    ends.push(start);
  }
  return ends;
}

/** fast-check arbitrary of valid parameter sets around small sizes (so inputs of ~1 MiB give many chunks). */
const paramsArb: fc.Arbitrary<ChunkerParams> = fc.integer({ min: 7, max: 14 }).chain((bits) => {
  const avg = 2 ** bits;
  return fc.record({
    minSize: fc.integer({ min: 64, max: avg - 1 }),
    avgSize: fc.constant(avg),
    maxSize: fc.integer({ min: avg + 1, max: avg * 8 }),
  });
});

describe('FastCDC chunker', function () {
  this.timeout(60_000);

  describe('parameters', () => {
    it('accepts the defaults and boundary values', () => {
      expect(chunkerParamsProblem(DEFAULT_CHUNKER)).to.equal(null);
      expect(DEFAULT_CHUNKER).to.deep.equal({ minSize: 512 * KiB, avgSize: 1 * MiB, maxSize: 8 * MiB });
      for (const ok of [SMALL, { minSize: 64, avgSize: 128, maxSize: 129 }, { minSize: 4 * MiB, avgSize: 8 * MiB, maxSize: 64 * MiB }]) {
        expect(chunkerParamsProblem(ok), JSON.stringify(ok)).to.equal(null);
        expect(() => new Chunker(ok)).to.not.throw();
      }
    });

    const bad: [string, ChunkerParams][] = [
      ['min below 64', { minSize: 63, avgSize: 1024, maxSize: 4096 }],
      ['min equal to avg', { minSize: 1024, avgSize: 1024, maxSize: 4096 }],
      ['min above avg', { minSize: 2048, avgSize: 1024, maxSize: 4096 }],
      ['avg equal to max', { minSize: 512, avgSize: 1024, maxSize: 1024 }],
      ['max below avg', { minSize: 256, avgSize: 1024, maxSize: 512 }],
      ['avg not a power of two', { minSize: 512, avgSize: 1000, maxSize: 4096 }],
      ['max above 64 MiB', { minSize: 4 * MiB, avgSize: 8 * MiB, maxSize: 64 * MiB + 1 }],
      ['zero', { minSize: 0, avgSize: 1024, maxSize: 4096 }],
      ['negative', { minSize: -512, avgSize: 1024, maxSize: 4096 }],
      ['fractional', { minSize: 512.5, avgSize: 1024, maxSize: 4096 }],
      ['NaN', { minSize: Number.NaN, avgSize: 1024, maxSize: 4096 }],
      ['Infinity', { minSize: 512, avgSize: 1024, maxSize: Number.POSITIVE_INFINITY }],
      ['a string', { minSize: '512' as unknown as number, avgSize: 1024, maxSize: 4096 }],
      ['missing', { minSize: 512, avgSize: 1024 } as ChunkerParams],
    ];
    for (const [why, params] of bad) {
      it(`refuses ${why}`, () => {
        expect(chunkerParamsProblem(params)).to.be.a('string').and.not.equal('');
        expect(() => new Chunker(params)).to.throw(RangeError);
      });
    }
  });

  describe('boundaries', () => {
    it('match a plain (non-streaming) FastCDC over the same gear table, on random, constant and periodic data', () => {
      const cases: [string, ChunkerParams, Buffer][] = [
        ['random, small params', SMALL, keystream('ref-1', 2 * MiB)],
        ['random, default params', DEFAULT_CHUNKER, keystream('ref-2', 12 * MiB)],
        ['random, tiny params', { minSize: 64, avgSize: 256, maxSize: 1024 }, keystream('ref-3', 256 * KiB)],
        ['all zeros', SMALL, Buffer.alloc(1 * MiB)],
        ['all 0xff', SMALL, Buffer.alloc(1 * MiB, 0xff)],
        ['a 7-byte period', SMALL, Buffer.from(Array.from({ length: 700 * KiB }, (_, i) => (i % 7) * 37))],
      ];
      for (const [what, params, data] of cases) {
        const expected = referenceEnds(params, data);
        expect(chunkEnds(params, [data]), what).to.deep.equal(expected);
        expect(expected.length, `${what}: enough chunks to mean something`).to.be.greaterThan(5);
      }
    });

    it('do not depend on how the stream is split into pieces for push (property)', () => {
      const length = 3 * MiB;
      const cache = new Map<number, { data: Buffer; ends: number[] }>();
      const whole = (seed: number): { data: Buffer; ends: number[] } => {
        let v = cache.get(seed);
        if (v === undefined) {
          const data = keystream(`split-${seed}`, length);
          v = { data, ends: chunkEnds(SMALL, [data]) };
          cache.set(seed, v);
        }
        return v;
      };
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 3 }), fc.array(fc.integer({ min: 0, max: length }), { maxLength: 60 }), (seed, offsets) => {
          const { data, ends } = whole(seed);
          expect(chunkEnds(SMALL, splitAt(data, offsets))).to.deep.equal(ends);
        }),
        { numRuns: 40 },
      );
    });

    it('do not depend on the split even with tiny pieces, for any valid parameters (property)', () => {
      fc.assert(
        fc.property(
          paramsArb,
          fc.integer({ min: 0, max: 1 << 30 }),
          fc.integer({ min: 0, max: 192 * KiB }),
          fc.integer({ min: 1, max: 97 }),
          (params, seed, length, step) => {
            const data = keystream(`tiny-${seed}`, length);
            const pieces: Buffer[] = [];
            for (let at = 0; at < length; at += step) pieces.push(data.subarray(at, at + step));
            const ends = chunkEnds(params, pieces);
            expect(ends).to.deep.equal(chunkEnds(params, [data]));
            expect(ends).to.deep.equal(referenceEnds(params, data));
          },
        ),
        { numRuns: 30 },
      );
    });

    it('keep every chunk within [min, max] except a shorter last one, and cover the stream exactly (property)', () => {
      fc.assert(
        fc.property(
          paramsArb,
          fc.integer({ min: 0, max: 1 << 30 }),
          fc.integer({ min: 0, max: 1 * MiB }),
          fc.constantFrom('random', 'zeros', 'sparse-ish'),
          (params, seed, length, kind) => {
            let data = kind === 'zeros' ? Buffer.alloc(length) : keystream(`bounds-${seed}`, length);
            if (kind === 'sparse-ish') data = Buffer.concat([data.subarray(0, length >> 1), Buffer.alloc(length - (length >> 1))]);
            const ends = chunkEnds(params, [data]);
            if (length === 0) {
              expect(ends).to.deep.equal([]);
              return;
            }
            expect(ends.at(-1)).to.equal(length);
            const sizes = sizesOf(ends);
            sizes.forEach((s, i) => {
              const last = i === sizes.length - 1;
              expect(s, `chunk ${i} of ${sizes.length}`).to.be.within(last ? 1 : params.minSize, params.maxSize);
            });
          },
        ),
        { numRuns: 60 },
      );
    });

    it('start afresh after reset (one chunker can serve stream after stream)', () => {
      const a = keystream('reset-a', 300 * KiB);
      const b = keystream('reset-b', 500 * KiB);
      const chunker = new Chunker(SMALL);
      chunker.push(a.subarray(0, 123_457)); // leave a chunk unfinished
      chunker.reset();
      const ends: number[] = [];
      for (const cut of chunker.push(b)) ends.push(cut);
      ends.push(b.length);
      expect(ends).to.deep.equal(chunkEnds(SMALL, [b]));
      expect(chunker.push(new Uint8Array(0))).to.deep.equal([]);
    });
  });

  describe('edits change only the chunks near them', () => {
    const length = 4 * MiB;
    const base = keystream('edit-base', length);
    const baseEnds = chunkEnds(SMALL, [base]);

    /**
     * Chunks after the edit until both chunk sequences meet a common cut point again. Usually 1; an
     * edit in the last 32 bytes of a chunk removes its cut point and the sequences then run out of
     * phase for a few chunks (measured: 1 in ~3000 random edits needs 4). 8 leaves a wide margin.
     */
    const RESYNC = 8;

    /**
     * Checks an edit of `delta` bytes (positive: inserted, negative: deleted) at `pos`: nearly every
     * original chunk is still there, and from a few chunks after the edit on the cut points are the
     * original ones, shifted by delta.
     */
    function expectLocal(edited: Buffer, pos: number, delta: number): void {
      const editedEnds = chunkEnds(SMALL, [edited]);
      const editedSet = new Set(chunksOf(edited, editedEnds).map(digest));
      const original = chunksOf(base, baseEnds).map(digest);
      const kept = original.filter((d) => editedSet.has(d)).length;
      expect(original.length).to.be.greaterThan(200);
      expect(kept / original.length, `${kept} of ${original.length} chunks unchanged`).to.be.at.least(0.9);
      expect(original.length - kept, 'chunks changed by a small edit').to.be.within(1, RESYNC);

      // Cut points after the edit, in original coordinates.
      const mapped = editedEnds.map((e) => (e > pos ? e - delta : e));
      const k = baseEnds.findIndex((e) => e > pos); // the chunk holding the edit
      const tail = baseEnds.slice(k + RESYNC);
      expect(tail.length).to.be.greaterThan(100);
      expect(mapped.slice(mapped.length - tail.length), `cut points from the ${RESYNC}th chunk after the edit on`).to.deep.equal(tail);
      // And the chunks before the edit are untouched.
      expect(mapped.slice(0, k)).to.deep.equal(baseEnds.slice(0, k));
    }

    it('inserting one byte at offset 1000', () => {
      const edited = Buffer.concat([base.subarray(0, 1000), Buffer.from([0x5a]), base.subarray(1000)]);
      expectLocal(edited, 1000, 1);
    });

    it('deleting one byte at offset 1000', () => {
      const edited = Buffer.concat([base.subarray(0, 1000), base.subarray(1001)]);
      expectLocal(edited, 1000, -1);
    });

    it('deleting a byte inside the hash window of a cut point (the cut vanishes; the chunks realign a few cuts later)', () => {
      // In this stream a chunk ends at 45790: deleting byte 45758 changes the hash there.
      expect(baseEnds).to.include(45790);
      const edited = Buffer.concat([base.subarray(0, 45758), base.subarray(45759)]);
      expect(chunkEnds(SMALL, [edited]).map((e) => (e > 45758 ? e + 1 : e))).to.not.include(45790);
      expectLocal(edited, 45758, -1);
    });

    it('inserting or deleting a few bytes anywhere in the first 256 KiB (property)', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 256 * KiB }),
          fc.boolean(),
          fc.uint8Array({ minLength: 1, maxLength: 16 }),
          (pos, insert, bytes) => {
            const edited = insert
              ? Buffer.concat([base.subarray(0, pos), bytes, base.subarray(pos)])
              : Buffer.concat([base.subarray(0, pos), base.subarray(pos + bytes.length)]);
            expectLocal(edited, pos, insert ? bytes.length : -bytes.length);
          },
        ),
        { numRuns: 25 },
      );
    });

    it('a fixed-size chunker would not pass: the same check fails when every cut is shifted (sanity of the check)', () => {
      // Cutting every 8 KiB regardless of content: an insert shifts every later chunk.
      const fixed = (data: Buffer): string[] =>
        Array.from({ length: Math.ceil(data.length / (8 * KiB)) }, (_, i) => digest(data.subarray(i * 8 * KiB, (i + 1) * 8 * KiB)));
      const edited = Buffer.concat([base.subarray(0, 1000), Buffer.from([0x5a]), base.subarray(1000)]);
      const after = new Set(fixed(edited));
      expect(fixed(base).filter((d) => after.has(d)).length).to.equal(0);
    });
  });

  it('gives a sane average chunk size with the default parameters on 64 MiB of random data', () => {
    const data = keystream('default-64', 64 * MiB);
    // Fed in 4 MiB blocks, as the fs plugin reads files.
    const pieces = Array.from({ length: 16 }, (_, i) => data.subarray(i * 4 * MiB, (i + 1) * 4 * MiB));
    const sizes = sizesOf(chunkEnds(DEFAULT_CHUNKER, pieces));
    const full = sizes.slice(0, -1);
    const mean = full.reduce((a, b) => a + b, 0) / full.length;
    const { minSize, avgSize, maxSize } = DEFAULT_CHUNKER;
    expect(mean, `mean chunk size ${(mean / MiB).toFixed(3)} MiB over ${full.length} chunks`).to.be.within(0.6 * avgSize, 1.6 * avgSize);
    for (const s of full) expect(s).to.be.within(minSize, maxSize);
    // Content-defined, not fixed-size: the sizes vary.
    expect(new Set(full).size).to.be.greaterThan(full.length * 0.9);
  });
});
