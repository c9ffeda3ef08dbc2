import { bwkError } from '../core/errors.js';
import type { Lease } from './port.js';

/*
 * Lease rules every adapter applies, so an unreadable lease counts as none and a refused one fails
 * with the same error whichever bank holds it.
 */

/** Parses a stored lease; null when the bytes are not a lease (treated as no valid lease). */
export function parseLease(bytes: Buffer | string): Lease | null {
  try {
    const v = JSON.parse(bytes.toString()) as Partial<Lease>;
    if (typeof v.owner !== 'string' || typeof v.token !== 'string' || typeof v.expiresAt !== 'number') return null;
    const data = v.data && typeof v.data === 'object' ? v.data : {};
    return { owner: v.owner, token: v.token, expiresAt: v.expiresAt, data };
  } catch {
    return null;
  }
}

export const leaseHeld = (lease: Lease): Error =>
  bwkError('BWK_ERR_LEASE_HELD', { owner: lease.owner, expires_at: new Date(lease.expiresAt).toISOString() });

export const leaseLost = (owner: string): Error => bwkError('BWK_ERR_LEASE_LOST', { owner });
