import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { bwkError, isBulwarkError } from '../../core/errors.js';
import { LEASES, leaseKey } from '../layout.js';
import type { BankPlugin, Lease, ListOptions, ObjectStat } from '../port.js';

/*
 * Key rules shared by every adapter live here (the memory adapter is the reference one), so the fs
 * adapter and this one refuse exactly the same keys and list in exactly the same order.
 */

/** Names starting with this are an adapter's own scratch files (temp writes, lease tombstones). */
export const TEMP_PREFIX = '.tmp-';
export const MAX_KEY_LENGTH = 1024;

function keyProblem(key: string): string | null {
  if (typeof key !== 'string' || key === '') return 'keys are non-empty strings';
  if (key.length > MAX_KEY_LENGTH) return `keys are at most ${MAX_KEY_LENGTH} characters`;
  if (key.includes('\0') || key.includes('\\')) return 'keys contain no NUL or backslash';
  if (key.startsWith('/') || key.endsWith('/')) return 'keys neither start nor end with "/"';
  for (const segment of key.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') return 'keys have no empty, "." or ".." segments';
    if (segment.startsWith(TEMP_PREFIX)) return `segments starting with "${TEMP_PREFIX}" are reserved for the bank's temp files`;
  }
  return null;
}

/** Throws BWK_ERR_BANK_KEY_INVALID unless `key` is a valid object key; returns it. */
export function assertValidKey(key: string): string {
  const problem = keyProblem(key);
  if (problem !== null) throw bwkError('BWK_ERR_BANK_KEY_INVALID', { key: String(key).slice(0, 200), reason: problem });
  return key;
}

/**
 * A list prefix is a key that may end anywhere: '' and 'a/' are fine, but complete segments obey the
 * key rules so a prefix can never name something outside the bank.
 */
export function assertValidPrefix(prefix: string): string {
  if (typeof prefix !== 'string') throw bwkError('BWK_ERR_BANK_KEY_INVALID', { key: String(prefix), reason: 'prefixes are strings' });
  if (prefix === '') return prefix;
  const slash = prefix.lastIndexOf('/');
  const problem = prefix.length > MAX_KEY_LENGTH ? `prefixes are at most ${MAX_KEY_LENGTH} characters`
      : prefix.includes('\0') || prefix.includes('\\') ? 'prefixes contain no NUL or backslash'
        : slash >= 0 ? keyProblem(prefix.slice(0, slash)) : null;
  if (problem !== null) throw bwkError('BWK_ERR_BANK_KEY_INVALID', { key: String(prefix).slice(0, 200), reason: problem });
  return prefix;
}

/** Applies marker, sort and limit to keys already filtered by prefix and sorted ascending. */
export function pageKeys(sortedAsc: string[], options: ListOptions = {}): string[] {
  const desc = options.sort === 'desc';
  const { marker, limit } = options;
  let keys = marker === undefined ? sortedAsc : sortedAsc.filter((k) => (desc ? k < marker : k > marker));
  if (desc) keys = keys.slice().reverse();
  return limit === undefined ? keys : keys.slice(0, Math.max(0, limit));
}

/** JS string order (UTF-16 code units), the order every adapter lists in. */
export const compareKeys = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Parses a stored lease; null when the bytes are not a lease (treated as no valid lease). */
export function parseLease(bytes: Buffer | string): Lease | null {
  try {
    const v = JSON.parse(bytes.toString()) as Partial<Lease>;
    if (typeof v.owner !== 'string' || typeof v.token !== 'string' || typeof v.expiresAt !== 'number') return null;
    const data = v.data && typeof v.data === 'object' ? v.data : {};
    return { owner: v.owner, token: v.token, expiresAt: v.expiresAt, data };
  } catch {
    return null;
  }
}

export const leaseHeld = (lease: Lease): Error =>
  bwkError('BWK_ERR_LEASE_HELD', { owner: lease.owner, expires_at: new Date(lease.expiresAt).toISOString() });

export const leaseLost = (owner: string): Error => bwkError('BWK_ERR_LEASE_LOST', { owner });

export function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw bwkError('BWK_ERR_INVALID_INPUT', { reason: `bank streams carry bytes, got a chunk of type ${typeof chunk}` });
}

const READ_CHUNK = 64 * 1024;

/**
 * The in-memory bank: a real adapter (it passes the bank contract) for unit tests and throwaway
 * setups. Every method works synchronously under the hood, so check-then-set sequences (lease
 * acquisition) are atomic in a single process without locks. Buffers are copied in and out.
 */
export class MemoryBank implements BankPlugin {
  readonly kind = 'memory';
  private readonly objects = new Map<string, Buffer>();

  async putObject(key: string, data: Buffer | string): Promise<void> {
    assertValidKey(key);
    this.objects.set(key, Buffer.from(toBuffer(data)));
  }

  async putObjectStream(key: string, source: Readable | AsyncIterable<Buffer>): Promise<ObjectStat> {
    assertValidKey(key);
    const chunks: Buffer[] = [];
    // Pulling chunk by chunk is the back-pressure: the source produces only as fast as we copy.
    for await (const chunk of source) chunks.push(Buffer.from(toBuffer(chunk)));
    const data = Buffer.concat(chunks);
    this.objects.set(key, data);
    return { size: data.length };
  }

  async getObject(key: string): Promise<Buffer> {
    return Buffer.from(this.mustGet(key));
  }

  async getObjectRange(key: string, offset: number, length: number): Promise<Buffer> {
    const data = this.mustGet(key);
    if (offset + length > data.length) throw shortRange(key, offset, length, data.length);
    return Buffer.from(data.subarray(offset, offset + length));
  }

  async getObjectStream(key: string): Promise<Readable> {
    const data = Buffer.from(this.mustGet(key));
    function* pieces(): Generator<Buffer> {
      for (let at = 0; at < data.length; at += READ_CHUNK) yield data.subarray(at, at + READ_CHUNK);
    }
    return Readable.from(pieces(), { objectMode: false });
  }

  async statObject(key: string): Promise<ObjectStat | null> {
    const data = this.objects.get(assertValidKey(key));
    return data === undefined ? null : { size: data.length };
  }

  async listObjects(prefix: string, options: ListOptions = {}): Promise<string[]> {
    assertValidPrefix(prefix);
    const matching = [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort(compareKeys);
    return pageKeys(matching, options);
  }

  async deleteObject(key: string): Promise<void> {
    this.objects.delete(assertValidKey(key));
  }

  async acquireLease(owner: string, ttlMs: number, data: Record<string, unknown> = {}): Promise<Lease> {
    const key = assertValidKey(leaseKey(owner));
    const current = this.readLease(key);
    if (current !== null && current.expiresAt > Date.now()) throw leaseHeld(current);
    const lease: Lease = { owner, token: randomUUID(), expiresAt: Date.now() + ttlMs, data: structuredClone(data) };
    this.writeLease(key, lease);
    return structuredClone(lease);
  }

  async renewLease(lease: Lease, ttlMs: number): Promise<Lease> {
    const key = assertValidKey(leaseKey(lease.owner));
    const current = this.readLease(key);
    if (current === null || current.token !== lease.token) throw leaseLost(lease.owner);
    const renewed: Lease = { ...current, expiresAt: Date.now() + ttlMs };
    this.writeLease(key, renewed);
    return structuredClone(renewed);
  }

  async releaseLease(lease: Lease): Promise<void> {
    await this.breakLease(lease.owner, lease.token);
  }

  async getLease(owner: string): Promise<Lease | null> {
    return this.readLease(assertValidKey(leaseKey(owner)));
  }

  async listLeases(): Promise<Lease[]> {
    const keys = [...this.objects.keys()].filter((k) => k.startsWith(LEASES)).sort(compareKeys);
    return keys.map((k) => this.readLease(k)).filter((l): l is Lease => l !== null);
  }

  async breakLease(owner: string, token: string): Promise<boolean> {
    const key = assertValidKey(leaseKey(owner));
    const current = this.readLease(key);
    if (current === null || current.token !== token) return false;
    this.objects.delete(key);
    return true;
  }

  async close(): Promise<void> {
    // Nothing to release; the data lives as long as the instance.
  }

  private mustGet(key: string): Buffer {
    const data = this.objects.get(assertValidKey(key));
    if (data === undefined) throw bwkError('BWK_ERR_BANK_OBJECT_NOT_FOUND', { key });
    return data;
  }

  private readLease(key: string): Lease | null {
    const bytes = this.objects.get(key);
    return bytes === undefined ? null : parseLease(bytes);
  }

  private writeLease(key: string, lease: Lease): void {
    this.objects.set(key, Buffer.from(JSON.stringify(lease)));
  }
}

/** A range read past the end of an object: the object is not what its index says. */
export function shortRange(key: string, offset: number, length: number, size: number): Error {
  return bwkError('BWK_ERR_BANK_IO', { key, reason: `range ${offset}+${length} lies beyond the object's ${size} bytes` }, { details: { short_range: true } });
}

/** Whether a range read failed because the object is shorter than the range (truncated), not because I/O failed. */
export const isShortRange = (err: unknown): boolean => isBulwarkError(err, 'BWK_ERR_BANK_IO') && err.details?.['short_range'] === true;
