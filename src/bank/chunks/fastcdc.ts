/**
 * FastCDC content-defined chunking (Xia et al., USENIX ATC 2016): a gear rolling hash, cut-point
 * skipping below the minimum size and normalized chunking (a stricter mask before the average size, a
 * looser one after). Boundaries depend only on the bytes near them, so inserting or deleting bytes
 * early in a stream changes the chunks around the edit and leaves the rest identical: that is what
 * makes a second checkpoint of slightly changed data cheap.
 *
 * Pure and streaming: `push` takes any piece of the stream and returns where chunks end inside it.
 */
import { createHash } from 'node:crypto';

export interface ChunkerParams {
  minSize: number;
  avgSize: number;
  maxSize: number;
}

const KiB = 1024;
const MiB = 1024 * KiB;

/** The largest chunk a bank may be configured for; no stored chunk is larger. */
export const MAX_CHUNK_SIZE = 64 * MiB;

/** Defaults for large files and dumps: few, big chunks keep the index small and reads sequential. */
export const DEFAULT_CHUNKER: ChunkerParams = { minSize: 512 * KiB, avgSize: 1 * MiB, maxSize: 8 * MiB };

/** The reason a parameter set is unusable, or null. */
export function chunkerParamsProblem(p: ChunkerParams): string | null {
  const ints = [p.minSize, p.avgSize, p.maxSize].every((v) => Number.isSafeInteger(v) && v > 0);
  if (!ints) return 'chunk sizes must be positive integers';
  if (!(p.minSize >= 64 && p.minSize < p.avgSize && p.avgSize < p.maxSize)) return 'chunk sizes must satisfy 64 <= min < avg < max';
  if ((p.avgSize & (p.avgSize - 1)) !== 0) return 'the average chunk size must be a power of two';
  if (p.maxSize > MAX_CHUNK_SIZE) return `the maximum chunk size is ${MAX_CHUNK_SIZE / MiB} MiB`;
  return null;
}

/**
 * 256 fixed pseudo-random 32-bit values. Derived from SHA-256 of a constant so every Bulwark build
 * (and every bank) cuts the same data at the same places; changing them would break deduplication
 * against existing checkpoints.
 */
const GEAR: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    table[i] = createHash('sha256').update(`bulwark-fastcdc-gear-${i}`).digest().readUInt32BE(0);
  }
  return table;
})();

/**
 * A mask of `bits` one-bits in the high part of the word: a gear hash's high bits depend on the last
 * 32 bytes, its low bits only on the last few, so high bits give a proper rolling window.
 */
/** The gear table as signed 32-bit values, for the hot loop. */
const GEAR_SIGNED: Int32Array = new Int32Array(GEAR.buffer.slice(0));

function highMask(bits: number): number {
  return (((1 << bits) - 1) << (32 - bits)) >>> 0;
}

export class Chunker {
  /** Bytes of the current (unfinished) chunk seen so far. */
  private pos = 0;
  private hash = 0;
  private readonly maskS: number;
  private readonly maskL: number;

  constructor(readonly params: ChunkerParams = DEFAULT_CHUNKER) {
    const problem = chunkerParamsProblem(params);
    if (problem !== null) throw new RangeError(problem);
    const bits = Math.round(Math.log2(params.avgSize));
    // Normalization level 2, as in the paper: 2 bits stricter before the average, 2 looser after.
    this.maskS = highMask(Math.min(bits + 2, 31));
    this.maskL = highMask(Math.max(bits - 2, 1));
  }

  /**
   * Feeds the next piece of the stream; returns the offsets in `data` where chunks end (exclusive).
   * Bytes after the last offset belong to a chunk that continues into the next piece (or ends at
   * the end of the stream, which only the caller knows).
   */
  push(data: Uint8Array): number[] {
    const cuts: number[] = [];
    const { minSize, avgSize, maxSize } = this.params;
    // Locals and signed 32-bit arithmetic keep the hot loops monomorphic for the JIT (about 2x faster
    // than unsigned shifts on every byte); masks compare equally on signed values.
    const maskS = this.maskS | 0;
    const maskL = this.maskL | 0;
    const gear = GEAR_SIGNED;
    const n = data.length;
    let i = 0;
    while (i < n) {
      // Cut-point skipping: no chunk ends before minSize, so those bytes are not even hashed.
      if (this.pos < minSize) {
        const skip = Math.min(minSize - this.pos, n - i);
        this.pos += skip;
        i += skip;
        if (this.pos < minSize) break;
        this.hash = 0;
      }
      let h = this.hash | 0;
      let cut = -1;
      const strictEnd = Math.min(n, i + Math.max(0, avgSize - this.pos));
      let j = i;
      for (; j < strictEnd; j++) {
        h = ((h << 1) + gear[data[j]!]!) | 0;
        if ((h & maskS) === 0) {
          cut = j + 1;
          break;
        }
      }
      if (cut < 0 && j === strictEnd) {
        const looseEnd = Math.min(n, j + Math.max(0, maxSize - (this.pos + (j - i))));
        for (; j < looseEnd; j++) {
          h = ((h << 1) + gear[data[j]!]!) | 0;
          if ((h & maskL) === 0) {
            cut = j + 1;
            break;
          }
        }
        if (cut < 0 && this.pos + (j - i) >= maxSize) cut = j;
      }
      if (cut >= 0) {
        cuts.push(cut);
        this.pos = 0;
        this.hash = 0;
        i = cut;
      } else {
        this.pos += j - i;
        this.hash = h;
        i = j;
      }
    }
    return cuts;
  }

  /** Starts over, for the next stream (each file is chunked on its own). */
  reset(): void {
    this.pos = 0;
    this.hash = 0;
  }
}
