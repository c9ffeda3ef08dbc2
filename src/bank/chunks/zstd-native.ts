/**
 * zstd into buffers each thread owns and reuses, through zstd-napi (an optional dependency, built
 * from source at install). Node's zlib cannot write into a given buffer: every chunk it compressed or
 * opened came back in freshly allocated memory, which cost page faults on every byte a backup, check
 * or restore moved and kept each codec worker's malloc arena at its 64 MiB cap (docs/chunk-store.md).
 * Where the binding did not build, or a frame does not declare its size, codec.ts falls back to zlib:
 * either reads the other's frames, only the cost differs.
 */
import { createRequire } from 'node:module';
import { DEFAULT_CHUNKER } from './fastcdc.js';

/** The part of zstd-napi's low-level binding used here (its binding.d.ts). */
interface DCtx {
  decompress(dst: Uint8Array, src: Uint8Array): number;
}
interface CCtx {
  compress(dst: Uint8Array, src: Uint8Array, level: number): number;
}
interface Binding {
  DCtx: new () => DCtx;
  CCtx: new () => CCtx;
  compressBound(size: number): number;
}

let loaded: { dctx: DCtx; cctx: CCtx; bound: (size: number) => number } | null | undefined;

/**
 * This thread's zstd contexts, or null: without the binding, or with BULWARK_NATIVE_ZSTD=0
 * (a way around a binding that misbehaves on some system; also how the tests reach the zlib path).
 */
function native(): NonNullable<typeof loaded> | null {
  if (process.env.BULWARK_NATIVE_ZSTD === '0') return null;
  if (loaded === undefined) {
    try {
      const binding = createRequire(import.meta.url)('zstd-napi/binding.js') as Binding;
      loaded = { dctx: new binding.DCtx(), cctx: new binding.CCtx(), bound: binding.compressBound };
    } catch {
      loaded = null;
    }
  }
  return loaded ?? null;
}

/** Whether chunks are compressed and decompressed by the binding in this thread. */
export const nativeZstdAvailable = (): boolean => native() !== null;

/**
 * The largest frame decompressed into the kept buffer: the default chunker's largest chunk. A bank
 * configured with larger chunks (or a damaged frame claiming more) goes through zlib, so no thread
 * keeps more than this.
 */
const KEEP_MAX = DEFAULT_CHUNKER.maxSize;

/** Where frames are decompressed, reused from call to call; grown to the largest chunk seen. */
let out = Buffer.allocUnsafeSlow(0);

/**
 * Decompresses a frame that declares `size` bytes into this thread's reused buffer and returns a view
 * of exactly those bytes, overwritten by the next call; null when the binding is not used here or the
 * frame is larger than KEEP_MAX. Throws when the frame is damaged or holds other than `size` bytes.
 */
export function decompressBorrowed(frame: Uint8Array, size: number): Buffer | null {
  if (size > KEEP_MAX) return null;
  const z = native();
  if (z === null) return null;
  // A buffer moved to another thread is left detached (length 0): allocated anew.
  if (out.length < size) out = Buffer.allocUnsafeSlow(Math.max(size, 1 << 20));
  const written = z.dctx.decompress(out.subarray(0, size), frame);
  if (written !== size) throw new Error(`frame declares ${size} bytes, holds ${written}`);
  return out.subarray(0, size);
}

/** Where chunks are compressed, reused from call to call (the sealed blob is a copy of it). */
let packed = Buffer.allocUnsafeSlow(0);

/**
 * Compresses `data` at `level` into this thread's reused buffer and returns a view of the frame
 * (declaring its size), overwritten by the next call; null when the binding is not used here or the
 * data is larger than KEEP_MAX.
 */
export function compressBorrowed(data: Uint8Array, level: number): Buffer | null {
  if (data.length > KEEP_MAX) return null;
  const z = native();
  if (z === null) return null;
  const bound = z.bound(data.length);
  if (packed.length < bound) packed = Buffer.allocUnsafeSlow(Math.max(bound, z.bound(1 << 20)));
  return packed.subarray(0, z.cctx.compress(packed.subarray(0, bound), data, level));
}
