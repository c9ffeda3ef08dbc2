/**
 * The S3 rows of the benchmark: Bulwark's s3 bank and restic's S3 backend on the same MinIO
 * (scripts/minio-dev.sh start prints the BULWARK_TEST_S3_* variables read here), each under a prefix
 * of its own in one bucket. Stored bytes are the sizes of the objects under that prefix.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { exec } from './measure.js';

export const BENCH_BUCKET = 'bulwark-bench';

export interface S3Target {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
  /** A fresh prefix per run (`<tool>-<random>/`). */
  prefix: string;
}

/** The MinIO of scripts/minio-dev.sh, or an error saying how to start it. */
export function s3Target(tool: string): S3Target {
  const endpoint = process.env.BULWARK_TEST_S3_ENDPOINT;
  const accessKey = process.env.BULWARK_TEST_S3_ACCESS_KEY;
  const secretKey = process.env.BULWARK_TEST_S3_SECRET_KEY;
  if (!endpoint || !accessKey || !secretKey) {
    throw new Error('no S3 server: run `eval "$(bash scripts/minio-dev.sh start)"` first (sets BULWARK_TEST_S3_*)');
  }
  return { endpoint, accessKey, secretKey, bucket: BENCH_BUCKET, prefix: `${tool}-${randomBytes(4).toString('hex')}/` };
}

/** An AWS credentials file (0600) for the target, in `dir`: Bulwark's provider names it, never the keys. */
export function credentialsFile(t: S3Target, dir: string): string {
  const file = join(dir, 'aws-credentials');
  writeFileSync(file, `[default]\naws_access_key_id = ${t.accessKey}\naws_secret_access_key = ${t.secretKey}\n`, { mode: 0o600 });
  return file;
}

const client = (t: S3Target): S3Client =>
  new S3Client({
    region: 'us-east-1',
    endpoint: t.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: t.accessKey, secretAccessKey: t.secretKey },
  });

/** Creates the bucket when missing (setup is synchronous, so in a child process). */
export function ensureBucket(t: S3Target): void {
  const script = `
    import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
    const c = new S3Client({ region: 'us-east-1', endpoint: process.env.EP, forcePathStyle: true,
      credentials: { accessKeyId: process.env.AK, secretAccessKey: process.env.SK } });
    await c.send(new CreateBucketCommand({ Bucket: process.env.BUCKET })).catch((e) => {
      if (e.name !== 'BucketAlreadyOwnedByYou' && e.name !== 'BucketAlreadyExists') throw e;
    });`;
  exec({
    argv: [process.execPath, '--input-type=module', '-e', script],
    cwd: new URL('../..', import.meta.url).pathname,
    env: { EP: t.endpoint, AK: t.accessKey, SK: t.secretKey, BUCKET: t.bucket },
  });
}

/** Bytes of every object under the target's prefix. */
export async function storedBytes(t: S3Target): Promise<number> {
  const c = client(t);
  let total = 0;
  let token: string | undefined;
  try {
    do {
      const page = await c.send(
        new ListObjectsV2Command({ Bucket: t.bucket, Prefix: t.prefix, ...(token === undefined ? {} : { ContinuationToken: token }) }),
      );
      for (const o of page.Contents ?? []) total += o.Size ?? 0;
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  } finally {
    c.destroy();
  }
  return total;
}
