/**
 * How one chunk becomes the bytes stored in a pack, and back. Pure and synchronous: the worker
 * threads run it (codec-worker.ts), and bank check runs it in place.
 *
 *   plain bank:      [flags][payload]
 *   encrypted bank:  [nonce 12][AES-256-GCM([flags][payload])][tag 16], additional data = the chunk id
 *
 * flags bit 0: payload is zstd-compressed. The chunk id is BLAKE3 of the plaintext (keyed on an
 * encrypted bank), and reading always recomputes it: a chunk comes back exactly as written or not at
 * all. Binding the ciphertext to its id means a blob copied under another id fails authentication.
 */
import { createCipheriv, createDecipheriv, randomBytes, randomFillSync } from 'node:crypto';
import { constants as zc, zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import { blake3Hex } from '../../common/hashers.js';
import { MAX_CHUNK_SIZE } from './fastcdc.js';
import { compressBorrowed, decompressBorrowed } from './zstd-native.js';

/** One chunk of a run of stored chunks read in one piece: where it lies in the run's bytes, its id. */
export type RunItem = [offset: number, length: number, id: string];

export interface CodecKeys {
  idKey: Buffer | null;
  encKey: Buffer | null;
}

const FLAG_ZSTD = 1;
const NONCE = 12;
const TAG = 16;
/**
 * Nonces are cut from a buffer of random bytes refilled when used up: as random as one randomBytes
 * call per chunk (which cost ~25 µs each, a tenth of sealing a small chunk), without the call.
 */
const noncePool = Buffer.alloc(NONCE * 512);
let nonceAt = noncePool.length;

function nextNonce(): Buffer {
  if (nonceAt + NONCE > noncePool.length) {
    randomFillSync(noncePool);
    nonceAt = 0;
  }
  nonceAt += NONCE;
  // Used at once (the cipher copies its IV, the stored blob copies the bytes) before any refill.
  return noncePool.subarray(nonceAt - NONCE, nonceAt);
}

/** Chunks above this size are first judged on a sample, so incompressible data costs little. */
const SAMPLE_ABOVE = 256 * 1024;
const SAMPLE = 64 * 1024;

/** Thrown when stored bytes do not decode to the chunk they are filed under. */
export class ChunkCorruptError extends Error {
  constructor(
    readonly id: string,
    readonly reason: string,
  ) {
    super(`chunk ${id}: ${reason}`);
  }
}

export function chunkId(data: Uint8Array, idKey: Buffer | null): string {
  return blake3Hex(data, idKey);
}

/** zstd at `level`: into this thread's reused buffer (zstd-native.ts, a view) where it can, else zlib's. */
function zstd(data: Uint8Array, level: number): Buffer {
  return compressBorrowed(data, level) ?? zstdCompressSync(data, { params: { [zc.ZSTD_c_compressionLevel]: level } });
}

/** The compressed payload, or null when compression does not pay; may be a view the next call overwrites. */
function compress(data: Uint8Array, level: number): Buffer | null {
  if (level <= 0 || data.length < 64) return null;
  // Random-looking data (already compressed or encrypted files) would cost a full zstd pass for nothing.
  if (data.length > SAMPLE_ABOVE && zstd(data.subarray(0, SAMPLE), level).length > SAMPLE * 0.97) return null;
  const out = zstd(data, level);
  return out.length < data.length ? out : null;
}

/** The stored form of a chunk. */
export function sealChunk(data: Uint8Array, id: string, level: number, keys: CodecKeys): Buffer {
  const packed = compress(data, level);
  const flags = Buffer.from([packed === null ? 0 : FLAG_ZSTD]);
  const payload = packed ?? data;
  if (keys.encKey === null) return Buffer.concat([flags, payload]);
  const nonce = nextNonce();
  const cipher = createCipheriv('aes-256-gcm', keys.encKey, nonce);
  cipher.setAAD(Buffer.from(`chunk:${id}`));
  const head = cipher.update(flags);
  const body = cipher.update(payload);
  const tail = cipher.final();
  return Buffer.concat([nonce, head, body, tail, cipher.getAuthTag()]);
}

/** The plaintext of a stored chunk, checked against its id; throws ChunkCorruptError otherwise. */
export function openChunk(blob: Uint8Array, id: string, keys: CodecKeys): Buffer {
  const { data, borrowed } = openChunkBorrowed(blob, id, keys);
  return borrowed ? Buffer.from(data) : data;
}

/**
 * Where chunks are decrypted, reused from call to call. Decrypting a 1 MiB chunk into a new buffer
 * ran at half the speed of decrypting into memory already touched (~1.9 against ~4.1 GB/s measured),
 * and bank check and restore decrypt every stored byte.
 */
let scratch = Buffer.allocUnsafeSlow(0);
/** Ciphertext goes through AES-GCM in pieces this big, each copied into the scratch buffer. */
const STEP = 64 * 1024;

function decryptToScratch(blob: Uint8Array, id: string, encKey: Buffer): Buffer {
  const length = blob.length - NONCE - TAG;
  if (scratch.length < length) scratch = Buffer.allocUnsafeSlow(Math.max(length, scratch.length * 2));
  const decipher = createDecipheriv('aes-256-gcm', encKey, blob.subarray(0, NONCE));
  decipher.setAAD(Buffer.from(`chunk:${id}`));
  decipher.setAuthTag(blob.subarray(blob.length - TAG));
  let at = 0;
  for (let o = NONCE; o < NONCE + length; o += STEP) {
    const piece = decipher.update(blob.subarray(o, Math.min(o + STEP, NONCE + length)));
    scratch.set(piece, at);
    at += piece.length;
  }
  // Throws unless the tag checks out: nothing decrypted is used before.
  decipher.final();
  if (at !== length) throw new Error('short decryption');
  return scratch.subarray(0, length);
}

/**
 * The plaintext size a zstd frame's header declares (RFC 8878, section 3.1.1.1), or null when it
 * declares none or an impossible one. Only a hint for the output buffer: the chunk id still decides.
 */
export function zstdContentSize(frame: Uint8Array): number | null {
  if (frame.length < 6 || frame[0] !== 0x28 || frame[1] !== 0xb5 || frame[2] !== 0x2f || frame[3] !== 0xfd) return null;
  const descriptor = frame[4]!;
  const fcsFlag = descriptor >> 6;
  const singleSegment = (descriptor & 0x20) !== 0;
  const fcsBytes = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag]!;
  if (fcsBytes === 0) return null;
  const at = 5 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][descriptor & 3]!;
  if (frame.length < at + fcsBytes) return null;
  const view = new DataView(frame.buffer, frame.byteOffset + at, fcsBytes);
  let size: number;
  if (fcsBytes === 1) size = view.getUint8(0);
  else if (fcsBytes === 2) size = view.getUint16(0, true) + 256;
  else if (fcsBytes === 4) size = view.getUint32(0, true);
  else size = Number(view.getBigUint64(0, true));
  return size <= MAX_CHUNK_SIZE ? size : null;
}

/**
 * Decompresses a chunk's payload: into this thread's reused buffer (zstd-native.ts; `borrowed`, the
 * next call overwrites it) where it can, else with zlib. Told the size, zlib writes the plaintext into
 * one buffer of that size; left to its 16 KiB default it writes 64 pieces per MiB and then joins them,
 * which took four times as long (~1.2 ms against ~0.3 ms per MiB measured) and four allocations per
 * byte restored.
 */
function decompress(payload: Uint8Array): { data: Buffer; borrowed: boolean } {
  const size = zstdContentSize(payload);
  if (size === null) return { data: zstdDecompressSync(payload), borrowed: false };
  const direct = decompressBorrowed(payload, size);
  if (direct !== null) return { data: direct, borrowed: true };
  // One byte over: an output buffer left exactly full makes zlib allocate another and join the two.
  return { data: zstdDecompressSync(payload, { chunkSize: Math.max(64, size + 1) }), borrowed: false };
}

/**
 * openChunk without the copy: a chunk opened into a reused buffer (decrypted and uncompressed, or
 * decompressed by zstd-native.ts) comes back `borrowed`, a view that the next call overwrites, for
 * callers that use it at once.
 */
export function openChunkBorrowed(blob: Uint8Array, id: string, keys: CodecKeys): { data: Buffer; borrowed: boolean } {
  let inner: Buffer;
  if (keys.encKey === null) {
    inner = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  } else {
    if (blob.length < NONCE + TAG + 1) throw new ChunkCorruptError(id, 'stored blob is too short');
    try {
      inner = decryptToScratch(blob, id, keys.encKey);
    } catch {
      throw new ChunkCorruptError(id, 'authentication failed (the stored bytes were altered, or belong to another chunk)');
    }
  }
  if (inner.length < 1) throw new ChunkCorruptError(id, 'stored blob is empty');
  const flags = inner[0]!;
  let opened: { data: Buffer; borrowed: boolean };
  if (flags === FLAG_ZSTD) {
    try {
      opened = decompress(inner.subarray(1));
    } catch {
      throw new ChunkCorruptError(id, 'compressed payload does not decompress');
    }
  } else if (flags === 0) {
    // A view of the decryption scratch on an encrypted bank, of the caller's blob on a plain one.
    opened = { data: inner.subarray(1), borrowed: keys.encKey !== null };
  } else {
    throw new ChunkCorruptError(id, `unknown flags ${flags}`);
  }
  if (chunkId(opened.data, keys.idKey) !== id) throw new ChunkCorruptError(id, 'content does not match its id');
  return opened;
}

const ENVELOPE_MAGIC = Buffer.from('BWKE1\n');

/**
 * Seals a small object (a chunk list, an index, a plugin's meta.json) on an encrypted bank.
 * `aad` names where it is stored, so an object moved to another key fails to open.
 */
export function sealObject(data: Buffer, aad: string, encKey: Buffer): Buffer {
  const nonce = randomBytes(NONCE);
  const cipher = createCipheriv('aes-256-gcm', encKey, nonce);
  cipher.setAAD(Buffer.from(aad));
  return Buffer.concat([ENVELOPE_MAGIC, nonce, cipher.update(data), cipher.final(), cipher.getAuthTag()]);
}

export const isSealedObject = (data: Buffer): boolean => data.subarray(0, ENVELOPE_MAGIC.length).equals(ENVELOPE_MAGIC);

/** Opens a sealed object; null when it is not authentic (altered, moved, or another key). */
export function openObject(data: Buffer, aad: string, encKey: Buffer): Buffer | null {
  const head = ENVELOPE_MAGIC.length;
  if (!isSealedObject(data) || data.length < head + NONCE + TAG) return null;
  try {
    const decipher = createDecipheriv('aes-256-gcm', encKey, data.subarray(head, head + NONCE));
    decipher.setAAD(Buffer.from(aad));
    decipher.setAuthTag(data.subarray(data.length - TAG));
    return Buffer.concat([decipher.update(data.subarray(head + NONCE, data.length - TAG)), decipher.final()]);
  } catch {
    return null;
  }
}

/** Bytes sealObject adds to an object (for logical sizes). */
export const SEALED_OVERHEAD = ENVELOPE_MAGIC.length + NONCE + TAG;
