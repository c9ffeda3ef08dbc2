import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { bwkError } from '../../core/errors.js';
import { assertValidKey, assertValidPrefix, compareKeys, pageKeys } from '../key-rules.js';
import { LEASES, leaseKey } from '../layout.js';
import { leaseHeld, leaseLost, parseLease } from '../lease-rules.js';
import { shortRange, toBuffer } from '../object-rules.js';
import type { BankPlugin, Lease, ListOptions, ObjectStat, PutOptions } from '../port.js';

const READ_CHUNK = 64 * 1024;

/**
 * The in-memory bank: a real adapter (it passes the bank contract) for unit tests and throwaway
 * setups. Every method works synchronously under the hood, so check-then-set sequences (lease
 * acquisition) are atomic in a single process without locks. Buffers are copied in and out.
 */
export class MemoryBank implements BankPlugin {
  readonly kind = 'memory';
  private readonly objects = new Map<string, Buffer>();

  async putObject(key: string, data: Buffer | string, options: PutOptions = {}): Promise<void> {
    assertValidKey(key);
    this.refuseExisting(key, options);
    this.objects.set(key, Buffer.from(toBuffer(data)));
  }

  async putObjectStream(key: string, source: Readable | AsyncIterable<Buffer>, options: PutOptions = {}): Promise<ObjectStat> {
    assertValidKey(key);
    const chunks: Buffer[] = [];
    // Pulling chunk by chunk is the back-pressure: the source produces only as fast as we copy.
    for await (const chunk of source) chunks.push(Buffer.from(toBuffer(chunk)));
    const data = Buffer.concat(chunks);
    // Checked when the object would become visible, as a conditional PUT is.
    this.refuseExisting(key, options);
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

  private refuseExisting(key: string, options: PutOptions): void {
    if (options.ifAbsent === true && this.objects.has(key)) throw bwkError('BWK_ERR_BANK_OBJECT_EXISTS', { key });
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
