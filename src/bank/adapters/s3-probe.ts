import { randomUUID } from 'node:crypto';
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { bwkError } from '../../core/errors.js';
import { TEMP_PREFIX } from '../key-rules.js';
import { isConditionFailed, s3Error } from './s3-errors.js';
import type { S3BankOptions } from './s3-options.js';

/**
 * Proves, with a scratch object, that the server honours every conditional request the bank relies
 * on: create-only PUT (If-None-Match: *) and PUT on a matching ETag (If-Match). A server that
 * silently ignores them would let two processes hold one lease, so such a bank is refused
 * (BWK_ERR_BANK_CONDITIONAL_WRITES_UNSUPPORTED) before it is used. The scratch name starts `.tmp-`,
 * so it is never listed as a key, even when a crash leaves it behind.
 */
export async function probeConditionalWrites(client: S3Client, options: S3BankOptions, bank: string): Promise<void> {
  const Bucket = options.bucket;
  const Key = `${options.prefix}${TEMP_PREFIX}probe-${randomUUID()}`;
  const refuse = (missing: string): Error => bwkError('BWK_ERR_BANK_CONDITIONAL_WRITES_UNSUPPORTED', { bank, missing });
  /** Sends a request that must be refused with 412; true when it was (false: the server ignored the condition). */
  const refused = async (send: () => Promise<unknown>): Promise<boolean> => {
    try {
      await send();
      return false;
    } catch (err) {
      if (isConditionFailed(err)) return true;
      // A server that does not know the header may also answer 501 NotImplemented or 400.
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 501 || status === 400) return false;
      throw s3Error(Key, err, bank);
    }
  };
  try {
    const created = await client.send(new PutObjectCommand({ Bucket, Key, Body: 'probe', IfNoneMatch: '*' })).catch((err: unknown) => {
      if (isConditionFailed(err)) return null;
      throw s3Error(Key, err, bank);
    });
    if (created === null) throw refuse('If-None-Match: * on PUT (a fresh key was refused)');
    if (!(await refused(() => client.send(new PutObjectCommand({ Bucket, Key, Body: 'again', IfNoneMatch: '*' }))))) {
      throw refuse('If-None-Match: * on PUT (an existing object was overwritten)');
    }
    const stale = '"00000000000000000000000000000000"';
    if (!(await refused(() => client.send(new PutObjectCommand({ Bucket, Key, Body: 'stale', IfMatch: stale }))))) {
      throw refuse('If-Match on PUT (an object was overwritten despite another ETag)');
    }
    await client.send(new PutObjectCommand({ Bucket, Key, Body: 'matched', IfMatch: created.ETag })).catch((err: unknown) => {
      if (isConditionFailed(err)) throw refuse('If-Match on PUT (the current ETag was refused)');
      throw s3Error(Key, err, bank);
    });
  } finally {
    // Whatever happened above, the scratch object goes (best effort: a leftover is never listed).
    await client.send(new DeleteObjectCommand({ Bucket, Key })).catch(() => undefined);
  }
}
