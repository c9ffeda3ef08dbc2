/**
 * The `records` object of a `redis.instance` checkpoint: the 8-byte magic `BWKRDS01`, then one
 * record per key, back to back (all integers big-endian):
 *
 *   u32 key length | key bytes | u8 type length | type (ASCII, what TYPE answered) |
 *   i64 pttl (-1: no expiry, else remaining ms) | u32 payload length | DUMP payload |
 *   32-byte SHA-256 of everything before it in this record
 *
 * The per-record hash lets restore refuse a record that changed in the bank between its checking
 * pass and its writing pass before that record reaches Redis; meta.json holds the whole object's hash.
 */
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import type { Readable } from 'node:stream';

export const RECORDS_OBJECT = 'records';
export const RECORDS_MAGIC = Buffer.from('BWKRDS01', 'ascii');
const SHA_LEN = 32;
/** Redis refuses keys over 512 MiB; a longer length can only be corruption. */
const MAX_KEY = 512 * 1024 * 1024;
const MAX_TYPE = 64;

/** One key as stored. `pttl` is -1 for a key without expiry. */
export interface KeyRecord {
  key: Buffer;
  type: string;
  pttl: number;
  payload: Buffer;
}

/** The bytes of one record, hash included. */
export function encodeRecord(r: KeyRecord): Buffer {
  if (r.payload.length > 0xffff_ffff)
    throw new RangeError(`DUMP payload of ${r.payload.length} bytes exceeds the record format's 4 GiB limit`);
  const type = Buffer.from(r.type, 'ascii');
  if (type.length === 0 || type.length > MAX_TYPE)
    throw new RangeError(`type name "${r.type}" does not fit the record format (1..${MAX_TYPE} bytes)`);
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE(r.key.length);
  const mid = Buffer.allocUnsafe(1 + type.length + 8 + 4);
  mid.writeUInt8(type.length, 0);
  type.copy(mid, 1);
  mid.writeBigInt64BE(BigInt(r.pttl), 1 + type.length);
  mid.writeUInt32BE(r.payload.length, 1 + type.length + 8);
  const body = Buffer.concat([head, r.key, mid, r.payload]);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

/** Exact-length reads from a stream, buffering only what the current read needs. */
class ChunkQueue {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;

  constructor(private readonly iterator: AsyncIterator<Buffer | string>) {}

  /** Whether `n` bytes are available (false when the stream ends first). */
  async fill(n: number): Promise<boolean> {
    while (this.buffered < n && !this.ended) {
      const r = await this.iterator.next();
      if (r.done) {
        this.ended = true;
        break;
      }
      const b = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
      if (b.length > 0) {
        this.chunks.push(b);
        this.buffered += b.length;
      }
    }
    return this.buffered >= n;
  }

  /** Removes and returns `n` buffered bytes (call fill(n) first). */
  take(n: number): Buffer {
    const first = this.chunks[0];
    if (first !== undefined && first.length >= n) {
      this.chunks[0] = first.subarray(n);
      if (first.length === n) this.chunks.shift();
      this.buffered -= n;
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    let used = 0;
    while (off < n) {
      const c = this.chunks[used]!;
      const k = Math.min(c.length, n - off);
      c.copy(out, off, 0, k);
      off += k;
      if (k === c.length) used++;
      else this.chunks[used] = c.subarray(k);
    }
    this.chunks.splice(0, used);
    this.buffered -= n;
    return out;
  }
}

/**
 * Streams records out of a `records` object, checking the magic, every length against the bytes
 * left and every record's own hash; `count`, `bytes` and `sha256()` describe what was read, for the
 * caller to compare with meta.json once the iteration ends. Any problem throws `corrupt(reason)`.
 */
export class RecordReader {
  count = 0;
  bytes = 0;
  private readonly hash: Hash = createHash('sha256');
  private readonly queue: ChunkQueue;

  /** `expectedBytes`: the object's size per meta.json; no length field may claim more than is left of it. */
  constructor(
    private readonly stream: Readable,
    private readonly expectedBytes: number,
    private readonly corrupt: (reason: string) => Error,
  ) {
    this.queue = new ChunkQueue(stream[Symbol.asyncIterator]());
  }

  private async take(n: number, what: string, recordHash?: Hash): Promise<Buffer> {
    if (n > this.expectedBytes - this.bytes)
      throw this.corrupt(`record ${this.count + 1}: ${what} of ${n} bytes runs past the ${this.expectedBytes} bytes meta.json records`);
    if (!(await this.queue.fill(n)))
      throw this.corrupt(`${RECORDS_OBJECT} ends inside record ${this.count + 1} (${what}): it is truncated`);
    const b = this.queue.take(n);
    this.hash.update(b);
    recordHash?.update(b);
    this.bytes += n;
    return b;
  }

  async *records(): AsyncGenerator<KeyRecord> {
    try {
      if (!(await this.take(RECORDS_MAGIC.length, 'the header')).equals(RECORDS_MAGIC))
        throw this.corrupt(`${RECORDS_OBJECT} does not start with ${RECORDS_MAGIC.toString('ascii')}`);
      while (await this.queue.fill(1)) {
        const h = createHash('sha256');
        const keyLen = (await this.take(4, 'the key length', h)).readUInt32BE(0);
        if (keyLen > MAX_KEY) throw this.corrupt(`record ${this.count + 1} claims a ${keyLen}-byte key`);
        const key = await this.take(keyLen, 'the key', h);
        const typeLen = (await this.take(1, 'the type length', h)).readUInt8(0);
        if (typeLen === 0 || typeLen > MAX_TYPE) throw this.corrupt(`record ${this.count + 1} claims a ${typeLen}-byte type name`);
        const type = (await this.take(typeLen, 'the type', h)).toString('latin1');
        const pttl = (await this.take(8, 'the TTL', h)).readBigInt64BE(0);
        if (pttl < -1n || pttl > BigInt(Number.MAX_SAFE_INTEGER))
          throw this.corrupt(`record ${this.count + 1} has an impossible TTL ${pttl}`);
        const payloadLen = (await this.take(4, 'the payload length', h)).readUInt32BE(0);
        const payload = await this.take(payloadLen, 'the payload', h);
        const sha = await this.take(SHA_LEN, 'the record hash');
        if (!sha.equals(h.digest())) throw this.corrupt(`record ${this.count + 1} does not match its SHA-256`);
        this.count++;
        yield { key, type, pttl: Number(pttl), payload };
      }
    } finally {
      this.stream.destroy();
    }
  }

  /** SHA-256 (hex) of every byte read; valid once `records()` has finished. */
  sha256(): string {
    return this.hash.digest('hex');
  }
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** A key for messages: UTF-8 text as is, other bytes as \xNN, cut at 120 characters. */
export function displayKey(key: Buffer): string {
  let text: string;
  try {
    text = utf8Strict.decode(key);
    if ([...text].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) throw new Error('control characters');
  } catch {
    text = [...key]
      .map((b) => (b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`))
      .join('');
  }
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
