import { bwkError, isBulwarkError } from '../../core/errors.js';

/** How the S3 bank turns SDK failures into Bulwark errors. */

interface SdkError {
  name?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

const statusOf = (err: unknown): number | undefined => (err as SdkError | null)?.$metadata?.httpStatusCode;
const nameOf = (err: unknown): string => (err as SdkError | null)?.name ?? (err as SdkError | null)?.Code ?? '';

/** No object at the key (GET: NoSuchKey; HEAD has no body, so only its 404). */
export const isMissing = (err: unknown): boolean =>
  nameOf(err) === 'NoSuchKey' || nameOf(err) === 'NotFound' || (statusOf(err) === 404 && nameOf(err) !== 'NoSuchBucket');

/**
 * A conditional write lost: 412 Precondition Failed, or 409 ConditionalRequestConflict (AWS answers
 * that when another conditional write on the key is in flight; the loser retries after a re-read).
 */
export const isConditionFailed = (err: unknown): boolean =>
  statusOf(err) === 412 || nameOf(err) === 'PreconditionFailed' || nameOf(err) === 'ConditionalRequestConflict';

/** Failures trying again cannot fix: the operator must fix the bucket name, credentials or policy. */
const ACCESS = new Set([
  'NoSuchBucket',
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'CredentialsProviderError',
  'InvalidBucketName',
  'AllAccessDisabled',
  'ExpiredToken',
  'InvalidToken',
]);

/** Wraps an S3 failure: BWK_ERR_BANK_ACCESS when configuration is wrong, else the retryable BWK_ERR_BANK_IO. */
export function s3Error(key: string, err: unknown, bank: string): Error {
  if (isBulwarkError(err)) return err;
  const name = nameOf(err);
  const message = (err as SdkError | null)?.message ?? String(err);
  const reason = name !== '' && !message.includes(name) ? `${name}: ${message}` : message;
  if (ACCESS.has(name) || statusOf(err) === 403) return bwkError('BWK_ERR_BANK_ACCESS', { bank, reason }, { cause: err });
  return bwkError('BWK_ERR_BANK_IO', { key, reason }, { cause: err });
}
