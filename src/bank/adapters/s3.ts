import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type GetObjectCommandOutput,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { fromIni } from '@aws-sdk/credential-providers';
import { bwkError } from '../../core/errors.js';
import { assertValidKey, assertValidPrefix, compareKeys, pageKeys } from '../key-rules.js';
import { PACKS } from '../layout.js';
import { shortRange, toBuffer } from '../object-rules.js';
import type { BankPlugin, Lease, ListOptions, ObjectStat, PutOptions } from '../port.js';
import { probeConditionalWrites } from './s3-probe.js';
import { s3Error, isConditionFailed, isMissing } from './s3-errors.js';
import { S3LeaseStore } from './s3-leases.js';
import { ReadAhead } from './s3-read-ahead.js';
import { s3BankLabel, type S3BankOptions } from './s3-options.js';

/** ListObjectsV2 returns at most this many keys a request. */
const PAGE = 1000;
const CHECKSUM = 'SHA256';

/**
 * The S3 bank: one object per key under `prefix` in `bucket`, on AWS or an S3-compatible server.
 * Whole-object puts are atomic on S3; streams go up as multipart uploads (lib-storage) that become
 * visible only when completed, and are aborted on failure. Every put carries a SHA-256 the server
 * checks, and whole-object reads are checked against it by the SDK. Leases and create-only writes
 * rely on conditional writes, which open() proves the server honours before anything else is done.
 */
export class S3Bank implements BankPlugin {
  readonly kind = 's3';
  readonly label: string;
  private readonly client: S3Client;
  private readonly leases: S3LeaseStore;
  private opening: Promise<void> | undefined;
  private readonly readAhead = new ReadAhead((key, offset, length) => this.fetchRange(key, offset, length));

  constructor(readonly options: S3BankOptions) {
    this.label = s3BankLabel(options);
    this.client = new S3Client({
      region: options.region,
      forcePathStyle: options.forcePathStyle,
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      ...(options.credentialsFile === undefined
        ? {}
        : {
            credentials: fromIni({ filepath: options.credentialsFile, configFilepath: options.credentialsFile, profile: options.profile }),
          }),
      // The SDK validates whole-object checksums it is given on reads; on writes we ask for SHA-256 explicitly.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_SUPPORTED',
    });
    this.leases = new S3LeaseStore({
      read: (key) => this.readWithEtag(key),
      write: (key, bytes, condition) => this.writeConditional(key, bytes, condition),
      remove: (key) => this.deleteObject(key),
      listObjects: (prefix) => this.listObjects(prefix),
    });
  }

  /**
   * Checks the bucket is reachable with the configured credentials and that the server honours
   * conditional PUTs (BWK_ERR_BANK_CONDITIONAL_WRITES_UNSUPPORTED otherwise). Every method waits
   * for it, so a bank that fails it is never used; a success is remembered, a failure is not.
   */
  open(): Promise<void> {
    this.opening ??= probeConditionalWrites(this.client, this.options, this.label).catch((err: unknown) => {
      this.opening = undefined;
      throw err;
    });
    return this.opening;
  }

  async putObject(key: string, data: Buffer | string, options: PutOptions = {}): Promise<void> {
    assertValidKey(key);
    await this.open();
    this.readAhead.drop(key);
    // A copy: the SDK may still be reading the body when a caller reuses its buffer.
    const body = Buffer.from(toBuffer(data));
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.options.bucket,
          Key: this.full(key),
          Body: body,
          ChecksumAlgorithm: CHECKSUM,
          ...(options.ifAbsent === true ? { IfNoneMatch: '*' } : {}),
        }),
      );
    } catch (err) {
      if (options.ifAbsent === true && isConditionFailed(err)) throw bwkError('BWK_ERR_BANK_OBJECT_EXISTS', { key });
      throw s3Error(key, err, this.label);
    }
  }

  async putObjectStream(key: string, source: Readable | AsyncIterable<Buffer>, options: PutOptions = {}): Promise<ObjectStat> {
    assertValidKey(key);
    // A source already flowing (a caller's 'data' listener) would lose chunks while we connect.
    if (source instanceof Readable) source.pause();
    await this.open();
    this.readAhead.drop(key);
    let size = 0;
    async function* counted(): AsyncGenerator<Buffer> {
      for await (const chunk of source) {
        const bytes = toBuffer(chunk);
        size += bytes.length;
        yield bytes;
      }
    }
    const upload = new Upload({
      client: this.client,
      queueSize: 2,
      partSize: this.options.partSize,
      // A failed stream aborts the multipart upload: no parts are left behind, no object appears.
      leavePartsOnError: false,
      params: {
        Bucket: this.options.bucket,
        Key: this.full(key),
        Body: Readable.from(counted()),
        ChecksumAlgorithm: CHECKSUM,
        ...(options.ifAbsent === true ? { IfNoneMatch: '*' } : {}),
      },
    });
    try {
      await upload.done();
    } catch (err) {
      if (options.ifAbsent === true && isConditionFailed(err)) throw bwkError('BWK_ERR_BANK_OBJECT_EXISTS', { key });
      throw s3Error(key, err, this.label);
    }
    return { size };
  }

  async getObject(key: string): Promise<Buffer> {
    const out = await this.get(key, { ChecksumMode: 'ENABLED' });
    try {
      return Buffer.from(await out.Body!.transformToByteArray());
    } catch (err) {
      throw s3Error(key, err, this.label);
    }
  }

  async getObjectRange(key: string, offset: number, length: number): Promise<Buffer> {
    assertValidKey(key);
    if (length === 0) {
      // S3 has no empty range; the object must still exist and reach the offset.
      const stat = await this.statObject(key);
      if (stat === null) throw bwkError('BWK_ERR_BANK_OBJECT_NOT_FOUND', { key });
      if (offset > stat.size) throw shortRange(key, offset, length, stat.size);
      return Buffer.alloc(0);
    }
    const bytes = key.startsWith(PACKS) ? await this.readAhead.read(key, offset, length) : await this.fetchRange(key, offset, length);
    if (bytes.length < length) throw shortRange(key, offset, length, offset + bytes.length);
    return bytes;
  }

  /** Up to `length` bytes at `offset`: fewer when the object ends first, none when it ends before `offset`. */
  private async fetchRange(key: string, offset: number, length: number): Promise<Buffer> {
    let out: GetObjectCommandOutput;
    try {
      out = await this.get(key, { Range: `bytes=${offset}-${offset + length - 1}` });
    } catch (err) {
      // 416: the range starts at or past the end.
      if (
        (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 416 ||
        (err as Error).name === 'InvalidRange'
      ) {
        return Buffer.alloc(0);
      }
      throw err;
    }
    try {
      return Buffer.from(await out.Body!.transformToByteArray());
    } catch (err) {
      throw s3Error(key, err, this.label);
    }
  }

  async getObjectStream(key: string): Promise<Readable> {
    const out = await this.get(key, { ChecksumMode: 'ENABLED' });
    // In Node the body is an http.IncomingMessage (a Readable): it streams with back-pressure.
    return out.Body as Readable;
  }

  async statObject(key: string): Promise<ObjectStat | null> {
    assertValidKey(key);
    await this.open();
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.options.bucket, Key: this.full(key) }));
      return { size: head.ContentLength ?? 0 };
    } catch (err) {
      if (isMissing(err)) return null;
      throw s3Error(key, err, this.label);
    }
  }

  async listObjects(prefix: string, options: ListOptions = {}): Promise<string[]> {
    assertValidPrefix(prefix);
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    if (limit <= 0) return [];
    await this.open();
    const desc = options.sort === 'desc';
    // S3 lists ascending only: an ascending page starts after the marker on the server; a descending
    // one needs every key under the prefix (pageKeys then applies marker, order and limit).
    const startAfter = !desc && options.marker !== undefined && options.marker > prefix ? options.marker : undefined;
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client
        .send(
          new ListObjectsV2Command({
            Bucket: this.options.bucket,
            Prefix: this.full(prefix),
            MaxKeys: desc ? PAGE : Math.min(PAGE, limit - keys.length + 1),
            ...(token === undefined
              ? startAfter === undefined
                ? {}
                : { StartAfter: this.full(startAfter) }
              : { ContinuationToken: token }),
          }),
        )
        .catch((err: unknown) => {
          throw s3Error(prefix, err, this.label);
        });
      for (const o of page.Contents ?? []) {
        const key = o.Key?.slice(this.options.prefix.length);
        if (key !== undefined && this.isBankKey(key)) keys.push(key);
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined && (desc || keys.length < limit));
    // S3 sorts by UTF-8 bytes, the port by UTF-16 code units: they differ only past U+FFFF, which sort() settles.
    keys.sort(compareKeys);
    return pageKeys(keys, options);
  }

  async deleteObject(key: string): Promise<void> {
    assertValidKey(key);
    await this.open();
    this.readAhead.drop(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key: this.full(key) }));
    } catch (err) {
      if (!isMissing(err)) throw s3Error(key, err, this.label);
    }
  }

  async acquireLease(owner: string, ttlMs: number, data: Record<string, unknown> = {}): Promise<Lease> {
    await this.open();
    return this.leases.acquire(owner, ttlMs, data);
  }

  async renewLease(lease: Lease, ttlMs: number): Promise<Lease> {
    await this.open();
    return this.leases.renew(lease, ttlMs);
  }

  async releaseLease(lease: Lease): Promise<void> {
    await this.open();
    await this.leases.break(lease.owner, lease.token);
  }

  async getLease(owner: string): Promise<Lease | null> {
    await this.open();
    return this.leases.get(owner);
  }

  async listLeases(): Promise<Lease[]> {
    await this.open();
    return this.leases.list();
  }

  async breakLease(owner: string, token: string): Promise<boolean> {
    await this.open();
    return this.leases.break(owner, token);
  }

  /**
   * Aborts multipart uploads under `prefix` started before `olderThan`: what a process killed in
   * mid-upload leaves (invisible, but stored and billed until aborted). Servers that list uploads
   * only by exact key (MinIO) return none here; they expire stale uploads themselves.
   */
  async removeStaleTemporaries(prefix: string, olderThan: Date): Promise<number> {
    assertValidPrefix(prefix);
    await this.open();
    let removed = 0;
    let keyMarker: string | undefined;
    let uploadMarker: string | undefined;
    for (;;) {
      const page = await this.client
        .send(
          new ListMultipartUploadsCommand({
            Bucket: this.options.bucket,
            Prefix: this.full(prefix),
            ...(keyMarker === undefined ? {} : { KeyMarker: keyMarker, UploadIdMarker: uploadMarker }),
          }),
        )
        .catch((err: unknown) => {
          throw s3Error(prefix, err, this.label);
        });
      for (const u of page.Uploads ?? []) {
        if (u.Key === undefined || u.UploadId === undefined || (u.Initiated?.getTime() ?? 0) >= olderThan.getTime()) continue;
        await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.options.bucket, Key: u.Key, UploadId: u.UploadId })).then(
          () => removed++,
          (err: unknown) => {
            if (!isMissing(err)) throw s3Error(u.Key!, err, this.label);
          },
        );
      }
      if (page.IsTruncated !== true) return removed;
      keyMarker = page.NextKeyMarker;
      uploadMarker = page.NextUploadIdMarker;
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  private full(key: string): string {
    return this.options.prefix + key;
  }

  /** Objects under the prefix that are not bank keys (probe leftovers, foreign files) are never listed. */
  private isBankKey(key: string): boolean {
    try {
      assertValidKey(key);
      return true;
    } catch {
      return false;
    }
  }

  private async get(key: string, extra: { ChecksumMode?: 'ENABLED'; Range?: string }): Promise<GetObjectCommandOutput> {
    assertValidKey(key);
    await this.open();
    try {
      return await this.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: this.full(key), ...extra }));
    } catch (err) {
      if (isMissing(err)) throw bwkError('BWK_ERR_BANK_OBJECT_NOT_FOUND', { key });
      if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 416) throw err;
      throw s3Error(key, err, this.label);
    }
  }

  private async readWithEtag(key: string): Promise<{ bytes: Buffer; etag: string } | null> {
    let out: GetObjectCommandOutput;
    try {
      out = await this.get(key, { ChecksumMode: 'ENABLED' });
    } catch (err) {
      if ((err as { code?: string }).code === 'BWK_ERR_BANK_OBJECT_NOT_FOUND') return null;
      throw err;
    }
    const bytes = Buffer.from(await out.Body!.transformToByteArray());
    return { bytes, etag: out.ETag ?? '' };
  }

  private async writeConditional(key: string, bytes: Buffer, condition: { ifNoneMatch: true } | { ifMatch: string }): Promise<boolean> {
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.options.bucket,
          Key: this.full(key),
          Body: bytes,
          ChecksumAlgorithm: CHECKSUM,
          ...('ifMatch' in condition ? { IfMatch: condition.ifMatch } : { IfNoneMatch: '*' }),
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailed(err) || ('ifMatch' in condition && isMissing(err))) return false;
      throw s3Error(key, err, this.label);
    }
  }
}
