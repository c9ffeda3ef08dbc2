/**
 * The S3 bank, loaded when first used. The AWS SDK is ~1.6 MB of script: every command that builds
 * the provider registry (all of them that touch a plan) would otherwise load and compile it, though
 * most banks are on local disk. Options are checked at once (s3-options.ts), so a bad configuration
 * is still reported when the registry is built, not at the first write.
 */
import type { Readable } from 'node:stream';
import type { BankPlugin, Lease, ListOptions, ObjectStat, PutOptions } from '../port.js';
import { s3BankLabel } from './s3-options.js';
import type { S3BankOptions } from './s3-options.js';

export class DeferredS3Bank implements BankPlugin {
  readonly kind = 's3';
  readonly label: string;
  private loaded: Promise<BankPlugin> | undefined;

  constructor(readonly options: S3BankOptions) {
    this.label = s3BankLabel(options);
  }

  private bank(): Promise<BankPlugin> {
    this.loaded ??= import('./s3.js').then(({ S3Bank }) => new S3Bank(this.options));
    return this.loaded;
  }

  async open(): Promise<void> {
    await (await this.bank()).open?.();
  }
  async putObject(key: string, data: Buffer | string, options?: PutOptions): Promise<void> {
    return (await this.bank()).putObject(key, data, options);
  }
  async putObjectStream(key: string, source: Readable | AsyncIterable<Buffer>, options?: PutOptions): Promise<ObjectStat> {
    return (await this.bank()).putObjectStream(key, source, options);
  }
  async getObject(key: string): Promise<Buffer> {
    return (await this.bank()).getObject(key);
  }
  async getObjectRange(key: string, offset: number, length: number): Promise<Buffer> {
    return (await this.bank()).getObjectRange(key, offset, length);
  }
  async getObjectStream(key: string): Promise<Readable> {
    return (await this.bank()).getObjectStream(key);
  }
  async statObject(key: string): Promise<ObjectStat | null> {
    return (await this.bank()).statObject(key);
  }
  async listObjects(prefix: string, options?: ListOptions): Promise<string[]> {
    return (await this.bank()).listObjects(prefix, options);
  }
  async deleteObject(key: string): Promise<void> {
    return (await this.bank()).deleteObject(key);
  }
  async acquireLease(owner: string, ttlMs: number, data?: Record<string, unknown>): Promise<Lease> {
    return (await this.bank()).acquireLease(owner, ttlMs, data);
  }
  async renewLease(lease: Lease, ttlMs: number): Promise<Lease> {
    return (await this.bank()).renewLease(lease, ttlMs);
  }
  async releaseLease(lease: Lease): Promise<void> {
    return (await this.bank()).releaseLease(lease);
  }
  async getLease(owner: string): Promise<Lease | null> {
    return (await this.bank()).getLease(owner);
  }
  async listLeases(): Promise<Lease[]> {
    return (await this.bank()).listLeases();
  }
  async breakLease(owner: string, token: string): Promise<boolean> {
    return (await this.bank()).breakLease(owner, token);
  }
  async removeStaleTemporaries(prefix: string, olderThan: Date): Promise<number> {
    return (await this.bank()).removeStaleTemporaries!(prefix, olderThan);
  }
  async close(): Promise<void> {
    // Never used: nothing was loaded, nothing to release.
    if (this.loaded !== undefined) await (await this.loaded).close();
  }
}
