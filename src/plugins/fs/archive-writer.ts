/**
 * Protect: walks the directory and streams every file into the bank's chunk store, writing format 3
 * (tree.ts). A file whose size, mtime, inode and ctime match the previous checkpoint of the same
 * plan (v2 or v3) is not read at all: its chunks are reused. Entries are spooled to a local temp
 * file during the walk; once the data is committed (and every chunk id known) the spool is read once
 * more to build the trees, children first (tree-builder.ts), so memory stays bounded by the tree's
 * depth and width.
 *
 * Fidelity: hard links are stored once (the first path in walk order) and later paths as links to
 * it; extended attributes (ACLs and capabilities included) are read per entry; FIFOs, devices and
 * sockets are recorded. What cannot be read is listed in saved_info and logged, and with
 * `on_unreadable: fail` fails the protect before anything is committed.
 */
import { constants } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { Blake3Hasher } from '@napi-rs/blake-hash';
import type { ChunkRef, ChunkedWriter, FileFacts, FileRescan, ProtectContext } from '../api.js';
import { bwkError } from '../../core/errors.js';
import { DATA_OBJECT, META_OBJECT, displayPath, resourceLabel } from './manifest.js';
import type { EntryBase, Xattr } from './manifest.js';
import { ManifestSpool } from './manifest-spool.js';
import { buildTrees, spoolLine } from './tree-builder.js';
import type { SpoolEntry } from './tree-builder.js';
import { parseXattrOptions, readXattrs } from './xattrs.js';
import type { XattrOptions } from './xattrs.js';
import { loadPrevious } from './previous.js';
import type { PreviousFiles } from './previous.js';
import { readAhead } from './read-ahead.js';
import type { SmallRead } from './read-ahead.js';
import { compileExcludes, isDenied, walkTree } from './walk.js';
import type { SkipKind } from './walk.js';
import { directoryIdProblem } from './protectable.js';

/** O_NOFOLLOW/O_NONBLOCK: the path may have become a symlink or a FIFO since lstat. */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const GONE = new Set(['ENOENT', 'ELOOP', 'ENXIO', 'ENOTDIR']);

/** Whether opening failed because the file is no longer a regular file at that path (vanished). */
const openFailedAsGone = (err: unknown): boolean => GONE.has(String((err as { code?: unknown }).code));

/** Large files are read in blocks this big, into one buffer reused for every block and file. */
const READ_BLOCK = 4 * 1024 * 1024;
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
  /** Paths stored as links to a file archived earlier (its data counted once). */
  hardlinks: number;
  /** FIFOs, devices and sockets recorded. */
  special_files: number;
  /** Entries stored with at least one extended attribute (ACLs and capabilities included). */
  with_xattrs: number;
  /** Entries not captured, or captured without some extended attributes; at most MAX_SKIPPED_LISTED. */
  skipped: { path: string; kind: SkipKind; reason?: string }[];
  skipped_count: number;
  on_unreadable: 'fail' | 'warn';
}

const parseOnUnreadable = (v: unknown): 'fail' | 'warn' => {
  if (v === undefined || v === 'warn') return 'warn';
  if (v === 'fail') return 'fail';
  throw bwkError('BWK_ERR_INVALID_INPUT', { reason: 'fs.directory option "on_unreadable" must be "fail" or "warn"' });
};

type FileItem = { rel: Buffer; abs: Buffer; stat: BigIntStats };

const baseOf = (rel: Buffer, st: { mode: bigint | number; uid: bigint | number; gid: bigint | number; mtimeNs: bigint }): EntryBase => ({
  path: rel,
  mode: Number(BigInt(st.mode) & 0o7777n),
  uid: Number(st.uid),
  gid: Number(st.gid),
  mtimeNs: st.mtimeNs,
});

/** A file's spooled entry: its facts as read (lstat or fstat), its size, BLAKE3 and place in the data stream. */
const fileEntry = (
  rel: Buffer,
  facts: { mode: bigint | number; uid: bigint | number; gid: bigint | number; mtimeNs: bigint; ino: bigint; ctimeNs: bigint },
  data: { size: number; blake3: string; chunks: [number, number] },
): SpoolEntry => ({ ...baseOf(rel, facts), type: 'file', ...data, ino: facts.ino, ctimeNs: facts.ctimeNs });

/** Runs the protect `main` hook for one directory resource. */
export async function protectDirectory(ctx: ProtectContext): Promise<void> {
  const excludes = await prepareSource(ctx);
  const onUnreadable = parseOnUnreadable(ctx.parameters.on_unreadable);
  const xattrOpts = parseXattrOptions(ctx.parameters.xattrs);
  const spool = await ManifestSpool.create();
  let archive: DirectoryArchive;
  try {
    const previous = await loadPrevious(ctx, xattrOpts.skip);
    try {
      const writer: ChunkedWriter = await ctx.bank.chunkedWriter();
      archive = new DirectoryArchive(ctx, previous, writer, spool, xattrOpts, onUnreadable);
      await archive.addTree(excludes);
    } finally {
      // Only the walk asks about the previous checkpoint: its trees are freed before the new ones are built.
      previous?.close();
    }
    archive.applyPolicy();
    const data = await archive.commitData();
    await spool.close();
    await buildTrees(ctx, spool, data.refs, {
      ...archive.info,
      xattrs: { skip_namespaces: [...xattrOpts.skip].sort(), complete: archive.xattrProblems === 0 },
    });
  } finally {
    await spool.dispose();
  }
  const n = archive.info.skipped_count;
  // The paths stay in the sealed saved info; the count is what the operation's progress shows.
  const message = n > 0 ? `${n} entr${n === 1 ? 'y' : 'ies'} not captured (listed by bulwark checkpoint show)` : undefined;
  ctx.progress({ done: archive.info.bytes, total: archive.info.bytes, unit: 'bytes', ...(message ? { message } : {}) });
  if (archive.info.skipped_count > 0) {
    ctx.logger.warn('fs.directory: entries not captured or captured in part', {
      resource: ctx.resource.id,
      count: archive.info.skipped_count,
      first: archive.info.skipped[0]?.path,
    });
  }
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
    hardlinks: 0,
    special_files: 0,
    with_xattrs: 0,
    skipped: [],
    skipped_count: 0,
    on_unreadable: 'warn',
  };
  /** Files with more than one link: (device, inode) → the path archived first (walk order). */
  private readonly linkFirst = new Map<string, Buffer>();
  /** The same keys, marked when the walk passes them (read-ahead must read a linked file once). */
  private readonly linkSeen = new Set<string>();
  private readonly root: string;
  /** info.bytes when progress was last reported. */
  private reported = 0;
  /** Entries whose extended attributes could not all be read. */
  xattrProblems = 0;
  /** Two buffers serve every read of a large file (allocated at the first one). */
  private readBuffers: [Buffer, Buffer] | undefined;

  constructor(
    private readonly ctx: ProtectContext,
    private readonly previous: PreviousFiles | null,
    private readonly writer: ChunkedWriter,
    private readonly spool: ManifestSpool,
    private readonly xattrOpts: XattrOptions,
    onUnreadable: 'fail' | 'warn',
  ) {
    this.root = ctx.resource.id;
    this.info.on_unreadable = onUnreadable;
  }

  /** Walks the tree, spooling every entry and adding every file's content to the data stream. */
  async addTree(excludes: Buffer[]): Promise<void> {
    const wanted = (f: { rel: Buffer; stat: BigIntStats }): boolean => {
      if (f.stat.nlink > 1n) {
        const key = linkKey(f.stat);
        if (this.linkSeen.has(key)) return false;
        this.linkSeen.add(key);
      }
      return this.unchangedEntry(f) === undefined;
    };
    // A changed large file with a previous version is most likely mostly the same: scanned by a worker.
    const rescan = (f: { rel: Buffer }): boolean => this.previous?.get(f.rel) !== undefined;
    const walk = walkTree(this.root, excludes, this.ctx.signal);
    for await (const { item, small, scan } of readAhead(walk, wanted, this.writer, rescan)) {
      switch (item.kind) {
        case 'dir':
          this.info.directories++;
          await this.add(item.abs, { ...baseOf(item.rel, item.stat), type: 'dir' });
          break;
        case 'symlink':
          this.info.symlinks++;
          await this.add(item.abs, { ...baseOf(item.rel, item.stat), type: 'symlink', link: item.link });
          break;
        case 'special':
          this.info.special_files++;
          await this.add(item.abs, {
            ...baseOf(item.rel, item.stat),
            type: item.special,
            rdev: splitDev(item.stat.rdev),
          });
          break;
        case 'file':
          if (!(await this.addLink(item))) await this.addFile(item, small, scan);
          break;
        case 'skip':
          this.skip(item.rel, item.skip, item.reason);
          break;
      }
    }
  }

  /** With on_unreadable "fail", any entry not captured fails the protect before anything is committed. */
  applyPolicy(): void {
    if (this.info.on_unreadable !== 'fail' || this.info.skipped_count === 0) return;
    const first = this.info.skipped[0]!;
    throw bwkError('BWK_ERR_ENTRIES_NOT_CAPTURED', {
      resource: resourceLabel(this.root),
      count: this.info.skipped_count,
      first: `"${first.path}" (${first.kind}${first.reason ? `: ${first.reason}` : ''})`,
    });
  }

  /** Makes the data stream durable; checks the bank stored every byte sent. */
  async commitData(): Promise<{ size: number; chunks: number; refs: ChunkRef[] }> {
    const data = await this.writer.commit(DATA_OBJECT);
    if (data.size !== this.info.bytes) {
      throw bwkError('BWK_ERR_BANK_IO', { key: DATA_OBJECT, reason: `the bank stored ${data.size} bytes of ${this.info.bytes} sent` });
    }
    return data;
  }

  /**
   * Spools an entry with its extended attributes (an attribute that cannot be read is reported).
   * `known`: the attributes the previous checkpoint recorded for an unchanged file, which stand for
   * reading them again (a listxattr per file was the largest cost of a no-change protect).
   */
  private async add(abs: Buffer, e: SpoolEntry, known?: Xattr[]): Promise<void> {
    let xattrs = known;
    if (xattrs === undefined) {
      const read = readXattrs(abs, this.xattrOpts);
      if (read.problem !== null) {
        this.xattrProblems++;
        this.skip(e.path, 'xattrs', read.problem);
      }
      xattrs = read.xattrs;
    }
    if (xattrs.length > 0) this.info.with_xattrs++;
    await this.spool.add(spoolLine({ ...e, xattrs }));
  }

  /** A second path to a file already archived: stored as a link to the first. */
  private async addLink(item: FileItem): Promise<boolean> {
    if (item.stat.nlink <= 1n) return false;
    const target = this.linkFirst.get(linkKey(item.stat));
    if (target === undefined) return false;
    this.info.hardlinks++;
    await this.add(item.abs, { ...baseOf(item.rel, item.stat), type: 'hardlink', target });
    return true;
  }

  /** One file: reused when unchanged, else stored from what the workers read ahead, else streamed. */
  private async addFile(item: FileItem, ahead: Promise<SmallRead> | undefined, scan: Promise<FileRescan> | undefined): Promise<void> {
    const files = this.info.files;
    await this.addFileData(item, ahead, scan);
    // Archived (not skipped): later paths with the same (device, inode) link to this one.
    if (this.info.files > files && item.stat.nlink > 1n) this.linkFirst.set(linkKey(item.stat), item.rel);
  }

  private async addFileData(item: FileItem, ahead: Promise<SmallRead> | undefined, scan: Promise<FileRescan> | undefined): Promise<void> {
    if (await this.reuseUnchanged(item)) return;
    if (scan !== undefined) {
      // A large file a worker scanned: only its new chunks are read again; streamed when too much changed.
      const s = await scan;
      if (s.kind !== 'data') return this.notRead(item, s);
      if (!(await this.storeRead(item, s, () => s.append()))) await this.storeStreamed(item);
      return;
    }
    if (ahead === undefined) return this.storeStreamed(item);
    const small = await ahead;
    const f = small.read.files[small.index]!;
    if (f.kind === 'grew') return this.storeStreamed(item);
    if (f.kind !== 'data') return this.notRead(item, f);
    await this.storeRead(item, f, () => small.read.append(small.index));
  }

  /** A file the workers could not read: vanished or refused is reported, anything else fails the protect. */
  private notRead(item: FileItem, f: { kind: 'gone' } | { kind: 'error'; code: string | undefined; message: string }): void {
    if (f.kind === 'gone') return this.skip(item.rel, 'vanished');
    if (isDenied(f)) return this.skip(item.rel, 'unreadable', f.code);
    throw Object.assign(new Error(f.message), { code: f.code });
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
  private async reuseUnchanged(item: FileItem): Promise<boolean> {
    const prev = this.unchangedEntry(item);
    const st = item.stat;
    if (prev === undefined) return false;
    const first = this.writer.length;
    const count = prev.refs.length;
    if (!(await this.writer.reuse(prev.refs))) return false;
    // Setting or removing an attribute changes the ctime, which matched: the recorded ones still hold.
    const known = this.previous!.xattrsReusable ? (prev.xattrs ?? []) : undefined;
    await this.add(item.abs, fileEntry(item.rel, st, { size: prev.size, blake3: prev.blake3, chunks: [first, count] }), known);
    this.info.files++;
    this.info.bytes += prev.size;
    this.info.unchanged_files++;
    this.info.unchanged_bytes += prev.size;
    this.reportProgress();
    return true;
  }

  /**
   * Stores a file the workers read (a small file's batch, a large file's scan): what was read is what
   * is stored. False, with nothing stored, when `append` declines (the scan is out of date).
   */
  private async storeRead(
    item: FileItem,
    f: { facts: FileFacts; size: number; blake3: string },
    append: () => Promise<number | null>,
  ): Promise<boolean> {
    const first = this.writer.length;
    const chunks = await append();
    if (chunks === null) return false;
    this.info.files++;
    this.info.bytes += f.size;
    await this.add(item.abs, fileEntry(item.rel, f.facts, { size: f.size, blake3: f.blake3, chunks: [first, chunks] }));
    this.reportProgress();
    return true;
  }

  /** Reads a file block by block into the data stream (a large one, or a small one that grew). */
  private async storeStreamed(item: FileItem): Promise<void> {
    let fh: FileHandle;
    try {
      fh = await open(item.abs, OPEN_FLAGS);
    } catch (err) {
      if (openFailedAsGone(err)) return this.skip(item.rel, 'vanished');
      if (isDenied(err)) return this.skip(item.rel, 'unreadable', String((err as { code?: unknown }).code));
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
      await this.add(item.abs, fileEntry(item.rel, st, { size, blake3: hash.digest('hex'), chunks: [first, chunks] }));
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

  /** Counts an entry left out of the archive (or in part), lists the first ones and logs it. */
  private skip(rel: Buffer, kind: SkipKind, reason?: string): void {
    this.info.skipped_count++;
    const listed = reason === undefined ? { path: displayPath(rel), kind } : { path: displayPath(rel), kind, reason };
    if (this.info.skipped.length < MAX_SKIPPED_LISTED) this.info.skipped.push(listed);
    this.ctx.logger.warn('fs.directory: entry not archived', { resource: this.root, ...listed });
  }
}

/** Linux's dev_t encoding (glibc's gnu_dev_major/minor). */
const splitDev = (d: bigint): [number, number] => [
  Number(((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn)),
  Number((d & 0xffn) | ((d >> 12n) & ~0xffn)),
];

const linkKey = (st: { dev: bigint; ino: bigint }): string => `${st.dev}:${st.ino}`;
