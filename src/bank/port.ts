import type { Readable } from 'node:stream';

/**
 * The BankPlugin port: where protection data and checkpoint metadata live. Object-store semantics
 * (keys are `/`-separated strings, no directories) so fs, Redis and S3 adapters can all honour it.
 * Every adapter must pass test/contracts/bank.contract.ts.
 */

export interface ListOptions {
  /** Exclusive start: only keys after this one (in the chosen sort order) are returned. */
  marker?: string;
  /** At most this many keys; unlimited when absent. */
  limit?: number;
  /** Lexicographic key order; default `asc`. */
  sort?: 'asc' | 'desc';
}

export interface PutOptions {
  /**
   * Create-only: fail with BWK_ERR_BANK_OBJECT_EXISTS, writing nothing, when the key already holds an
   * object (packs are never overwritten: a pack name is unique, so an existing one is someone else's).
   */
  ifAbsent?: boolean;
}

export interface ObjectStat {
  size: number;
}

/** A lease: an owner's claim on something in the bank (a running operation), valid until `expiresAt`. */
export interface Lease {
  owner: string;
  /** Random per acquisition: renew and release only work with the token of the acquisition that holds it. */
  token: string;
  /** Epoch milliseconds. */
  expiresAt: number;
  /** What the lease protects (operation kind, checkpoint id...), for recovery after a crash. */
  data: Record<string, unknown>;
}

export interface BankPlugin {
  /** Adapter name (`fs`, `memory`, ...), for messages. */
  readonly kind: string;

  /**
   * The directory of this machine's filesystem the bank keeps its objects in, when it does (`fs`):
   * restores never write there, and messages name it. Absent for banks elsewhere (memory, S3).
   */
  readonly localDirectory?: string;

  /**
   * Checks, once, that the bank can be used (the S3 bank proves the server honours conditional
   * writes) and fails with a coded error otherwise. Optional; other methods do it on first use too.
   */
  open?(): Promise<void>;

  /** Writes a whole object atomically: readers see the old object or the new one, never a mix. */
  putObject(key: string, data: Buffer | string, options?: PutOptions): Promise<void>;

  /**
   * Streams an object in with back-pressure; it becomes visible only once the stream ended without
   * error. A failed or aborted stream leaves no object (and no previous object is destroyed).
   */
  putObjectStream(key: string, source: Readable | AsyncIterable<Buffer>, options?: PutOptions): Promise<ObjectStat>;

  /** Reads a whole object. Throws BWK_ERR_BANK_OBJECT_NOT_FOUND when absent. */
  getObject(key: string): Promise<Buffer>;

  /**
   * Reads `length` bytes at `offset` (one chunk out of a pack). Throws BWK_ERR_BANK_OBJECT_NOT_FOUND
   * when absent and BWK_ERR_BANK_IO when the object is shorter than the range asks.
   */
  getObjectRange(key: string, offset: number, length: number): Promise<Buffer>;

  /** Opens an object for streaming reads. Throws BWK_ERR_BANK_OBJECT_NOT_FOUND when absent. */
  getObjectStream(key: string): Promise<Readable>;

  /** Size of an object, or null when it does not exist. */
  statObject(key: string): Promise<ObjectStat | null>;

  /**
   * Keys that start with `prefix` (a plain string prefix, not a directory), sorted, after `marker`,
   * at most `limit`. Never returns objects still being written.
   */
  listObjects(prefix: string, options?: ListOptions): Promise<string[]>;

  /** Deletes an object; deleting a missing object is not an error. */
  deleteObject(key: string): Promise<void>;

  /**
   * Takes the lease `owner` for `ttlMs`. Throws BWK_ERR_LEASE_HELD when a live lease exists for that
   * owner; an expired one is taken over.
   */
  acquireLease(owner: string, ttlMs: number, data?: Record<string, unknown>): Promise<Lease>;

  /** Extends a lease we hold. Throws BWK_ERR_LEASE_LOST when it was released, broken or taken over. */
  renewLease(lease: Lease, ttlMs: number): Promise<Lease>;

  /** Gives a lease up; a no-op when it is no longer ours. */
  releaseLease(lease: Lease): Promise<void>;

  /** The current lease for `owner`, expired or not, or null. */
  getLease(owner: string): Promise<Lease | null>;

  /** Every lease in the bank, expired or not (recovery looks for the expired ones). */
  listLeases(): Promise<Lease[]>;

  /**
   * Removes a lease only if it still carries `token` (compare-and-delete), so recovery cannot break a
   * lease its owner renewed meanwhile. Returns whether it was removed.
   */
  breakLease(owner: string, token: string): Promise<boolean>;

  /**
   * Removes the leftovers of writes that never completed (a process killed mid-upload) in the
   * "directory" `prefix` (ending in `/`) that are older than `olderThan`; returns how many. Optional:
   * stores without visible partial writes (memory, S3 multipart with lifecycle rules) omit it.
   */
  removeStaleTemporaries?(prefix: string, olderThan: Date): Promise<number>;

  /** Releases adapter resources (handles, connections). */
  close(): Promise<void>;
}
