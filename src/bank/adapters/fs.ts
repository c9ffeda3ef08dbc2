import { randomUUID } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { link, lstat, mkdir, open, readFile, readdir, rename, rmdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { bwkError } from '../../core/errors.js';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../../common/private-files.js';
import { TEMP_PREFIX, assertValidKey, assertValidPrefix, compareKeys } from '../key-rules.js';
import { shortRange, toBuffer } from '../object-rules.js';
import type { BankPlugin, Lease, ListOptions, ObjectStat, PutOptions } from '../port.js';
import { ABSENT, errno, ioError, putError, syncDir, writeAll, writevAll } from './fs-io.js';
import { FsLeaseStore } from './fs-leases.js';

/**
 * The filesystem bank: one file per key under `rootDir`. Every write goes to a `.tmp-*` file in the
 * target directory, is fsynced and renamed over the key, so readers see the old or the new object and a
 * crash leaves at most an unlisted temp file (names starting `.tmp-` are never keys). Directories are
 * made 0700 and files 0600 (objects hold protected data), whatever the umask. Leases: fs-leases.ts.
 */
const RANGE_HANDLES = 32;
const RANGE_IDLE_MS = 1000;

export class FsBank implements BankPlugin {
  readonly kind = 'fs';

  private readonly leases = new FsLeaseStore({
    pathOf: (key) => this.pathOf(key),
    writeTemp: (key, bytes) => this.writeTemp(key, (fh) => writeAll(fh, bytes)),
    listObjects: (prefix) => this.listObjects(prefix),
  });

  constructor(readonly rootDir: string) {}

  get localDirectory(): string {
    return this.rootDir;
  }

  async putObject(key: string, data: Buffer | string, options: PutOptions = {}): Promise<void> {
    const bytes = toBuffer(data);
    await this.publish(key, options, (fh) =>
      writeAll(fh, bytes).catch((err: unknown) => {
        throw ioError(key, err);
      }),
    );
  }

  async putObjectStream(key: string, source: Readable | AsyncIterable<Buffer>, options: PutOptions = {}): Promise<ObjectStat> {
    // A source already flowing (a caller's 'data' listener) would lose chunks while the temp file opens.
    if (source instanceof Readable) source.pause();
    let size = 0;
    await this.publish(key, options, async (fh) => {
      // Write errors are wrapped here, so anything else pipeline rejects with is the source's own error.
      // Pieces queued while a write runs go out together in one writev (a pack is many small chunks).
      const sink = new Writable({
        highWaterMark: 4 * 1024 * 1024,
        writev(chunks, done) {
          const buffers = chunks.map((c) => c.chunk as Buffer);
          writevAll(fh, buffers).then(
            () => {
              size += buffers.reduce((n, b) => n + b.length, 0);
              done();
            },
            (err: unknown) => done(ioError(key, err)),
          );
        },
        write(chunk: Buffer, _encoding, done) {
          writeAll(fh, chunk).then(
            () => {
              size += chunk.length;
              done();
            },
            (err: unknown) => done(ioError(key, err)),
          );
        },
      });
      await pipeline(source, sink);
    });
    return { size };
  }

  async getObject(key: string): Promise<Buffer> {
    try {
      return await readFile(this.pathOf(key));
    } catch (err) {
      throw this.readError(key, err);
    }
  }

  /**
   * Open handles of objects read by range (packs, read chunk after chunk during a restore): opening
   * and closing the file for every chunk cost more than the read. A handle idle for RANGE_IDLE_MS is
   * closed, so a later operation (a verify) reads what is on disk then, not an inode that was
   * replaced or deleted meanwhile; writes and deletes through this bank drop it at once.
   */
  private readonly rangeHandles = new Map<string, { fh: Promise<FileHandle>; used: number }>();
  private sweeper: NodeJS.Timeout | undefined;

  private rangeHandle(key: string): Promise<FileHandle> {
    const now = Date.now();
    const cached = this.rangeHandles.get(key);
    if (cached !== undefined) {
      cached.used = now;
      return cached.fh;
    }
    const fh = open(this.pathOf(key), 'r');
    fh.catch(() => this.rangeHandles.delete(key));
    this.rangeHandles.set(key, { fh, used: now });
    if (this.rangeHandles.size > RANGE_HANDLES) this.closeIdle(Infinity);
    this.sweeper ??= setInterval(() => this.closeIdle(RANGE_IDLE_MS), RANGE_IDLE_MS / 2).unref();
    return fh;
  }

  /** Closes handles unused for `idleMs` (all but the most recent RANGE_HANDLES / 2 when Infinity). */
  private closeIdle(idleMs: number): void {
    const now = Date.now();
    const entries = [...this.rangeHandles.entries()].sort((a, b) => a[1].used - b[1].used);
    const excess = idleMs === Infinity ? entries.length - RANGE_HANDLES / 2 : 0;
    entries.forEach(([key, h], i) => {
      if (i >= excess && now - h.used < idleMs) return;
      this.rangeHandles.delete(key);
      // Closed a moment later, so a read still using it finishes first.
      setTimeout(() => {
        void h.fh.then((f) => f.close()).catch(() => undefined);
      }, RANGE_IDLE_MS).unref();
    });
    if (this.rangeHandles.size === 0 && this.sweeper !== undefined) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  private async dropRangeHandle(key: string): Promise<void> {
    const h = this.rangeHandles.get(key);
    if (h === undefined) return;
    this.rangeHandles.delete(key);
    await h.fh.then((f) => f.close()).catch(() => undefined);
  }

  async getObjectRange(key: string, offset: number, length: number): Promise<Buffer> {
    let fh: FileHandle;
    try {
      fh = await this.rangeHandle(key);
    } catch (err) {
      throw this.readError(key, err);
    }
    try {
      const buf = Buffer.allocUnsafe(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await fh.read(buf, done, length - done, offset + done);
        if (bytesRead === 0) throw shortRange(key, offset, length, offset + done);
        done += bytesRead;
      }
      return buf;
    } catch (err) {
      if (err instanceof Error && 'code' in err && typeof err.code === 'string' && err.code.startsWith('BWK_')) throw err;
      throw ioError(key, err);
    }
  }

  async getObjectStream(key: string): Promise<Readable> {
    let fh: FileHandle;
    try {
      fh = await open(this.pathOf(key), 'r');
    } catch (err) {
      throw this.readError(key, err);
    }
    // Opening a directory succeeds on Linux; it is still not an object.
    const isFile = await fh.stat().then(
      (s) => s.isFile(),
      () => false,
    );
    if (!isFile) {
      await fh.close().catch(() => undefined);
      throw bwkError('BWK_ERR_BANK_OBJECT_NOT_FOUND', { key });
    }
    return fh.createReadStream();
  }

  async statObject(key: string): Promise<ObjectStat | null> {
    try {
      const s = await stat(this.pathOf(key));
      return s.isFile() ? { size: s.size } : null;
    } catch (err) {
      if (ABSENT.has(errno(err))) return null;
      throw ioError(key, err);
    }
  }

  async listObjects(prefix: string, options: ListOptions = {}): Promise<string[]> {
    assertValidPrefix(prefix);
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    const out: string[] = [];
    if (limit <= 0) return out;
    // Only the directory holding the prefix's last (partial) segment can contain matching keys.
    const dirKey = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    const dirPath = join(this.rootDir, ...dirKey.split('/').filter((s) => s !== ''));
    await this.walk(dirPath, dirKey, prefix.slice(dirKey.length), { desc: options.sort === 'desc', marker: options.marker, limit }, out);
    return out;
  }

  async deleteObject(key: string): Promise<void> {
    const path = this.pathOf(key);
    await this.dropRangeHandle(key);
    try {
      await unlink(path);
    } catch (err) {
      // A directory there is other keys' prefix, not an object: nothing to delete.
      if (ABSENT.has(errno(err)) || errno(err) === 'EPERM') return;
      throw ioError(key, err);
    }
    // Empty directories are clutter that would slow listings; a concurrent put re-creates what it needs.
    for (let dir = dirname(path); dir.startsWith(this.rootDir + sep); dir = dirname(dir)) {
      if (
        !(await rmdir(dir).then(
          () => true,
          () => false,
        ))
      )
        break;
    }
  }

  acquireLease(owner: string, ttlMs: number, data: Record<string, unknown> = {}): Promise<Lease> {
    return this.leases.acquire(owner, ttlMs, data);
  }

  renewLease(lease: Lease, ttlMs: number): Promise<Lease> {
    return this.leases.renew(lease, ttlMs);
  }

  async releaseLease(lease: Lease): Promise<void> {
    await this.leases.break(lease.owner, lease.token);
  }

  getLease(owner: string): Promise<Lease | null> {
    return this.leases.get(owner);
  }

  listLeases(): Promise<Lease[]> {
    return this.leases.list();
  }

  breakLease(owner: string, token: string): Promise<boolean> {
    return this.leases.break(owner, token);
  }

  async close(): Promise<void> {
    // Only range reads keep files open between calls.
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    this.sweeper = undefined;
    await Promise.all([...this.rangeHandles.keys()].map((k) => this.dropRangeHandle(k)));
  }

  private pathOf(key: string): string {
    return join(this.rootDir, ...assertValidKey(key).split('/'));
  }

  private readError(key: string, err: unknown): Error {
    return ABSENT.has(errno(err)) ? bwkError('BWK_ERR_BANK_OBJECT_NOT_FOUND', { key }) : ioError(key, err);
  }

  /**
   * Writes a whole object to a temp file beside `key` and renames it over the key; create-only writes
   * link(2) it instead, which fails when the name exists (and never replaces).
   */
  private async publish(key: string, options: PutOptions, fill: (fh: FileHandle) => Promise<void>): Promise<void> {
    const path = this.pathOf(key);
    await this.dropRangeHandle(key);
    const tmp = await this.writeTemp(key, fill);
    try {
      if (options.ifAbsent === true) {
        await link(tmp, path);
        // The name is published; the temp name is only clutter (removeStaleTemporaries sweeps it).
        await unlink(tmp).catch(() => undefined);
      } else {
        await rename(tmp, path);
      }
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      if (options.ifAbsent === true && errno(err) === 'EEXIST') throw bwkError('BWK_ERR_BANK_OBJECT_EXISTS', { key });
      throw putError(key, err);
    }
    await syncDir(dirname(path));
  }

  /** Creates `.tmp-<uuid>` in the key's directory, fills and fsyncs it; removes it again on any failure. */
  private async writeTemp(key: string, fill: (fh: FileHandle) => Promise<void>): Promise<string> {
    const dir = dirname(this.pathOf(key));
    // The directory is made only when the open finds it missing: most puts go to one that exists,
    // and each call saved is a trip through the thread pool (a 2,000-task plan makes 2,000 puts).
    for (let attempt = 0; ; attempt++) {
      const tmp = join(dir, `${TEMP_PREFIX}${randomUUID()}`);
      let fh: FileHandle;
      try {
        fh = await open(tmp, 'wx', PRIVATE_FILE_MODE);
      } catch (err) {
        // Missing, or pruned by a concurrent delete since the last try: made (again) and retried.
        if (errno(err) === 'ENOENT' && attempt < 5) {
          await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE }).catch((e: unknown) => {
            throw putError(key, e);
          });
          continue;
        }
        throw putError(key, err);
      }
      try {
        await fill(fh);
        await fh.sync().catch((err: unknown) => {
          throw ioError(key, err);
        });
      } catch (err) {
        await fh.close().catch(() => undefined);
        await unlink(tmp).catch(() => undefined);
        throw err;
      }
      await fh.close();
      return tmp;
    }
  }

  async removeStaleTemporaries(prefix: string, olderThan: Date): Promise<number> {
    assertValidPrefix(prefix);
    const dir = prefix === '' ? this.rootDir : this.pathOf(prefix.replace(/\/$/, ''));
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      if (ABSENT.has(errno(err))) return 0;
      throw ioError(prefix, err);
    }
    let removed = 0;
    for (const name of names) {
      // Lease lock files share the prefix but are the lease store's business.
      if (!name.startsWith(TEMP_PREFIX) || name.startsWith(`${TEMP_PREFIX}lock-`)) continue;
      const st = await lstat(join(dir, name)).catch(() => null);
      if (st === null || !st.isFile() || st.mtimeMs >= olderThan.getTime()) continue;
      await unlink(join(dir, name)).then(
        () => {
          removed++;
        },
        (err: unknown) => {
          if (!ABSENT.has(errno(err))) throw ioError(prefix, err);
        },
      );
    }
    return removed;
  }

  /** Depth-first in key order, skipping subtrees entirely before the marker, stopping at the limit. */
  private async walk(
    dirPath: string,
    keyPrefix: string,
    namePrefix: string,
    opts: { desc: boolean; marker: string | undefined; limit: number },
    out: string[],
  ): Promise<void> {
    let entries: Dirent[];
    try {
      entries = await readdir(dirPath, { withFileTypes: true });
    } catch (err) {
      if (ABSENT.has(errno(err))) return;
      throw ioError(keyPrefix + namePrefix, err);
    }
    const items: { name: string; key: string; isDir: boolean }[] = [];
    for (const e of entries) {
      if (!e.name.startsWith(namePrefix) || e.name.startsWith(TEMP_PREFIX) || e.name.includes('\\')) continue;
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (!isDir && !isFile && !e.isSymbolicLink()) {
        // DT_UNKNOWN: some filesystems do not report types
        const s = await lstat(join(dirPath, e.name)).catch(() => null);
        isDir = s?.isDirectory() ?? false;
        isFile = s?.isFile() ?? false;
      }
      // A directory sorts as "name/": every key inside it starts with that, which keeps walk order = key order.
      if (isDir || isFile) items.push({ name: e.name, key: keyPrefix + e.name + (isDir ? '/' : ''), isDir });
    }
    const { desc, marker } = opts;
    items.sort((a, b) => (desc ? compareKeys(b.key, a.key) : compareKeys(a.key, b.key)));
    for (const item of items) {
      if (out.length >= opts.limit) return;
      if (!item.isDir) {
        if (marker === undefined || (desc ? item.key < marker : item.key > marker)) out.push(item.key);
      } else if (marker === undefined || marker.startsWith(item.key) || (desc ? item.key < marker : item.key > marker)) {
        await this.walk(join(dirPath, item.name), item.key, '', opts, out);
      }
    }
  }
}
