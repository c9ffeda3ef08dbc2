/**
 * Restore `main`: after the preflight passes, reads `data`'s chunks in order (the chunk store reads
 * ahead in parallel) and recreates the tree. Each file goes to a temp name in its directory and is
 * renamed into place only when its BLAKE3 matches, so a corrupt file never lands. Runs of zeros are
 * not written but left as holes, so sparse files (VM images, databases) stay sparse. Directory modes
 * and times are applied last, deepest first, because creating children changes a directory's mtime
 * (and a 0555 directory could not be filled).
 */
import { constants } from 'node:fs';
import { lchown, lutimes, mkdir, open, rename, symlink, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { Blake3Hasher } from '@napi-rs/blake-hash';
import type { BankSection, ChunkRef, ReadChunksOptions, RestoreContext } from '../api.js';
import { bwkError } from '../../core/errors.js';
import { ByteReader } from './byte-reader.js';
import { assertEntryPath } from './entry-path.js';
import { DATA_OBJECT, corrupt, corruptInFile, displayPath, resourceLabel } from './manifest.js';
import type { Entry, SpecialType, Xattr } from './manifest.js';
import { pathKey } from './entry-path.js';
import { RestoreReport, applyXattrs, makeHardlink, makeSpecial } from './restore-fidelity.js';
import { preflightRestore } from './restore-preflight.js';
import type { Preflight } from './restore-preflight.js';
import { parseRestoreParams } from './restore-target.js';
import { createRestoreRoot, resolveRestoreRoot } from './restore-root.js';
import type { ConflictMode } from './restore-target.js';
import { diskKind, ensureParentDirs, joinRoot, nsToSeconds, parentOf } from './safe-fs.js';
import { SmallFileWriteError, SmallFileWriters } from './small-files.js';

const PROGRESS_EVERY = 8 * 1024 * 1024;

type DirEntry = Entry & { type: 'dir' };

interface Writer {
  root: string;
  rootBuf: Buffer;
  label: string;
  mode: ConflictMode;
  setOwner: boolean;
  reader: ByteReader;
  /** Directories whose metadata is applied at the end. */
  dirs: DirEntry[];
  /** Ancestor directories already checked to be real directories (not symlinks) during this restore. */
  verifiedDirs: Set<string>;
  /** The root was created by this restore: it holds only what the restore put there. */
  fresh: boolean;
  small: SmallFileWriters<FileEntry>;
  isRoot: boolean;
  /** Files this restore wrote that a hard link names (a link never points at a file it did not write). */
  linkTargets: Map<string, boolean>;
  /** Hard links, made once every file is written. */
  links: (Entry & { type: 'hardlink' })[];
  /** Attributes of non-directories, set once every file is written (after owner and mode). */
  xattrs: { path: Buffer; xattrs: Xattr[] }[];
  skipXattrs: ReadonlySet<string>;
  report: RestoreReport;
  /** Every file's chunks, in entry order (a large file's range is read from here). */
  refs: readonly ChunkRef[];
  /** Large files being written by the bank's codec workers (writeChunksToFile), at most LARGE_IN_FLIGHT. */
  large: Set<Promise<void>>;
  /** The first of those that failed, as the restore reports it. */
  largeFailure: { err: unknown } | null;
  /** Bytes of the large files written so far (progress: the stream's position counts the rest). */
  largeDone: number;
  bank: BankSection;
  signal: AbortSignal;
}

type FileEntry = Entry & { type: 'file' };

/**
 * Files up to this size are gathered in memory and written by the small-file writers (worker threads
 * making about eight synchronous calls per file); larger ones are streamed to a temp file here.
 */
const SMALL_FILE = 1024 * 1024;

/**
 * The mode an entry gets. Setuid, setgid and sticky bits only come back with the owner they were set
 * for (as `tar --no-same-owner` does): applied to a file the restoring user (root) now owns, a setuid
 * bit would hand out that user's rights.
 */
const modeOf = (w: Writer, e: Entry): number => (w.setOwner ? e.mode : e.mode & ~0o7000);

const tempName = (dir: Buffer): Buffer => joinRoot(dir, Buffer.from(`.bwk-restore-${randomBytes(8).toString('hex')}.tmp`));

function raceConflict(w: Writer, e: Entry, why: string): Error {
  return bwkError('BWK_ERR_RESTORE_CONFLICT', { target: w.root, count: 1, first: `"${displayPath(e.path)}" (${why})` });
}

/** Decides what to do with an entry given what is on disk; `skip` consumes nothing by itself. */
async function placement(w: Writer, e: Entry): Promise<'create' | 'replace' | 'skip'> {
  const blocked = await ensureParentDirs(w.rootBuf, e.path, w.root, w.verifiedDirs);
  if (blocked !== null) {
    if (w.mode === 'skip') return 'skip';
    throw raceConflict(w, e, `"${displayPath(blocked)}" is not a directory`);
  }
  // A root this restore created (0700) holds only what it made, in manifest order: nothing to look at
  // (an lstat per file was a tenth of a restore). Creating with O_EXCL still refuses any clash.
  if (w.fresh) return 'create';
  const kind = await diskKind(joinRoot(w.rootBuf, e.path));
  if (kind === 'missing') return 'create';
  if (w.mode === 'skip') return 'skip';
  if (e.type === 'dir' && kind === 'dir') return 'replace';
  if (w.mode === 'fail') throw raceConflict(w, e, 'it appeared after the restore started');
  if (kind === 'dir') throw raceConflict(w, e, 'a directory where the checkpoint has a file; overwrite never deletes directories');
  return 'replace';
}

async function restoreDir(w: Writer, e: DirEntry, rootExisted: boolean): Promise<void> {
  if (e.path.length === 1 && e.path[0] === 0x2e) {
    if (!(rootExisted && w.mode === 'skip')) w.dirs.push(e);
    return;
  }
  const how = await placement(w, e);
  if (how === 'skip') return;
  const path = joinRoot(w.rootBuf, e.path);
  if (how === 'replace' && (await diskKind(path)) !== 'dir') await unlink(path);
  if ((await diskKind(path)) !== 'dir') await mkdir(path, { mode: 0o700 });
  w.dirs.push(e);
}

const HOLE_BLOCK = 64 * 1024;
/** Chunk writes of one large file in flight at once. */
const WRITES_IN_FLIGHT = 4;
const ZEROS = Buffer.alloc(HOLE_BLOCK);

async function writeAt(fh: FileHandle, data: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) done += (await fh.write(data, done, data.length - done, position + done)).bytesWritten;
}

/**
 * Writes `chunk` at `position`, skipping 64 KiB blocks of zeros (the file is truncated to its full
 * size at the end, so skipped blocks read back as zeros and take no disk space).
 */
async function writeSparse(fh: FileHandle, chunk: Buffer, position: number): Promise<void> {
  let runStart = -1;
  for (let at = 0; at < chunk.length; at += HOLE_BLOCK) {
    const block = chunk.subarray(at, at + HOLE_BLOCK);
    const zero = block.length === HOLE_BLOCK ? block.equals(ZEROS) : block.equals(ZEROS.subarray(0, block.length));
    if (zero) {
      if (runStart >= 0) await writeAt(fh, chunk.subarray(runStart, at), position + runStart);
      runStart = -1;
    } else if (runStart < 0) {
      runStart = at;
    }
  }
  if (runStart >= 0) await writeAt(fh, chunk.subarray(runStart), position + runStart);
}

/** Writes one file from its chunks to a temp name, checks its BLAKE3, then renames it into place. */
async function writeFile(
  w: Writer,
  e: Entry & { type: 'file' },
  content: AsyncIterable<Buffer> | Iterable<Buffer>,
  onBytes: () => void,
): Promise<void> {
  const temp = tempName(joinRoot(w.rootBuf, parentOf(e.path)));
  const fh = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  let closed = false;
  try {
    const hash = new Blake3Hasher();
    let position = 0;
    // Writes go to the thread pool while the next chunk is hashed: positional, so they may finish in
    // any order; a few in flight, all done before the file is checked, truncated and renamed.
    const writing = new Set<Promise<void>>();
    // The first write that failed (set from its callback).
    const failure: { err?: unknown; failed: boolean } = { failed: false };
    try {
      for await (const chunk of content) {
        hash.update(chunk);
        const done: Promise<void> = writeSparse(fh, chunk, position)
          .catch((err: unknown) => {
            if (!failure.failed) Object.assign(failure, { err, failed: true });
          })
          .finally(() => writing.delete(done));
        writing.add(done);
        position += chunk.length;
        onBytes();
        if (writing.size >= WRITES_IN_FLIGHT) await Promise.race(writing);
        if (failure.failed) throw failure.err;
      }
    } finally {
      await Promise.allSettled(writing);
    }
    if (failure.failed) throw failure.err;
    closed = true;
    await landTemp(w, e, fh, temp, hash.digest('hex'));
  } catch (err) {
    if (!closed) await fh.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw err;
  }
}

/**
 * Checks a fully written temp file's BLAKE3, then gives it its size, owner, mode and times, closes it
 * and renames it into place. Closes `fh` whatever happens; the caller unlinks the temp file on failure.
 */
async function landTemp(w: Writer, e: FileEntry, fh: FileHandle, temp: Buffer, blake3: string): Promise<void> {
  let closed = false;
  try {
    if (blake3 !== e.blake3) {
      throw corrupt(w.label, `file "${displayPath(e.path)}" does not match its BLAKE3 in the checkpoint; it was not restored`);
    }
    await fh.truncate(e.size);
    // chown before chmod: chown clears setuid/setgid bits.
    if (w.setOwner) await fh.chown(e.uid, e.gid);
    await fh.chmod(modeOf(w, e));
    // atime is "now": an old atime would make restored files look stale to cleanup tools.
    await fh.utimes(Date.now() / 1000, nsToSeconds(e.mtimeNs));
    closed = true;
    await fh.close();
    await rename(temp, joinRoot(w.rootBuf, e.path));
  } finally {
    if (!closed) await fh.close().catch(() => undefined);
  }
}

/**
 * The small files' stream reads ahead less when large files are written beside it: they have read
 * windows of their own (file-restore.ts), and the stream's default 32 MiB then only raised the peak
 * (8 MiB: ~20 MiB lower on the bench corpus, no slower). With no large file it is the only reader and
 * keeps the default.
 */
const streamOptions = (pre: Preflight): ReadChunksOptions => (pre.streamed.length < pre.refs.length ? { aheadBytes: 8 * 1024 * 1024 } : {});

/** Large files written by the bank's codec workers at once: one per worker of a two-core machine. */
const LARGE_IN_FLIGHT = 2;

/**
 * Writes a large file from its own chunks with the bank's writeChunksToFile, so its plaintext never
 * reaches this thread, then lands it as writeFile does. The fd stays open until the bank is done.
 */
async function writeFileDirect(w: Writer, e: FileEntry): Promise<void> {
  const temp = tempName(joinRoot(w.rootBuf, parentOf(e.path)));
  const fh = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    const [first, count] = e.chunks;
    const blake3 = await w.bank.writeChunksToFile!(w.refs.slice(first, first + count), fh.fd, w.signal);
    await landTemp(w, e, fh, temp, blake3);
  } catch (err) {
    await fh.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw err;
  }
}

/** Throws the first large file's failure, if one has failed. */
function throwLargeFailure(w: Writer): void {
  if (w.largeFailure !== null) throw w.largeFailure.err;
}

/** Starts a large file's direct write once fewer than LARGE_IN_FLIGHT are in flight. */
async function startLarge(w: Writer, e: FileEntry, onBytes: () => void): Promise<void> {
  while (w.large.size >= LARGE_IN_FLIGHT) await Promise.race(w.large);
  throwLargeFailure(w);
  const done: Promise<void> = writeFileDirect(w, e)
    .then(() => {
      w.largeDone += e.size;
      fileWritten(w, e);
      onBytes();
    })
    .catch((err: unknown) => {
      w.largeFailure ??= { err: corruptInFile(w.label, e.path, err) };
    })
    .finally(() => w.large.delete(done));
  w.large.add(done);
}

/** Waits for every large file in flight; throws the first failure. */
async function drainLarge(w: Writer): Promise<void> {
  while (w.large.size > 0) await Promise.allSettled([...w.large]);
  throwLargeFailure(w);
}

/** What follows a file's landing: hard links may name it, its attributes are set at the end. */
function fileWritten(w: Writer, e: FileEntry): void {
  const key = pathKey(e.path);
  if (w.linkTargets.has(key)) w.linkTargets.set(key, true);
  if (e.xattrs?.length) w.xattrs.push({ path: e.path, xattrs: e.xattrs });
}

/**
 * Writes one file (or queues it for the small-file writers, or starts its direct write); false when
 * the conflict mode skipped it or it is still being written (it is then marked written on landing).
 */
async function restoreFile(w: Writer, e: Entry & { type: 'file' }, onBytes: () => void): Promise<boolean> {
  const short = (): Error => corrupt(w.label, `${DATA_OBJECT} ended before the end of file "${displayPath(e.path)}"`);
  if (e.size > SMALL_FILE && w.bank.writeChunksToFile !== undefined) {
    // Its chunks are not in the stream (the preflight left them out).
    if ((await placement(w, e)) !== 'skip') await startLarge(w, e, onBytes);
    return false;
  }
  if (e.size > SMALL_FILE) {
    if ((await placement(w, e)) === 'skip') {
      await w.reader.skip(e.size, short);
      return false;
    }
    await writeFile(w, e, w.reader.take(e.size, short), onBytes);
    return true;
  }
  const parts: Buffer[] = [];
  for await (const chunk of w.reader.take(e.size, short)) parts.push(chunk);
  const how = await placement(w, e);
  if (how === 'skip') return false;
  // The writers check the BLAKE3 before anything is written and create the file with O_EXCL; a
  // replacement goes to a temp name renamed into place.
  await w.small.add({
    data: parts.length === 1 ? parts[0]! : Buffer.concat(parts),
    tag: e,
    write: {
      final: joinRoot(w.rootBuf, e.path),
      temp: how === 'create' ? null : tempName(joinRoot(w.rootBuf, parentOf(e.path))),
      blake3: e.blake3,
      mode: modeOf(w, e),
      owner: w.setOwner ? { uid: e.uid, gid: e.gid } : null,
      mtime: nsToSeconds(e.mtimeNs),
    },
  });
  onBytes();
  return true;
}

/** A small file's failed write as the error the restore reports, naming the file. */
function smallFileError(w: Writer, err: unknown): unknown {
  if (!(err instanceof SmallFileWriteError)) return err;
  const { tag: e, corrupt: isCorrupt, code, message } = (err as SmallFileWriteError<FileEntry>).failure;
  if (isCorrupt) return corrupt(w.label, `file "${displayPath(e.path)}" does not match its BLAKE3 in the checkpoint; it was not restored`);
  if (code === 'EEXIST') return raceConflict(w, e, 'it appeared after the restore started');
  return Object.assign(new Error(message), { code });
}

async function restoreSymlink(w: Writer, e: Entry & { type: 'symlink' }): Promise<void> {
  if (!(await writeSymlink(w, e))) return;
  if (e.xattrs?.length) w.xattrs.push({ path: e.path, xattrs: e.xattrs });
}

async function writeSymlink(w: Writer, e: Entry & { type: 'symlink' }): Promise<boolean> {
  const how = await placement(w, e);
  if (how === 'skip') return false;
  const path = joinRoot(w.rootBuf, e.path);
  if (how === 'create') {
    await symlink(e.link, path);
  } else {
    const temp = tempName(joinRoot(w.rootBuf, parentOf(e.path)));
    await symlink(e.link, temp);
    await rename(temp, path).catch(async (err: unknown) => {
      await unlink(temp).catch(() => undefined);
      throw err;
    });
  }
  if (w.setOwner) await lchown(path, e.uid, e.gid);
  await lutimes(path, Date.now() / 1000, nsToSeconds(e.mtimeNs));
  return true;
}

/** Applies modes, owners and times to the restored directories, deepest first, without following links. */
async function finishDirs(w: Writer): Promise<void> {
  const depth = (e: DirEntry): number => (e.path.length === 1 && e.path[0] === 0x2e ? -1 : e.path.filter((b) => b === 0x2f).length);
  w.dirs.sort((a, b) => depth(b) - depth(a));
  for (const e of w.dirs) {
    const fh = await open(joinRoot(w.rootBuf, e.path), constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
    try {
      if (w.setOwner) await fh.chown(e.uid, e.gid);
      await fh.chmod(modeOf(w, e));
      applyXattrs(w.rootBuf, e.path, e.xattrs, w.skipXattrs, w.report);
      await fh.utimes(Date.now() / 1000, nsToSeconds(e.mtimeNs));
    } finally {
      await fh.close();
    }
  }
}

/** A FIFO, device or socket: recreated where it can be, else reported. */
async function restoreSpecial(w: Writer, e: Entry & { type: SpecialType }): Promise<void> {
  const how = await placement(w, e);
  if (how === 'skip') return;
  if (how === 'replace' && e.type !== 'socket') await unlink(joinRoot(w.rootBuf, e.path));
  const why = await makeSpecial(w.rootBuf, e, { isRoot: w.isRoot, setOwner: w.setOwner, mode: modeOf(w, e) });
  if (why !== null) w.report.add(e.path, e.type, why);
  else if (e.xattrs?.length) w.xattrs.push({ path: e.path, xattrs: e.xattrs });
}

/** Hard links, after every file is on disk: each one to a file this restore wrote. */
async function restoreLinks(w: Writer): Promise<void> {
  for (const e of w.links) {
    if (w.linkTargets.get(pathKey(e.target)) !== true) {
      w.report.add(e.path, 'hardlink', `its file "${displayPath(e.target)}" was not written by this restore`);
      continue;
    }
    const how = await placement(w, e);
    if (how === 'skip') continue;
    await makeHardlink(w.rootBuf, e, how === 'create' ? null : tempName(joinRoot(w.rootBuf, parentOf(e.path))));
  }
}

/** Runs the restore `main` hook for one directory resource. */
export async function restoreDirectory(ctx: RestoreContext): Promise<void> {
  const label = resourceLabel(ctx.resource.id);
  const params = parseRestoreParams(ctx.resource, ctx.parameters);
  const root = await resolveRestoreRoot(params.targetPath, ctx.policy);
  const direct = ctx.bank.writeChunksToFile !== undefined ? SMALL_FILE : null;
  const pre = await preflightRestore(ctx.bank, label, root, params.conflict, ctx.signal, direct);
  try {
    await restoreArchive(ctx, pre, root, label, params);
  } finally {
    pre.archive.close();
  }
}

async function restoreArchive(
  ctx: RestoreContext,
  pre: Preflight,
  root: string,
  label: string,
  params: ReturnType<typeof parseRestoreParams>,
): Promise<void> {
  const dataSize = pre.archive.dataSize;
  await createRestoreRoot(params.targetPath, root);

  const w: Writer = {
    root,
    rootBuf: Buffer.from(root, 'utf8'),
    label,
    mode: params.conflict,
    setOwner: params.restoreOwner && process.getuid?.() === 0,
    reader: new ByteReader(
      Readable.from(ctx.bank.readChunks(pre.streamed, ctx.signal, streamOptions(pre)), {
        objectMode: false,
      }),
    ),
    dirs: [],
    verifiedDirs: new Set(),
    fresh: !pre.rootExisted,
    small: new SmallFileWriters<FileEntry>(),
    isRoot: process.getuid?.() === 0,
    linkTargets: new Map([...pre.linkTargets].map((k) => [k, false])),
    links: [],
    xattrs: [],
    skipXattrs: params.skipXattrNamespaces,
    report: new RestoreReport(ctx.resource.id, ctx.logger),
    refs: pre.refs,
    large: new Set(),
    largeFailure: null,
    largeDone: 0,
    bank: ctx.bank,
    signal: ctx.signal,
  };
  let reported = 0;
  const onBytes = (): void => {
    const done = w.reader.position + w.largeDone;
    if (done - reported < PROGRESS_EVERY) return;
    reported = done;
    ctx.progress({ done: reported, total: dataSize, unit: 'bytes' });
  };
  try {
    for await (const e of pre.archive.entries(ctx.signal)) {
      ctx.signal.throwIfAborted();
      // Checked again: the preflight read the manifest earlier, this pass reads it anew.
      assertEntryPath(e, root);
      pre.symlinks.assertNotBelowLink(e, root);
      await restoreEntry(w, e, pre.rootExisted, onBytes);
      throwLargeFailure(w);
    }
    await drainLarge(w);
    await w.small.drain().catch((err: unknown) => {
      throw smallFileError(w, err);
    });
    await restoreLinks(w);
    for (const x of w.xattrs) applyXattrs(w.rootBuf, x.path, x.xattrs, w.skipXattrs, w.report);
  } finally {
    // No write may go on once the restore has returned (or failed).
    await Promise.allSettled([...w.large]);
    w.reader.close();
    // On a failure, files queued before it are whole and checked: they land, as they did one by one.
    await w.small.drain().catch(() => undefined);
    await w.small.close();
  }
  await finishDirs(w);
  const message = w.report.message();
  ctx.progress({ done: dataSize, total: dataSize, unit: 'bytes', ...(message ? { message } : {}) });
  if (w.report.count > 0 && params.onNotRestored === 'fail') throw w.report.failure();
}

async function restoreEntry(w: Writer, e: Entry, rootExisted: boolean, onBytes: () => void): Promise<void> {
  switch (e.type) {
    case 'dir':
      return restoreDir(w, e, rootExisted);
    case 'file': {
      const written = await restoreFile(w, e, onBytes).catch((err: unknown) => {
        throw corruptInFile(w.label, e.path, smallFileError(w, err));
      });
      if (written) fileWritten(w, e);
      return;
    }
    case 'symlink':
      return restoreSymlink(w, e);
    case 'hardlink':
      w.links.push(e);
      return;
    default:
      return restoreSpecial(w, e);
  }
}
