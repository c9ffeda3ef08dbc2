import { isAbsolute, resolve } from 'node:path';
import { bwkError } from '../../core/errors.js';

/**
 * The `s3` bank's provider options (`bank: {type: s3, options: {...}}`), checked before any client is
 * built. Secrets never appear here: credentials come from the standard AWS chain (environment,
 * ~/.aws, instance roles) or from an AWS credentials file the options name.
 */
export interface S3BankOptions {
  bucket: string;
  /** Key prefix inside the bucket ('' or ending in '/'), so several banks can share one bucket. */
  prefix: string;
  /** An S3-compatible server's URL (MinIO, Ceph...); absent for AWS itself. */
  endpoint?: string;
  forcePathStyle: boolean;
  region: string;
  /** An AWS shared-credentials file (INI) and the profile to read from it. */
  credentialsFile?: string;
  profile?: string;
  /** Part size of multipart uploads (bytes); streams smaller than one part go in one PUT. */
  partSize: number;
}

const MiB = 1024 * 1024;
const KNOWN = ['bucket', 'prefix', 'endpoint', 'force_path_style', 'region', 'credentials_file', 'profile', 'part_size'];
/** Keys people put secrets under; refused by name so the message can say where secrets go instead. */
const SECRET_KEYS = /^(access_key(_id)?|secret(_access)?_key|session_token|aws_.*|credentials|password|secret)$/i;
// S3's bucket naming rules (lowercase, digits, dots, hyphens; 3 to 63 characters).
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

const invalid = (reason: string): Error => bwkError('BWK_ERR_INVALID_INPUT', { reason: `s3 bank: ${reason}` });

function optionalString(options: Record<string, unknown>, name: string): string | undefined {
  const v = options[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') throw invalid(`option "${name}" must be a non-empty string (got ${JSON.stringify(v)})`);
  return v;
}

/** Validates provider options; relative credential files follow the Bulwark home, as fs bank paths do. */
export function parseS3Options(options: Record<string, unknown>, home: string): S3BankOptions {
  for (const name of Object.keys(options)) {
    if (SECRET_KEYS.test(name)) {
      throw invalid(
        `option "${name}" would put a secret in the provider file: name an AWS credentials file with credentials_file ` +
          '(and profile), or use the AWS environment (AWS_ACCESS_KEY_ID, AWS_PROFILE, an instance role)',
      );
    }
    if (!KNOWN.includes(name)) throw invalid(`unknown option "${name}" (known: ${KNOWN.join(', ')})`);
  }
  const bucket = optionalString(options, 'bucket');
  if (bucket === undefined) throw invalid('option "bucket" is required');
  if (!BUCKET.test(bucket) || bucket.includes('..')) throw invalid(`bucket "${bucket}" is not a valid S3 bucket name`);
  let prefix = optionalString(options, 'prefix') ?? '';
  if (prefix !== '' && !prefix.endsWith('/')) prefix += '/';
  if (prefix.startsWith('/') || prefix.includes('//') || prefix.split('/').some((s) => s === '.' || s === '..') || /[\0\\]/.test(prefix)) {
    throw invalid(`prefix "${prefix}" must be relative ("team/bank"), without empty, "." or ".." segments`);
  }
  const endpoint = optionalString(options, 'endpoint');
  if (endpoint !== undefined) {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw invalid(`endpoint "${endpoint}" is not a URL (http://host:port or https://host)`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid(`endpoint "${endpoint}" must be http:// or https://`);
    if (url.username !== '' || url.password !== '') throw invalid('endpoint must not carry credentials: use credentials_file');
  }
  const pathStyle = options['force_path_style'] ?? false;
  if (typeof pathStyle !== 'boolean') throw invalid(`option "force_path_style" must be true or false (got ${JSON.stringify(pathStyle)})`);
  const region = optionalString(options, 'region') ?? process.env.AWS_REGION ?? 'us-east-1';
  const file = optionalString(options, 'credentials_file');
  const profile = optionalString(options, 'profile');
  if (profile !== undefined && file === undefined) throw invalid('option "profile" needs "credentials_file" (or set AWS_PROFILE)');
  const partSize = options['part_size'] ?? 8 * MiB;
  // S3 refuses parts under 5 MiB (but the last); 5 GiB is its largest.
  if (typeof partSize !== 'number' || !Number.isInteger(partSize) || partSize < 5 * MiB || partSize > 5 * 1024 * MiB) {
    throw invalid(`option "part_size" must be a whole number of bytes from 5 MiB (5242880) to 5 GiB (got ${JSON.stringify(partSize)})`);
  }
  return {
    bucket,
    prefix,
    ...(endpoint === undefined ? {} : { endpoint }),
    forcePathStyle: pathStyle,
    region,
    ...(file === undefined ? {} : { credentialsFile: isAbsolute(file) ? file : resolve(home, file), profile: profile ?? 'default' }),
    partSize,
  };
}

/** How messages name the bank: `s3://bucket/prefix` (plus the endpoint for S3-compatible servers). */
export const s3BankLabel = (o: Pick<S3BankOptions, 'bucket' | 'prefix' | 'endpoint'>): string =>
  `s3://${o.bucket}/${o.prefix}${o.endpoint === undefined ? '' : ` at ${o.endpoint}`}`;
