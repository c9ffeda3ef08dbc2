import type { Readable } from 'node:stream';
import type { BankPlugin, Lease, ListOptions, ObjectStat, PutOptions } from '../port.js';

/** What a CountingBank has seen since it was made or last reset. */
export interface BankCounts {
  /** getObject + getObjectStream calls. */
  objectsRead: number;
  /** listObjects calls. */
  lists: number;
  /** Keys returned by all listObjects calls together. */
  keysListed: number;
  /** getObjectRange calls (also counted in objectsRead). */
  rangeReads: number;
  /** putObject + putObjectStream calls. */
  objectsWritten: number;
  /** Bytes of all writes together (what a checkpoint costs the bank). */
  bytesWritten: number;
}

const zero = (): BankCounts => ({ objectsRead: 0, lists: 0, keysListed: 0, rangeReads: 0, objectsWritten: 0, bytesWritten: 0 });

/**
 * A decorator that passes every call to another bank and counts reads, writes and listings. Tests use
 * it to prove access patterns (listing checkpoints reads index entries and N records, never every
 * object), which a wall-clock measurement could not prove.
 */
export class CountingBank implements BankPlugin {
  readonly kind: string;
  readonly counts: BankCounts = zero();

  constructor(readonly inner: BankPlugin) {
    this.kind = `counting(${inner.kind})`;
  }

  get localDirectory(): string | undefined {
    return this.inner.localDirectory;
  }

  /** Sets every counter back to zero. */
  reset(): void {
    Object.assign(this.counts, zero());
  }

  open(): Promise<void> {
    return this.inner.open?.() ?? Promise.resolve();
  }

  putObject(key: string, data: Buffer | string, options?: PutOptions): Promise<void> {
    this.counts.objectsWritten++;
    this.counts.bytesWritten += Buffer.byteLength(data);
    return this.inner.putObject(key, data, options);
  }

  async putObjectStream(key: string, source: Readable | AsyncIterable<Buffer>, options?: PutOptions): Promise<ObjectStat> {
    this.counts.objectsWritten++;
    const stat = await this.inner.putObjectStream(key, source, options);
    this.counts.bytesWritten += stat.size;
    return stat;
  }

  removeStaleTemporaries(prefix: string, olderThan: Date): Promise<number> {
    return this.inner.removeStaleTemporaries?.(prefix, olderThan) ?? Promise.resolve(0);
  }

  getObject(key: string): Promise<Buffer> {
    this.counts.objectsRead++;
    return this.inner.getObject(key);
  }

  getObjectRange(key: string, offset: number, length: number): Promise<Buffer> {
    this.counts.objectsRead++;
    this.counts.rangeReads++;
    return this.inner.getObjectRange(key, offset, length);
  }

  getObjectStream(key: string): Promise<Readable> {
    this.counts.objectsRead++;
    return this.inner.getObjectStream(key);
  }

  statObject(key: string): Promise<ObjectStat | null> {
    return this.inner.statObject(key);
  }

  async listObjects(prefix: string, options?: ListOptions): Promise<string[]> {
    this.counts.lists++;
    const keys = await this.inner.listObjects(prefix, options);
    this.counts.keysListed += keys.length;
    return keys;
  }

  deleteObject(key: string): Promise<void> {
    return this.inner.deleteObject(key);
  }

  acquireLease(owner: string, ttlMs: number, data?: Record<string, unknown>): Promise<Lease> {
    return this.inner.acquireLease(owner, ttlMs, data);
  }

  renewLease(lease: Lease, ttlMs: number): Promise<Lease> {
    return this.inner.renewLease(lease, ttlMs);
  }

  releaseLease(lease: Lease): Promise<void> {
    return this.inner.releaseLease(lease);
  }

  getLease(owner: string): Promise<Lease | null> {
    return this.inner.getLease(owner);
  }

  listLeases(): Promise<Lease[]> {
    return this.inner.listLeases();
  }

  breakLease(owner: string, token: string): Promise<boolean> {
    return this.inner.breakLease(owner, token);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
