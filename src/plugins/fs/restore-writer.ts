/**
 * Restore `main`: after the preflight passes, reads `data`'s chunks in order (the chunk store reads
 * ahead in parallel) and recreates the tree. Each file goes to a temp name in its directory and is
 * renamed into place only when its BLAKE3 matches, so a corrupt file never lands. Runs of zeros are
 * not written but left as holes, so sparse files (VM images, databases) stay sparse. Directory modes
 * and times are applied last, deepest first, because creating children changes a directory's mtime
 * (and a 0555 directory could not be filled).
 */
import { lchown, lutimes, mkdir, open, rename, symlink, unlink } from 'node:fs/promises';
import { constants } from 'node:fs';
import { Readable } from 'node:stream';
import type { RestoreContext } from '../api.js';
import { bwkError } from '../../core/errors.js';
import { ByteReader } from './byte-reader.js';
import { assertEntryPath } from './entry-path.js';
import { DATA_OBJECT, corrupt, corruptInFile, displayPath, resourceLabel } from './manifest.js';
import type { Entry, SpecialType } from './manifest.js';
import { pathKey } from './entry-path.js';
import { RestoreReport, applyXattrs, makeHardlink, makeSpecial } from './restore-fidelity.js';
import { LARGE_FILE, LargeFiles, streamOptions } from './large-files.js';
import { fileWritten, startLarge, writeFile } from './restore-file.js';
import { preflightRestore } from './restore-preflight.js';
import type { Preflight } from './restore-preflight.js';
import { modeOf, tempName } from './restore-state.js';
import type { DirEntry, FileEntry, Writer } from './restore-state.js';
import { parseRestoreParams } from './restore-target.js';
import { createRestoreRoot, resolveRestoreRoot } from './restore-root.js';
import { diskKind, ensureParentDirs, joinRoot, nsToSeconds, parentOf } from './safe-fs.js';
import { SmallFileWriteError, SmallFileWriters } from './small-files.js';

const PROGRESS_EVERY = 8 * 1024 * 1024;

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

/**
 * Writes one file (or queues it for the small-file writers, or starts its direct write); false when
 * the conflict mode skipped it or it is still being written (it is then marked written on landing).
 */
async function restoreFile(w: Writer, e: Entry & { type: 'file' }, onBytes: () => void): Promise<boolean> {
  const short = (): Error => corrupt(w.label, `${DATA_OBJECT} ended before the end of file "${displayPath(e.path)}"`);
  if (e.size > LARGE_FILE && w.bank.writeChunksToFile !== undefined) {
    // Its chunks are not in the stream (the preflight left them out).
    if ((await placement(w, e)) !== 'skip') await startLarge(w, e, onBytes);
    return false;
  }
  // Up to LARGE_FILE, gathered in memory for the small-file writers (threads making about eight
  // synchronous calls per file); larger, streamed to a temp file (restore-file.ts).
  if (e.size > LARGE_FILE) {
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
  const direct = ctx.bank.writeChunksToFile !== undefined ? LARGE_FILE : null;
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
      Readable.from(ctx.bank.readChunks(pre.streamed, ctx.signal, streamOptions(pre.streamed.length, pre.refs.length)), {
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
    large: new LargeFiles(),
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
      w.large.throwIfFailed();
    }
    await w.large.drain();
    await w.small.drain().catch((err: unknown) => {
      throw smallFileError(w, err);
    });
    await restoreLinks(w);
    for (const x of w.xattrs) applyXattrs(w.rootBuf, x.path, x.xattrs, w.skipXattrs, w.report);
  } finally {
    // No write may go on once the restore has returned (or failed).
    await w.large.settle();
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
