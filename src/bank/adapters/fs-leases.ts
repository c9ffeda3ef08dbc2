import { createHash, randomUUID } from 'node:crypto';
import { link, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { PRIVATE_FILE_MODE } from '../../common/private-files.js';
import { basename, dirname, join } from 'node:path';
import { bwkError } from '../../core/errors.js';
import { TEMP_PREFIX } from '../key-rules.js';
import { LEASES, leaseKey } from '../layout.js';
import { leaseHeld, leaseLost, parseLease } from '../lease-rules.js';
import type { Lease } from '../port.js';
import { ABSENT, errno, ioError, sleep, syncDir } from './fs-io.js';

/** What the lease store needs from the fs bank. */
export interface LeaseFiles {
  /** Absolute path of a key; throws BWK_ERR_BANK_KEY_INVALID for a bad key. */
  pathOf(key: string): string;
  /** Writes `bytes` to a fsynced `.tmp-*` file in the key's directory and returns its path. */
  writeTemp(key: string, bytes: Buffer): Promise<string>;
  /** Keys under a prefix, as BankPlugin.listObjects. */
  listObjects(prefix: string): Promise<string[]>;
}

const BUSY = Symbol('busy');
/** A token lock is held for a few syscalls; waiting ~50 ms covers a busy disk. */
const LOCK_RETRIES = 25;
const LOCK_RETRY_MS = 2;
/** A lock this old belongs to a process that died holding it. */
const STALE_LOCK_MS = 30_000;

const serialize = (lease: Lease): Buffer => Buffer.from(JSON.stringify(lease));

/** A stored lease, `undefined` when absent; an unreadable one reads as expired (token '') so it can be taken over. */
async function readLeaseFile(path: string, owner: string): Promise<Lease | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    if (ABSENT.has(errno(err))) return undefined;
    throw ioError(leaseKey(owner), err);
  }
  return parseLease(bytes) ?? { owner, token: '', expiresAt: 0, data: {} };
}

/**
 * Leases as JSON files at `leaseKey(owner)`. POSIX has no compare-and-swap on file contents, so:
 * - creating a lease is link(2) of a complete temp file, which fails when the name exists;
 * - replacing or removing the lease that carries token T (takeover, break, release, renewing an expired
 *   lease) happens only while holding a lock file named after T, created with O_EXCL, after re-reading
 *   the lease under that lock. Only one racer can hold it, and a lease carrying T can only go away
 *   under it, so what was checked is still there when it is replaced (atomically, by rename).
 * - renewing a live lease is a plain rename over it: no one may take a live lease over.
 */
export class FsLeaseStore {
  constructor(private readonly files: LeaseFiles) {}

  async acquire(owner: string, ttlMs: number, data: Record<string, unknown>): Promise<Lease> {
    const key = leaseKey(owner);
    const path = this.files.pathOf(key);
    const lease: Lease = { owner, token: randomUUID(), expiresAt: Date.now() + ttlMs, data: structuredClone(data) };
    const tmp = await this.files.writeTemp(key, serialize(lease));
    try {
      for (let attempt = 0; attempt < 20; attempt++) {
        if (await this.linkExclusive(tmp, path, key)) return lease;
        const current = await readLeaseFile(path, owner);
        if (current === undefined) continue; // released in between: try the exclusive create again
        if (current.expiresAt > Date.now()) throw leaseHeld(current);
        const taken = await this.underTokenLock(path, owner, current.token, async (now) => {
          if (now?.token !== current.token) return false; // changed hands meanwhile: look again
          if (now.expiresAt > Date.now()) throw leaseHeld(now); // its holder renewed it in time
          await rename(tmp, path);
          return true;
        });
        if (taken === true) {
          await syncDir(dirname(path));
          return lease;
        }
      }
      throw bwkError('BWK_ERR_BANK_IO', { key, reason: 'the lease kept changing hands while acquiring it; try again' });
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }

  async renew(lease: Lease, ttlMs: number): Promise<Lease> {
    const key = leaseKey(lease.owner);
    const path = this.files.pathOf(key);
    const renewed: Lease = { ...lease, data: structuredClone(lease.data), expiresAt: Date.now() + ttlMs };
    // Written before the check so that check and rename are as close together as they can be.
    const tmp = await this.files.writeTemp(key, serialize(renewed));
    try {
      const current = await readLeaseFile(path, lease.owner);
      if (current?.token !== lease.token) throw leaseLost(lease.owner);
      if (current.expiresAt > Date.now()) {
        await rename(tmp, path).catch((err: unknown) => {
          throw ioError(key, err);
        });
      } else {
        // Expired: an acquirer may be taking it over right now, so only replace it under the token lock.
        const done = await this.underTokenLock(path, lease.owner, lease.token, async (now) => {
          if (now?.token !== lease.token) return false;
          await rename(tmp, path);
          return true;
        });
        if (done !== true) throw leaseLost(lease.owner);
      }
      await syncDir(dirname(path));
      return renewed;
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }

  async get(owner: string): Promise<Lease | null> {
    const lease = await readLeaseFile(this.files.pathOf(leaseKey(owner)), owner);
    return lease === undefined || lease.token === '' ? null : lease;
  }

  async list(): Promise<Lease[]> {
    const leases: Lease[] = [];
    for (const key of await this.files.listObjects(LEASES)) {
      const lease = await readLeaseFile(this.files.pathOf(key), key.slice(LEASES.length)).catch(() => undefined);
      if (lease !== undefined && lease.token !== '') leases.push(lease);
    }
    return leases;
  }

  async break(owner: string, token: string): Promise<boolean> {
    const path = this.files.pathOf(leaseKey(owner));
    const current = await readLeaseFile(path, owner);
    if (current?.token !== token) return false;
    const removed = await this.underTokenLock(path, owner, token, async (now) => {
      if (now?.token !== token) return false;
      await unlink(path).catch((err: unknown) => {
        if (!ABSENT.has(errno(err))) throw err;
      });
      return true;
    });
    if (removed === true) await syncDir(dirname(path));
    return removed === true;
  }

  /** Publishes `tmp` at `path` unless something exists there; link(2) is atomic and never replaces. */
  private async linkExclusive(tmp: string, path: string, key: string): Promise<boolean> {
    try {
      await link(tmp, path);
    } catch (err) {
      if (errno(err) === 'EEXIST') return false;
      throw ioError(key, err);
    }
    await syncDir(dirname(path));
    return true;
  }

  /**
   * Runs `fn` with the current lease while holding the lock of `token`; BUSY when another process
   * holds that lock for longer than a few milliseconds (it is taking over or breaking that lease).
   */
  private async underTokenLock<R>(
    path: string,
    owner: string,
    token: string,
    fn: (current: Lease | undefined) => Promise<R>,
  ): Promise<R | typeof BUSY> {
    const name = createHash('sha256')
      .update(`${basename(path)}\0${token}`)
      .digest('hex')
      .slice(0, 32);
    const lock = join(dirname(path), `${TEMP_PREFIX}lock-${name}`);
    for (let attempt = 0; ; attempt++) {
      if (attempt > LOCK_RETRIES) return BUSY;
      try {
        await (await open(lock, 'wx', PRIVATE_FILE_MODE)).close();
        break;
      } catch (err) {
        if (errno(err) !== 'EEXIST') throw ioError(leaseKey(owner), err);
      }
      const age = await stat(lock).then(
        (s) => Date.now() - s.mtimeMs,
        () => -1,
      );
      if (age > STALE_LOCK_MS) await unlink(lock).catch(() => undefined);
      else if (age >= 0) await sleep(LOCK_RETRY_MS);
    }
    try {
      return await fn(await readLeaseFile(path, owner));
    } catch (err) {
      throw ioError(leaseKey(owner), err);
    } finally {
      await unlink(lock).catch(() => undefined);
    }
  }
}
