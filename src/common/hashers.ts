/**
 * BLAKE3 hashers reused within a thread instead of made per file or per chunk. The hashing module
 * allocates each hasher (~2 KB) with its own allocator, invisible to V8, and frees it only when the
 * garbage collector finalizes the object: a worker hashing 100,000 small files held ~450 MB of
 * dead hashers by the end of a 10 GB backup. A hasher is reset before each use; these are for
 * synchronous use only (update and digest in one call), so two users never share one mid-hash.
 */
import { Blake3Hasher } from '@napi-rs/blake-hash';

const asBuffer = (u: Uint8Array): Buffer => (Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength));

let plain: Blake3Hasher | undefined;
/** Keyed hashers by key object: a thread holds one bank's id key (or a few), for as long as it lives. */
const keyed = new WeakMap<Buffer, Blake3Hasher>();

/** A hasher in its initial state: unkeyed, or keyed with `key`. Use it before anything else asks for one. */
export function freshHasher(key: Buffer | null = null): Blake3Hasher {
  let h: Blake3Hasher | undefined;
  if (key === null) h = plain ??= new Blake3Hasher();
  else {
    h = keyed.get(key);
    if (h === undefined) keyed.set(key, (h = Blake3Hasher.newKeyed(key)));
  }
  h.reset();
  return h;
}

/** BLAKE3 of `data` (keyed with `key` when given), as hex. */
export function blake3Hex(data: Uint8Array, key: Buffer | null = null): string {
  return freshHasher(key).update(asBuffer(data)).digest('hex');
}
