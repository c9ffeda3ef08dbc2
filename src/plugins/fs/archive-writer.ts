/**
 * Protect: walks the directory and streams every file into the bank's chunk store (format in
 * manifest.ts). A file whose size, mtime, inode and ctime match the previous checkpoint of the same
 * plan is not read at all: its chunks are reused. Manifest lines are spooled to a local temp file and
 * stored after the data, so the bank sees one stream at a time and memory stays constant.
 */
import { constants, createReadStream } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { Blake3Hasher } from '@napi-rs/blake-hash';
import type { ChunkedWriter, ProtectContext } from '../api.js';
import { bwkError } from '../../core/errors.js';
import { DATA_OBJECT, FORMAT_NAME, FORMAT_VERSION, MANIFEST_OBJECT, META_OBJECT, encodeEntry, encodeMeta, displayPath } from './manifest.js';
import type { EntryBase } from './manifest.js';
import { loadPrevious } from './previous.js';
import { compileExcludes, walkTree } from './walk.js';
import type { WalkItem } from './walk.js';
import type { SkipKind } from './walk.js';
import { directoryIdProblem } from './protectable.js';

/** Large files are read in blocks this big, into one buffer reused for every block and file. */
const READ_BLOCK = 4 * 1024 * 1024;
/**
 * Files up to this size are read whole, several at a time ahead of the one being stored: a small
 * file costs four thread-pool round trips (open, fstat, read, close), which would otherwise be
 * paid one after the other.
 */
const SMALL_FILE = 1024 * 1024;
const PREFETCH_FILES = 32;
const PREFETCH_BYTES = 16 * 1024 * 1024;

/** A small file read ahead: its bytes, or why the streaming path must handle it. */
type SmallRead = { kind: 'data'; st: BigIntStats; data: Buffer } | { kind: 'gone' } | { kind: 'stream' };

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const GONE = new Set(['ENOENT', 'ELOOP', 'ENXIO', 'ENOTDIR']);

async function readSmall(abs: Buffer, size: number): Promise<SmallRead> {
  let fh: FileHandle;
  try {
    fh = await open(abs, OPEN_FLAGS);
  } catch (err) {
    if (GONE.has(String((err as { code?: unknown }).code))) return { kind: 'gone' };
    throw err;
  }
  try {
    const st = await fh.stat({ bigint: true });
    if (!st.isFile()) return { kind: 'gone' };
    const buf = Buffer.allocUnsafeSlow(size + 1);
    let got = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, got, buf.length - got, null);
      if (bytesRead === 0) break;
      got += bytesRead;
      // It grew past what lstat said: the streaming path reads it whole.
      if (got > size) return { kind: 'stream' };
    }
    return { kind: 'data', st, data: buf.subarray(0, got) };
  } finally {
    await fh.close();
  }
}
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
  /** Files found unchanged since the previous checkpoint and not read. */
  unchanged_files: number;
  unchanged_bytes: number;
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

/**
 * Passes walk items through in order, having started to read the small files among the next few
 * (those `wanted` says must be read: unchanged files are not) so their I/O overlaps.
 */
async function* readAhead(items: AsyncIterable<WalkItem>, wanted: (f: { rel: Buffer; stat: BigIntStats }) => boolean): AsyncGenerator<{ item: WalkItem; small?: Promise<SmallRead> }> {
  const queue: { item: WalkItem; small?: Promise<SmallRead>; bytes: number }[] = [];
  let bytes = 0;
  try {
    for await (const item of items) {
      if (item.kind === 'file' && item.stat.size <= BigInt(SMALL_FILE) && wanted(item)) {
        const size = Number(item.stat.size);
        const small = readSmall(item.abs, size);
        small.catch(() => undefined);
        queue.push({ item, small, bytes: size });
        bytes += size;
      } else {
        queue.push({ item, bytes: 0 });
      }
      while (queue.length > PREFETCH_FILES || bytes > PREFETCH_BYTES) {
        const next = queue.shift()!;
        bytes -= next.bytes;
        yield next;
      }
    }
    while (queue.length > 0) yield queue.shift()!;
  } finally {
    // Abandoned (a failure): let reads in flight finish so no file handle outlives the hook.
    await Promise.allSettled(queue.map((q) => q.small));
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

  const previous = await loadPrevious(ctx);
  let readBuffers: [Buffer, Buffer] | undefined;
  const writer: ChunkedWriter = await ctx.bank.chunkedWriter();
  const spool = await ManifestSpool.create();
  const info: SavedInfo = { files: 0, directories: 0, symlinks: 0, bytes: 0, unchanged_files: 0, unchanged_bytes: 0, skipped: [], skipped_count: 0 };
  let reported = 0;
  const progress = (): void => {
    if (info.bytes - reported < PROGRESS_EVERY) return;
    reported = info.bytes;
    ctx.progress({ done: info.bytes, unit: 'bytes' });
  };

  const skip = (rel: Buffer, kind: SkipKind): void => {
    info.skipped_count++;
    if (info.skipped.length < MAX_SKIPPED_LISTED) info.skipped.push({ path: displayPath(rel), kind });
    ctx.logger.warn('fs.directory: entry not archived', { resource: root, path: displayPath(rel), kind });
  };

  /** The previous checkpoint's entry for a file whose size, mtime, inode and ctime are unchanged. */
  const unchanged = (item: { rel: Buffer; stat: BigIntStats }) => {
    const prev = previous?.files.get(item.rel.toString('latin1'));
    const st = item.stat;
    if (prev === undefined || BigInt(prev.size) !== st.size || prev.mtimeNs !== st.mtimeNs || prev.ino !== st.ino || prev.ctimeNs !== st.ctimeNs) return undefined;
    return prev;
  };

  /** Reuses the previous checkpoint's chunks of a file that has not changed; false when it must be read. */
  async function reuseUnchanged(item: { rel: Buffer; stat: BigIntStats }): Promise<boolean> {
    const prev = unchanged(item);
    const st = item.stat;
    if (prev === undefined) return false;
    const first = writer.length;
    const [from, count] = prev.chunks;
    if (!(await writer.reuse(previous!.refs.slice(from, from + count)))) return false;
    await spool.add(encodeEntry({ ...baseOf(item.rel, st), type: 'file', offset: info.bytes, size: prev.size, blake3: prev.blake3, chunks: [first, count], ino: st.ino, ctimeNs: st.ctimeNs }));
    info.files++;
    info.bytes += prev.size;
    info.unchanged_files++;
    info.unchanged_bytes += prev.size;
    progress();
    return true;
  }

  /** Stores a small file read ahead (what was read is what is stored). */
  async function storeSmall(item: { rel: Buffer }, small: SmallRead & { kind: 'data' }): Promise<void> {
    const offset = info.bytes;
    const first = writer.length;
    const { chunks } = await writer.write([small.data]);
    info.files++;
    info.bytes += small.data.length;
    const blake3 = new Blake3Hasher().update(small.data).digest('hex');
    await spool.add(encodeEntry({ ...baseOf(item.rel, small.st), type: 'file', offset, size: small.data.length, blake3, chunks: [first, chunks], ino: small.st.ino, ctimeNs: small.st.ctimeNs }));
    progress();
  }

  async function storeFile(item: { rel: Buffer; abs: Buffer; stat: BigIntStats }, ahead: Promise<SmallRead> | undefined): Promise<void> {
    if (await reuseUnchanged(item)) return;
    const small = ahead ? await ahead : undefined;
    if (small?.kind === 'gone') return skip(item.rel, 'vanished');
    if (small?.kind === 'data') return storeSmall(item, small);
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
      const hash = new Blake3Hasher();
      let size = 0;
      // What was read is what is stored, even if the file changes meanwhile (its ctime tells the next run).
      // Two buffers serve every read: the next block is read while this one is chunked and hashed
      // (the chunk writer copies what it keeps before it asks for the next block).
      readBuffers ??= [Buffer.allocUnsafeSlow(READ_BLOCK), Buffer.allocUnsafeSlow(READ_BLOCK)];
      let [current, spare] = readBuffers;
      async function* content(): AsyncGenerator<Buffer> {
        let position = 0;
        let pending = fh.read(current, 0, READ_BLOCK, position);
        for (;;) {
          ctx.signal.throwIfAborted();
          const { bytesRead } = await pending;
          if (bytesRead === 0) return;
          position += bytesRead;
          const block = current.subarray(0, bytesRead);
          pending = fh.read(spare, 0, READ_BLOCK, position);
          pending.catch(() => undefined);
          hash.update(block);
          size += bytesRead;
          info.bytes += bytesRead;
          yield block;
          progress();
          [current, spare] = [spare, current];
        }
      }
      const first = writer.length;
      const { chunks } = await writer.write(content());
      info.files++;
      await spool.add(encodeEntry({ ...baseOf(item.rel, st), type: 'file', offset, size, blake3: hash.digest('hex'), chunks: [first, chunks], ino: st.ino, ctimeNs: st.ctimeNs }));
    } finally {
      await fh.close();
    }
  }

  try {
    for await (const { item, small } of readAhead(walkTree(root, excludes, ctx.signal), (f) => unchanged(f) === undefined)) {
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
          await storeFile(item, small);
          break;
        case 'skip':
          skip(item.rel, item.skip);
          break;
      }
    }
    const data = await writer.commit(DATA_OBJECT);
    if (data.size !== info.bytes) {
      throw bwkError('BWK_ERR_BANK_IO', { key: DATA_OBJECT, reason: `the bank stored ${data.size} bytes of ${info.bytes} sent` });
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
      data: { object: DATA_OBJECT, size: info.bytes, chunks: data.chunks },
      manifest: { object: MANIFEST_OBJECT, size: manifestSize, sha256: spool.hash.digest('hex'), entries: spool.entries },
    }));
  } finally {
    await spool.dispose();
  }
  ctx.progress({ done: info.bytes, total: info.bytes, unit: 'bytes' });
  await ctx.saveInfo(info);
}
