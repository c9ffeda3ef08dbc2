/**
 * TEST ONLY: the format-2 protect exactly as the build before format 3 shipped it (src/plugins/fs/
 * archive-writer.ts at 4dc2a64), kept so tests can write real v2 checkpoints with the current code
 * path's building blocks and prove they still restore, verify and serve as `previous`. Only the
 * imports and the walk's new item kind ('special', skipped as v2 did) changed.
 *
 * Original note: walks the directory and streams every file into the bank's chunk store (format in
 * manifest.ts). A file whose size, mtime, inode and ctime match the previous checkpoint of the same
 * plan is not read at all: its chunks are reused. Manifest lines are spooled to a local temp file and
 * stored after the data, so the bank sees one stream at a time and memory stays constant.
 */
import { constants, createReadStream } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { Blake3Hasher } from '@napi-rs/blake-hash';
import type { ChunkedWriter, FileRead, ProtectContext } from '../../src/plugins/api.js';
import { bwkError } from '../../src/core/errors.js';
import {
  DATA_OBJECT,
  FORMAT_NAME,
  MANIFEST_OBJECT,
  META_OBJECT,
  encodeEntry,
  encodeMeta,
  displayPath,
} from '../../src/plugins/fs/manifest.js';
import type { EntryBase } from '../../src/plugins/fs/manifest.js';
import { ManifestSpool } from '../../src/plugins/fs/manifest-spool.js';
import { loadPrevious } from '../../src/plugins/fs/previous.js';
import type { PreviousFiles } from '../../src/plugins/fs/previous.js';
import { readAhead } from '../../src/plugins/fs/read-ahead.js';
import type { SmallRead } from '../../src/plugins/fs/read-ahead.js';
import { compileExcludes, walkTree } from '../../src/plugins/fs/walk.js';
import type { SkipKind } from '../../src/plugins/fs/walk.js';
import { directoryIdProblem } from '../../src/plugins/fs/protectable.js';

/** O_NOFOLLOW/O_NONBLOCK: the path may have become a symlink or a FIFO since lstat. */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const GONE = new Set(['ENOENT', 'ELOOP', 'ENXIO', 'ENOTDIR']);

/** Whether opening failed because the file is no longer a regular file at that path (vanished). */
const openFailedAsGone = (err: unknown): boolean => GONE.has(String((err as { code?: unknown }).code));

/** Large files are read in blocks this big, into one buffer reused for every block and file. */
const READ_BLOCK = 4 * 1024 * 1024;
const PROGRESS_EVERY = 8 * 1024 * 1024;
/** saved_info lists at most this many skipped entries (plus the total count), to stay small. */
const MAX_SKIPPED_LISTED = 1000;

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

type FileItem = { rel: Buffer; abs: Buffer; stat: BigIntStats };

const baseOf = (rel: Buffer, st: BigIntStats): EntryBase => ({
  path: rel,
  mode: Number(st.mode & 0o7777n),
  uid: Number(st.uid),
  gid: Number(st.gid),
  mtimeNs: st.mtimeNs,
});

/** Runs the protect `main` hook for one directory resource. */
export async function protectDirectoryV2(ctx: ProtectContext): Promise<void> {
  const excludes = await prepareSource(ctx);
  const previous = await loadPrevious(ctx, new Set());
  const writer: ChunkedWriter = await ctx.bank.chunkedWriter();
  const spool = await ManifestSpool.create();
  const archive = new DirectoryArchive(ctx, previous, writer, spool);
  try {
    await archive.addTree(excludes);
    const data = await archive.commitData();
    const manifestSize = await archive.storeManifest();
    await archive.storeMeta(data.chunks, manifestSize);
  } finally {
    await spool.dispose();
  }
  ctx.progress({ done: archive.info.bytes, total: archive.info.bytes, unit: 'bytes' });
  await ctx.saveInfo(archive.info);
}

/** Checks the directory can be protected and clears what a previous attempt left; returns the excludes. */
async function prepareSource(ctx: ProtectContext): Promise<Buffer[]> {
  const root = ctx.resource.id;
  const problem = await directoryIdProblem(root);
  if (problem !== null) throw bwkError('BWK_ERR_RESOURCE_NOT_FOUND', { type: 'fs.directory', id: root, reason: problem });
  const excludes = compileExcludes(ctx.parameters.exclude);
  // A retry must not leave a previous attempt's meta pointing at this attempt's data.
  await ctx.bank.delete(META_OBJECT);
  return excludes;
}

/**
 * One protect of one directory: the state its steps share (the chunk writer, the manifest being
 * built, the counters reported as saved_info, the read buffers), with one method per step.
 */
class DirectoryArchive {
  readonly info: SavedInfo = {
    files: 0,
    directories: 0,
    symlinks: 0,
    bytes: 0,
    unchanged_files: 0,
    unchanged_bytes: 0,
    skipped: [],
    skipped_count: 0,
  };
  private readonly root: string;
  /** info.bytes when progress was last reported. */
  private reported = 0;
  /** Two buffers serve every read of a large file (allocated at the first one). */
  private readBuffers: [Buffer, Buffer] | undefined;

  constructor(
    private readonly ctx: ProtectContext,
    private readonly previous: PreviousFiles | null,
    private readonly writer: ChunkedWriter,
    private readonly spool: ManifestSpool,
  ) {
    this.root = ctx.resource.id;
  }

  /** Walks the tree, adding every entry to the manifest and every file's content to the data stream. */
  async addTree(excludes: Buffer[]): Promise<void> {
    const wanted = (f: { rel: Buffer; stat: BigIntStats }): boolean => this.unchangedEntry(f) === undefined;
    for await (const { item, small } of readAhead(walkTree(this.root, excludes, this.ctx.signal), wanted, this.writer)) {
      switch (item.kind) {
        case 'dir':
          this.info.directories++;
          await this.spool.add(encodeEntry({ ...baseOf(item.rel, item.stat), type: 'dir' }));
          break;
        case 'symlink':
          this.info.symlinks++;
          await this.spool.add(encodeEntry({ ...baseOf(item.rel, item.stat), type: 'symlink', link: item.link }));
          break;
        case 'file':
          await this.addFile(item, small);
          break;
        case 'special':
          this.skip(item.rel, item.special === 'char_device' ? 'character_device' : item.special);
          break;
        case 'skip':
          this.skip(item.rel, item.skip);
          break;
      }
    }
  }

  /** Makes the data stream durable; checks the bank stored every byte sent. */
  async commitData(): Promise<{ size: number; chunks: number }> {
    const data = await this.writer.commit(DATA_OBJECT);
    if (data.size !== this.info.bytes) {
      throw bwkError('BWK_ERR_BANK_IO', { key: DATA_OBJECT, reason: `the bank stored ${data.size} bytes of ${this.info.bytes} sent` });
    }
    return data;
  }

  /** Stores the spooled manifest; returns its size. */
  async storeManifest(): Promise<number> {
    await this.spool.close();
    const manifestSize = this.spool.size;
    const { size: storedManifest } = await this.ctx.bank.putStream(MANIFEST_OBJECT, createReadStream(this.spool.path));
    if (storedManifest !== manifestSize) {
      const reason = `the bank stored ${storedManifest} bytes of ${manifestSize} sent`;
      throw bwkError('BWK_ERR_BANK_IO', { key: MANIFEST_OBJECT, reason });
    }
    return manifestSize;
  }

  /** Stores the meta object, last: it is what makes the data and manifest a checkpoint's. */
  async storeMeta(dataChunks: number, manifestSize: number): Promise<void> {
    await this.ctx.bank.put(
      META_OBJECT,
      encodeMeta({
        format: FORMAT_NAME,
        version: 2,
        source: this.root,
        data: { object: DATA_OBJECT, size: this.info.bytes, chunks: dataChunks },
        manifest: { object: MANIFEST_OBJECT, size: manifestSize, sha256: this.spool.hash.digest('hex'), entries: this.spool.entries },
      }),
    );
  }

  /** One file: reused when unchanged, else stored from what the workers read ahead, else streamed. */
  private async addFile(item: FileItem, ahead: Promise<SmallRead> | undefined): Promise<void> {
    if (await this.reuseUnchanged(item)) return;
    if (ahead === undefined) return this.storeStreamed(item);
    const small = await ahead;
    const f = small.read.files[small.index]!;
    switch (f.kind) {
      case 'gone':
        return this.skip(item.rel, 'vanished');
      case 'grew':
        return this.storeStreamed(item);
      case 'error':
        throw Object.assign(new Error(f.message), { code: f.code });
      case 'data':
        return this.storeSmall(item, small, f);
    }
  }

  /** The previous checkpoint's entry for a file whose size, mtime, inode and ctime are unchanged. */
  private unchangedEntry(item: { rel: Buffer; stat: BigIntStats }) {
    const prev = this.previous?.get(item.rel);
    const st = item.stat;
    if (prev === undefined || BigInt(prev.size) !== st.size || prev.mtimeNs !== st.mtimeNs) return undefined;
    if (prev.ino !== st.ino || prev.ctimeNs !== st.ctimeNs) return undefined;
    return prev;
  }

  /** Reuses the previous checkpoint's chunks of a file that has not changed; false when it must be read. */
  private async reuseUnchanged(item: { rel: Buffer; stat: BigIntStats }): Promise<boolean> {
    const prev = this.unchangedEntry(item);
    const st = item.stat;
    if (prev === undefined) return false;
    const first = this.writer.length;
    const count = prev.refs.length;
    if (!(await this.writer.reuse(prev.refs))) return false;
    await this.spool.add(
      encodeEntry({
        ...baseOf(item.rel, st),
        type: 'file',
        offset: this.info.bytes,
        size: prev.size,
        blake3: prev.blake3,
        chunks: [first, count],
        ino: st.ino,
        ctimeNs: st.ctimeNs,
      }),
    );
    this.info.files++;
    this.info.bytes += prev.size;
    this.info.unchanged_files++;
    this.info.unchanged_bytes += prev.size;
    this.reportProgress();
    return true;
  }

  /** Stores a small file the workers read (what was read is what is stored). */
  private async storeSmall(item: { rel: Buffer }, small: SmallRead, f: FileRead & { kind: 'data' }): Promise<void> {
    const offset = this.info.bytes;
    const first = this.writer.length;
    const chunks = await small.read.append(small.index);
    this.info.files++;
    this.info.bytes += f.size;
    await this.spool.add(
      encodeEntry({
        path: item.rel,
        mode: f.facts.mode & 0o7777,
        uid: f.facts.uid,
        gid: f.facts.gid,
        mtimeNs: f.facts.mtimeNs,
        type: 'file',
        offset,
        size: f.size,
        blake3: f.blake3,
        chunks: [first, chunks],
        ino: f.facts.ino,
        ctimeNs: f.facts.ctimeNs,
      }),
    );
    this.reportProgress();
  }

  /** Reads a file block by block into the data stream (a large one, or a small one that grew). */
  private async storeStreamed(item: FileItem): Promise<void> {
    let fh: FileHandle;
    try {
      fh = await open(item.abs, OPEN_FLAGS);
    } catch (err) {
      if (openFailedAsGone(err)) return this.skip(item.rel, 'vanished');
      throw err;
    }
    try {
      const st = await fh.stat({ bigint: true });
      if (!st.isFile()) return this.skip(item.rel, 'vanished');
      const offset = this.info.bytes;
      const hash = new Blake3Hasher();
      const first = this.writer.length;
      const { chunks } = await this.writer.write(this.blocks(fh, hash));
      // blocks() counted every byte it passed on into info.bytes, and nothing else did meanwhile.
      const size = this.info.bytes - offset;
      this.info.files++;
      await this.spool.add(
        encodeEntry({
          ...baseOf(item.rel, st),
          type: 'file',
          offset,
          size,
          blake3: hash.digest('hex'),
          chunks: [first, chunks],
          ino: st.ino,
          ctimeNs: st.ctimeNs,
        }),
      );
    } finally {
      await fh.close();
    }
  }

  /**
   * A file's content, block by block, hashed and counted into info.bytes as it is passed on. What was
   * read is what is stored, even if the file changes meanwhile (its ctime tells the next run). The
   * next block is read while this one is chunked and hashed (the chunk writer copies what it keeps
   * before it asks for the next block).
   */
  private async *blocks(fh: FileHandle, hash: Blake3Hasher): AsyncGenerator<Buffer> {
    this.readBuffers ??= [Buffer.allocUnsafeSlow(READ_BLOCK), Buffer.allocUnsafeSlow(READ_BLOCK)];
    let [current, spare] = this.readBuffers;
    let position = 0;
    let pending = fh.read(current, 0, READ_BLOCK, position);
    for (;;) {
      this.ctx.signal.throwIfAborted();
      const { bytesRead } = await pending;
      if (bytesRead === 0) return;
      position += bytesRead;
      const block = current.subarray(0, bytesRead);
      pending = fh.read(spare, 0, READ_BLOCK, position);
      pending.catch(() => undefined);
      hash.update(block);
      this.info.bytes += bytesRead;
      yield block;
      this.reportProgress();
      [current, spare] = [spare, current];
    }
  }

  private reportProgress(): void {
    if (this.info.bytes - this.reported < PROGRESS_EVERY) return;
    this.reported = this.info.bytes;
    this.ctx.progress({ done: this.info.bytes, unit: 'bytes' });
  }

  /** Counts an entry left out of the archive, lists the first ones and logs it. */
  private skip(rel: Buffer, kind: SkipKind): void {
    this.info.skipped_count++;
    if (this.info.skipped.length < MAX_SKIPPED_LISTED) this.info.skipped.push({ path: displayPath(rel), kind });
    this.ctx.logger.warn('fs.directory: entry not archived', { resource: this.root, path: displayPath(rel), kind });
  }
}
