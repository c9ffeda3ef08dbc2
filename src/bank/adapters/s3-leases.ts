import { randomUUID } from 'node:crypto';
import { bwkError } from '../../core/errors.js';
import { LEASES, leaseKey } from '../layout.js';
import { leaseHeld, leaseLost, parseLease } from '../lease-rules.js';
import type { Lease } from '../port.js';

/** What the lease store needs from the S3 bank: reads with the ETag, and writes/deletes conditional on one. */
export interface ConditionalObjects {
  /** The object and its ETag, or null when absent. */
  read(key: string): Promise<{ bytes: Buffer; etag: string } | null>;
  /**
   * Writes `bytes` only if no object exists (`ifNoneMatch`) or only if the object still has `ifMatch` as
   * its ETag. Returns false when the condition failed (someone else wrote or removed it first).
   */
  write(key: string, bytes: Buffer, condition: { ifNoneMatch: true } | { ifMatch: string }): Promise<boolean>;
  /** Deletes whatever is at the key (S3 servers need not honour If-Match on DELETE: MinIO does not). */
  remove(key: string): Promise<void>;
  listObjects(prefix: string): Promise<string[]>;
}

/** Conditional writes fail only when someone else won a race; a few rounds settle any of them. */
const ROUNDS = 20;
/**
 * How long the lease a remover takes over lasts. Its DELETE follows the takeover at once; only a
 * process paused longer than this between two requests could delete a lease taken over after it.
 */
const REMOVAL_TTL_MS = 60_000;

const serialize = (lease: Lease): Buffer => Buffer.from(JSON.stringify(lease));

const churning = (owner: string): Error =>
  bwkError('BWK_ERR_BANK_IO', { key: leaseKey(owner), reason: 'the lease kept changing hands while we worked on it; try again' });

/**
 * Leases as objects on S3. Every change is a compare-and-swap done by the server: a new lease is
 * created with `If-None-Match: *` (fails when any lease object exists), and replacing one (takeover,
 * renewal) is conditional on the ETag of the lease that was read and checked. Of two writers that read
 * the same ETag the server lets exactly one through, so two processes on two machines can never both
 * hold one. An object that is not a lease counts as expired.
 *
 * S3 has no compare-and-delete that every server honours, so removing a lease (release, break) is a
 * takeover first: a conditional PUT replaces the lease carrying the token with a fresh lease of the
 * remover, and only then is it deleted. No one replaces a live lease (acquirers take over expired ones
 * only; renewers need its token), so what the DELETE removes is the remover's own lease.
 */
export class S3LeaseStore {
  constructor(private readonly objects: ConditionalObjects) {}

  async acquire(owner: string, ttlMs: number, data: Record<string, unknown>): Promise<Lease> {
    const key = leaseKey(owner);
    const fresh = (): Lease => ({ owner, token: randomUUID(), expiresAt: Date.now() + ttlMs, data: structuredClone(data) });
    for (let round = 0; round < ROUNDS; round++) {
      const lease = fresh();
      if (await this.objects.write(key, serialize(lease), { ifNoneMatch: true })) return lease;
      const current = await this.objects.read(key);
      if (current === null) continue; // released in between: create again
      const held = parseLease(current.bytes);
      if (held !== null && held.expiresAt > Date.now()) throw leaseHeld(held);
      const takeover = fresh();
      if (await this.objects.write(key, serialize(takeover), { ifMatch: current.etag })) return takeover;
      // Another acquirer took it over first, or its holder renewed it: look again.
    }
    throw churning(owner);
  }

  async renew(lease: Lease, ttlMs: number): Promise<Lease> {
    const key = leaseKey(lease.owner);
    for (let round = 0; round < ROUNDS; round++) {
      const current = await this.objects.read(key);
      const held = current === null ? null : parseLease(current.bytes);
      if (current === null || held?.token !== lease.token) throw leaseLost(lease.owner);
      // An expired lease nobody took over may be renewed: the If-Match makes that safe against a takeover racing us.
      const renewed: Lease = { ...held, expiresAt: Date.now() + ttlMs };
      if (await this.objects.write(key, serialize(renewed), { ifMatch: current.etag })) return renewed;
    }
    throw churning(lease.owner);
  }

  async get(owner: string): Promise<Lease | null> {
    const current = await this.objects.read(leaseKey(owner));
    return current === null ? null : parseLease(current.bytes);
  }

  async list(): Promise<Lease[]> {
    const keys = await this.objects.listObjects(LEASES);
    const found = await Promise.all(keys.map((k) => this.get(k.slice(LEASES.length))));
    return found.filter((l): l is Lease => l !== null);
  }

  async break(owner: string, token: string): Promise<boolean> {
    const key = leaseKey(owner);
    for (let round = 0; round < ROUNDS; round++) {
      const current = await this.objects.read(key);
      if (current === null || parseLease(current.bytes)?.token !== token) return false;
      const remover: Lease = { owner, token: randomUUID(), expiresAt: Date.now() + REMOVAL_TTL_MS, data: { removing: token } };
      if (await this.objects.write(key, serialize(remover), { ifMatch: current.etag })) {
        await this.objects.remove(key);
        return true;
      }
      // Renewed by its holder meanwhile (new ETag, same token), or taken over: check again.
    }
    throw churning(owner);
  }
}
