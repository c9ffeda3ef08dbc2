/**
 * Protect: walks the directory and streams it into the bank section (format in manifest.ts). File
 * contents flow from disk to `data` through an async generator, so the bank pulls at its own pace and
 * memory stays constant; manifest lines are spooled to a local temp file meanwhile and uploaded after
 * `data`, so no second bank upload has to run concurrently (a bank adapter may serialize uploads).
 */
import { constants, createReadStream } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import type { ProtectContext } from '../api.js';
import { bwkError } from '../../common/errors.js';
import { DATA_OBJECT, FORMAT_NAME, FORMAT_VERSION, MANIFEST_OBJECT, META_OBJECT, encodeEntry, encodeMeta, displayPath } from './manifest.js';
import type { EntryBase } from './manifest.js';
import { compileExcludes, walkTree } from './walk.js';
import type { SkipKind } from './walk.js';
import { directoryIdProblem } from './protectable.js';

const READ_CHUNK = 1024 * 1024;
const SPOOL_FLUSH = 64 * 1024;
const PROGRESS_EVERY = 8 * 1024 * 1024;
/** saved_info lists at most this many skipped entries (plus the total count), to stay small. */
export const MAX_SKIPPED_LISTED = 1000;

export interface SavedInfo {
  [key: string]: unknown;
  files: number;
  directories: number;
  symlinks: number;
  bytes: number;
  skipped: { path: string; kind: SkipKind }[];
  skipped_count: number;
}

/** Manifest lines on local disk, hashed as they are written. */
class ManifestSpool {
  private pending: string[] = [];
  private pendingBytes = 0;
  readonly hash: Hash = createHash('sha256');
  size = 0;
  entries = 0;

  private constructor(readonly dir: string, readonly path: string, private readonly fh: FileHandle) {}

  static async create(): Promise<ManifestSpool> {
    const dir = await mkdtemp(join(tmpdir(), 'bwk-fs-manifest-'));
    const path = join(dir, MANIFEST_OBJECT);
    return new ManifestSpool(dir, path, await open(path, 'wx', 0o600));
  }

  async add(line: string): Promise<void> {
    this.pending.push(line);
    this.pendingBytes += line.length;
    this.entries++;
    if (this.pendingBytes >= SPOOL_FLUSH) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const bytes = Buffer.from(this.pending.join(''), 'utf8');
    this.pending = [];
    this.pendingBytes = 0;
    this.hash.update(bytes);
    this.size += bytes.length;
    await this.fh.write(bytes);
  }

  async close(): Promise<void> {
    await this.flush();
    await this.fh.close();
  }

  async dispose(): Promise<void> {
    await this.fh.close().catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }
}

const baseOf = (rel: Buffer, st: BigIntStats): EntryBase => ({
  path: rel, mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid), mtimeNs: st.mtimeNs,
});

/** Runs the protect `main` hook for one directory resource. */
export async function protectDirectory(ctx: ProtectContext): Promise<void> {
  const root = ctx.resource.id;
  const problem = await directoryIdProblem(root);
  if (problem !== null) throw bwkError('BWK_ERR_RESOURCE_NOT_FOUND', { type: 'fs.directory', id: root, reason: problem });
  const excludes = compileExcludes(ctx.parameters.exclude);
  // A retry must not leave a previous attempt's meta pointing at this attempt's data.
  await ctx.bank.delete(META_OBJECT);

  const spool = await ManifestSpool.create();
  const info: SavedInfo = { files: 0, directories: 0, symlinks: 0, bytes: 0, skipped: [], skipped_count: 0 };
  const dataHash = createHash('sha256');
  let reported = 0;

  const skip = (rel: Buffer, kind: SkipKind): void => {
    info.skipped_count++;
    if (info.skipped.length < MAX_SKIPPED_LISTED) info.skipped.push({ path: displayPath(rel), kind });
    ctx.logger.warn('fs.directory: entry not archived', { resource: root, path: displayPath(rel), kind });
  };

  /** Yields one file's bytes as read (the file may change meanwhile: what was read is what is stored). */
  async function* fileData(item: { rel: Buffer; abs: Buffer }): AsyncGenerator<Buffer> {
    let fh: FileHandle;
    try {
      // O_NOFOLLOW/O_NONBLOCK: the path may have become a symlink or a FIFO since lstat.
      fh = await open(item.abs, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === 'ENOENT' || code === 'ELOOP' || code === 'ENXIO' || code === 'ENOTDIR') return skip(item.rel, 'vanished');
      throw err;
    }
    try {
      const st = await fh.stat({ bigint: true });
      if (!st.isFile()) return skip(item.rel, 'vanished');
      const offset = info.bytes;
      const hash = createHash('sha256');
      let size = 0;
      for (;;) {
        ctx.signal.throwIfAborted();
        const buf = Buffer.allocUnsafe(READ_CHUNK);
        const { bytesRead } = await fh.read(buf, 0, READ_CHUNK, null);
        if (bytesRead === 0) break;
        const chunk = buf.subarray(0, bytesRead);
        hash.update(chunk);
        dataHash.update(chunk);
        size += bytesRead;
        info.bytes += bytesRead;
        yield chunk;
        if (info.bytes - reported >= PROGRESS_EVERY) {
          reported = info.bytes;
          ctx.progress({ done: info.bytes, unit: 'bytes' });
        }
      }
      info.files++;
      await spool.add(encodeEntry({ ...baseOf(item.rel, st), type: 'file', offset, size, sha256: hash.digest('hex') }));
    } finally {
      await fh.close();
    }
  }

  async function* archiveData(): AsyncGenerator<Buffer> {
    for await (const item of walkTree(root, excludes, ctx.signal)) {
      switch (item.kind) {
        case 'dir':
          info.directories++;
          await spool.add(encodeEntry({ ...baseOf(item.rel, item.stat), type: 'dir' }));
          break;
        case 'symlink':
          info.symlinks++;
          await spool.add(encodeEntry({ ...baseOf(item.rel, item.stat), type: 'symlink', link: item.link }));
          break;
        case 'file':
          yield* fileData(item);
          break;
        case 'skip':
          skip(item.rel, item.skip);
          break;
      }
    }
  }

  try {
    const { size } = await ctx.bank.putStream(DATA_OBJECT, archiveData());
    if (size !== info.bytes) {
      throw bwkError('BWK_ERR_BANK_IO', { key: DATA_OBJECT, reason: `the bank stored ${size} bytes of ${info.bytes} sent` });
    }
    await spool.close();
    const manifestSize = spool.size;
    const { size: storedManifest } = await ctx.bank.putStream(MANIFEST_OBJECT, createReadStream(spool.path));
    if (storedManifest !== manifestSize) {
      throw bwkError('BWK_ERR_BANK_IO', { key: MANIFEST_OBJECT, reason: `the bank stored ${storedManifest} bytes of ${manifestSize} sent` });
    }
    await ctx.bank.put(META_OBJECT, encodeMeta({
      format: FORMAT_NAME,
      version: FORMAT_VERSION,
      source: root,
      data: { object: DATA_OBJECT, size: info.bytes, sha256: dataHash.digest('hex') },
      manifest: { object: MANIFEST_OBJECT, size: manifestSize, sha256: spool.hash.digest('hex'), entries: spool.entries },
    }));
  } finally {
    await spool.dispose();
  }
  ctx.progress({ done: info.bytes, total: info.bytes, unit: 'bytes' });
  await ctx.saveInfo(info);
}
