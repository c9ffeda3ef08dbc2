/**
 * Everything a restore checks before it writes a single byte: the archive's meta and manifest
 * hashes (or every tree against its id), every entry path, entries below archived symlinks, symlinks on disk under the target, and
 * conflicts with what the target already holds. Two passes over the manifest keep memory bounded
 * (only the archive's symlink paths are held).
 */
import type { BankSection, ChunkRef } from '../api.js';
import { bwkError } from '../../core/errors.js';
import { ArchivedSymlinks, assertEntryPath, pathKey } from './entry-path.js';
import { openArchive } from './archive.js';
import type { Archive } from './archive.js';
import { DATA_OBJECT, checkFileChunks, corrupt, displayPath } from './manifest.js';
import type { ConflictMode } from './restore-target.js';
import { checkAncestors, diskKind, joinRoot, symlinkOnDisk } from './safe-fs.js';
import type { DiskKind } from './safe-fs.js';

export interface Preflight {
  archive: Archive;
  /** Every file's chunks in entry order, checked against the entries. */
  refs: ChunkRef[];
  /** The chunks of the files the restore reads as one stream: all but those written directly. */
  streamed: ChunkRef[];
  symlinks: ArchivedSymlinks;
  /** Whether the target root existed (as a directory) before the restore. */
  rootExisted: boolean;
  /** Paths (pathKey) of the files hard links name. */
  linkTargets: Set<string>;
}

const isRoot = (rel: Buffer): boolean => rel.length === 1 && rel[0] === 0x2e;

/**
 * Runs both passes and returns what the write pass needs. Throws BWK_ERR_DATA_CORRUPT,
 * BWK_ERR_UNSAFE_ENTRY (first, whatever the conflict mode) or BWK_ERR_RESTORE_CONFLICT.
 */
export async function preflightRestore(
  bank: BankSection,
  label: string,
  root: string,
  mode: ConflictMode,
  signal: AbortSignal,
  /** Files larger than this are written from their own chunks, outside the stream (null: none). */
  directAbove: number | null = null,
): Promise<Preflight> {
  const archive = await openArchive(bank, label, signal);
  try {
    const refs = archive.refs;

    // Pass 1: the whole manifest (or every tree) is read and checked before any entry is trusted.
    const symlinks = new ArchivedSymlinks();
    const linkTargets = new Set<string>();
    let offset = 0;
    let chunk = 0;
    const streamed: ChunkRef[] = [];
    for await (const entry of archive.entries(signal)) {
      signal.throwIfAborted();
      assertEntryPath(entry, root);
      if (entry.type === 'hardlink') {
        assertEntryPath({ ...entry, path: entry.target }, root);
        linkTargets.add(pathKey(entry.target));
      }
      symlinks.add(entry);
      if (entry.type === 'file') {
        if (entry.offset !== offset)
          throw corrupt(label, `file "${displayPath(entry.path)}" claims offset ${entry.offset} in ${DATA_OBJECT}, expected ${offset}`);
        const next = checkFileChunks(entry, refs, chunk);
        if (typeof next === 'string') throw corrupt(label, `file "${displayPath(entry.path)}": ${next}`);
        if (directAbove === null || entry.size <= directAbove) for (let i = chunk; i < next; i++) streamed.push(refs[i]!);
        chunk = next;
        offset += entry.size;
      }
    }
    if (offset !== archive.dataSize || chunk !== refs.length) {
      throw corrupt(
        label,
        `the manifest's files add up to ${offset} bytes in ${chunk} chunks, ${DATA_OBJECT} holds ${archive.dataSize} in ${refs.length}`,
      );
    }

    const rootBuf = Buffer.from(root, 'utf8');
    const rootKind = await diskKind(rootBuf);
    if (rootKind !== 'dir' && rootKind !== 'missing') {
      throw bwkError('BWK_ERR_INVALID_INPUT', {
        reason: `restore target ${root} exists and is not a directory (or lies below a file): choose a directory`,
      });
    }
    const rootExisted = rootKind === 'dir';

    // Pass 2: archived symlinks (needs pass 1's full set) and the disk.
    const cache = new Map<string, DiskKind>();
    let conflicts = 0;
    let first = '';
    const conflict = (what: string): void => {
      if (conflicts++ === 0) first = what;
    };
    for await (const entry of archive.entries(signal)) {
      signal.throwIfAborted();
      symlinks.assertNotBelowLink(entry, root);
      if (entry.type === 'hardlink') symlinks.assertNotBelowLink({ ...entry, path: entry.target }, root);
      if (!rootExisted || isRoot(entry.path)) continue;
      const above = await checkAncestors(rootBuf, entry.path, cache);
      if (above.kind === 'symlink') throw symlinkOnDisk(entry.path, above.at, root);
      const name = `"${displayPath(entry.path)}"`;
      if (above.kind === 'notdir') {
        // The non-directory ancestor is an entry itself in any archive we wrote: its own rule applies.
        if (mode === 'fail') conflict(`${name} (below "${displayPath(above.at)}", which is not a directory)`);
        continue;
      }
      const kind = await diskKind(joinRoot(rootBuf, entry.path));
      if (kind === 'missing' || (entry.type === 'dir' && kind === 'dir')) continue;
      if (mode === 'fail') conflict(name);
      else if (mode === 'overwrite' && kind === 'dir') {
        conflict(`${name} (a directory where the checkpoint has a ${entry.type}; overwrite never deletes directories)`);
      }
    }
    if (conflicts > 0) throw bwkError('BWK_ERR_RESTORE_CONFLICT', { target: root, count: conflicts, first });
    // No file left out: the stream is every chunk (the same array, not a copy of a million refs).
    return { archive, refs, streamed: streamed.length === refs.length ? refs : streamed, symlinks, rootExisted, linkTargets };
  } catch (err) {
    archive.close();
    throw err;
  }
}
