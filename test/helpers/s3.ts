/**
 * The S3 server the tests use: MinIO started by scripts/minio-dev.sh, which prints the
 * BULWARK_TEST_S3_* exports read here. Every bank gets a prefix of its own in one test bucket, so
 * tests (and engineers sharing the server) never see each other's objects.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, DeleteObjectsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { S3Bank } from '../../src/bank/adapters/s3.js';
import { parseS3Options } from '../../src/bank/adapters/s3-options.js';
import { requireService } from './services.js';

export const S3_BUCKET = process.env.BULWARK_TEST_S3_BUCKET ?? 'bulwark-test';

export const s3Endpoint = (): string | undefined => process.env.BULWARK_TEST_S3_ENDPOINT;

/** Skips (or fails under BULWARK_REQUIRE_SERVICES=1) unless the test S3 server answers. */
export function requireS3(ctx: Mocha.Context): string {
  return requireService(ctx, 'MinIO (scripts/minio-dev.sh start; BULWARK_TEST_S3_ENDPOINT)', s3Endpoint());
}

let credentialsFile: string | undefined;

/** An AWS shared-credentials file (0600) holding the test server's keys, as an operator would name in a provider. */
export function s3CredentialsFile(): string {
  if (credentialsFile === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'bwk-s3-cred-'));
    credentialsFile = join(dir, 'credentials');
    const id = process.env.BULWARK_TEST_S3_ACCESS_KEY ?? '';
    const secret = process.env.BULWARK_TEST_S3_SECRET_KEY ?? '';
    writeFileSync(credentialsFile, `[default]\naws_access_key_id = ${id}\naws_secret_access_key = ${secret}\n`, { mode: 0o600 });
  }
  return credentialsFile;
}

function adminClient(): S3Client {
  return new S3Client({
    region: 'us-east-1',
    endpoint: s3Endpoint(),
    forcePathStyle: true,
    credentials: {
      accessKeyId: process.env.BULWARK_TEST_S3_ACCESS_KEY ?? '',
      secretAccessKey: process.env.BULWARK_TEST_S3_SECRET_KEY ?? '',
    },
  });
}

let bucketReady: Promise<void> | undefined;

/** Creates the test bucket once per process (it may exist from an earlier run). */
export function ensureTestBucket(): Promise<void> {
  bucketReady ??= (async () => {
    const client = adminClient();
    try {
      await client.send(new CreateBucketCommand({ Bucket: S3_BUCKET })).catch((err: unknown) => {
        const name = (err as { name?: string }).name;
        if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw err;
      });
    } finally {
      client.destroy();
    }
  })();
  return bucketReady;
}

/** A fresh prefix (`<label>-<random>/`) in the test bucket. */
export const freshPrefix = (label = 't'): string => `${label}-${randomUUID().slice(0, 12)}/`;

/** The provider `bank.options` of an s3 bank on the test server under `prefix`. */
export function s3BankOptions(prefix: string): Record<string, unknown> {
  return {
    bucket: S3_BUCKET,
    prefix,
    endpoint: s3Endpoint(),
    force_path_style: true,
    region: 'us-east-1',
    credentials_file: s3CredentialsFile(),
    part_size: 5 * 1024 * 1024,
  };
}

/** A bank on the test server under `prefix` (a fresh one by default), built as the factory builds it. */
export function testS3Bank(prefix = freshPrefix()): S3Bank {
  return new S3Bank(parseS3Options(s3BankOptions(prefix), tmpdir()));
}

/** Deletes every object under `prefix` (what a test left in the bucket). */
export async function emptyPrefix(prefix: string): Promise<void> {
  const client = adminClient();
  try {
    for (;;) {
      const page = await client.send(new ListObjectsV2Command({ Bucket: S3_BUCKET, Prefix: prefix }));
      const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
      if (keys.length === 0) return;
      await client.send(new DeleteObjectsCommand({ Bucket: S3_BUCKET, Delete: { Objects: keys, Quiet: true } }));
    }
  } finally {
    client.destroy();
  }
}
