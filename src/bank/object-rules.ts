import { bwkError, isBulwarkError } from '../core/errors.js';

/*
 * What object bytes every adapter accepts, and how every adapter fails a range read past an object's
 * end, so the chunk store can tell a truncated pack from an I/O failure whichever bank it runs on.
 */

export function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw bwkError('BWK_ERR_INVALID_INPUT', { reason: `bank streams carry bytes, got a chunk of type ${typeof chunk}` });
}

/** A range read past the end of an object: the object is not what its index says. */
export function shortRange(key: string, offset: number, length: number, size: number): Error {
  return bwkError(
    'BWK_ERR_BANK_IO',
    { key, reason: `range ${offset}+${length} lies beyond the object's ${size} bytes` },
    { details: { short_range: true } },
  );
}

/** Whether a range read failed because the object is shorter than the range (truncated), not because I/O failed. */
export const isShortRange = (err: unknown): boolean => isBulwarkError(err, 'BWK_ERR_BANK_IO') && err.details?.['short_range'] === true;
