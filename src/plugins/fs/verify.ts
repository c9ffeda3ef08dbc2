/**
 * Verify: reads every byte of the archive back from the bank and checks meta.json's self-hash, the
 * manifest's size and SHA-256 (v2) or every tree against its id (v3), every chunk against its id (the chunk store does that on read), every
 * file's chunk range and BLAKE3, and every entry path (an archive that restore would refuse is not a
 * usable checkpoint either).
 */
import { Readable } from 'node:stream';
import { Blake3Hasher } from '@napi-rs/blake-hash';
import type { ChunkRef, VerifyContext } from '../api.js';
import { ByteReader } from './byte-reader.js';
import { ArchivedSymlinks, entryPathProblem } from './entry-path.js';
import { openArchive } from './archive.js';
import type { Archive } from './archive.js';
import { LARGE_FILE, LargeFiles, streamOptions } from './large-files.js';
import { DATA_OBJECT, checkFileChunks, corrupt, corruptInFile, displayPath, resourceLabel } from './manifest.js';

const PROGRESS_EVERY = 8 * 1024 * 1024;

/** Runs the verify `main` hook for one directory resource; throws BWK_ERR_DATA_CORRUPT on any mismatch. */
export async function verifyDirectory(ctx: VerifyContext): Promise<void> {
  const label = resourceLabel(ctx.resource.id);
  const archive = await openArchive(ctx.bank, label, ctx.signal);
  try {
    await verifyArchive(ctx, archive, label);
  } finally {
    archive.close();
  }
}

/**
 * The chunks the verify streams: every file's, less those of the large files hashed on their own.
 * An extra pass over the entries, only when there is something to leave out. The main pass checks
 * every range again: a range this pass got wrong fails there, never passes.
 */
async function streamedRefs(ctx: VerifyContext, archive: Archive): Promise<ChunkRef[]> {
  const refs = archive.refs;
  if (ctx.bank.hashChunks === undefined) return refs;
  const streamed: ChunkRef[] = [];
  for await (const entry of archive.entries(ctx.signal)) {
    if (entry.type !== 'file' || entry.size > LARGE_FILE) continue;
    const [first, count] = entry.chunks;
    for (let i = first; i < first + count && i < refs.length; i++) streamed.push(refs[i]!);
  }
  return streamed;
}

async function verifyArchive(ctx: VerifyContext, archive: Archive, label: string): Promise<void> {
  const refs = archive.refs;
  const meta = { data: { size: archive.dataSize } };

  const streamed = await streamedRefs(ctx, archive);
  const reader = new ByteReader(
    Readable.from(ctx.bank.readChunks(streamed, ctx.signal, streamOptions(streamed.length, refs.length)), { objectMode: false }),
  );
  const short = (): Error => corrupt(label, `${DATA_OBJECT} ended after ${offset} of ${meta.data.size} bytes`);
  let chunk = 0;
  // Where the next file starts in the data object (the stream carries only the small files).
  let offset = 0;
  const symlinks = new ArchivedSymlinks();
  // Files that do not match their BLAKE3, by their place in the archive (large ones finish in any order).
  const badFiles: { index: number; path: string }[] = [];
  // Large files hashed by the bank's codec workers from their own chunks (hashChunks), as a restore writes them.
  const large = new LargeFiles();
  let fileIndex = 0;
  let reported = 0;
  try {
    const hash = new Blake3Hasher();
    for await (const entry of archive.entries(ctx.signal)) {
      ctx.signal.throwIfAborted();
      large.throwIfFailed();
      const problem =
        entryPathProblem(entry.path, entry.type) ?? (entry.type === 'hardlink' ? entryPathProblem(entry.target, 'file') : null);
      if (problem !== null) throw corrupt(label, `entry "${displayPath(entry.path)}" is unsafe to restore: ${problem}`);
      symlinks.add(entry);
      if (entry.type !== 'file') continue;
      if (entry.offset !== offset) {
        throw corrupt(label, `file "${displayPath(entry.path)}" claims offset ${entry.offset} in ${DATA_OBJECT}, expected ${offset}`);
      }
      const next = checkFileChunks(entry, refs, chunk);
      if (typeof next === 'string') throw corrupt(label, `file "${displayPath(entry.path)}": ${next}`);
      const index = fileIndex++;
      if (ctx.bank.hashChunks !== undefined && entry.size > LARGE_FILE) {
        const [path, blake3, fileRefs] = [entry.path, entry.blake3, refs.slice(chunk, next)];
        const hashOne = async (): Promise<void> => {
          if ((await ctx.bank.hashChunks!(fileRefs, ctx.signal)) !== blake3) badFiles.push({ index, path: displayPath(path) });
        };
        await large.start(hashOne, (err) => corruptInFile(label, path, err));
      } else {
        // Files are checked one at a time: one hasher serves them all (common/hashers.ts says why).
        hash.reset();
        try {
          for await (const piece of reader.take(entry.size, short)) hash.update(piece);
        } catch (err) {
          throw corruptInFile(label, entry.path, err);
        }
        // Keep reading after a bad file so the whole-object checks still run and the count is complete.
        if (hash.digest('hex') !== entry.blake3) badFiles.push({ index, path: displayPath(entry.path) });
      }
      chunk = next;
      offset += entry.size;
      if (offset - reported >= PROGRESS_EVERY) {
        reported = offset;
        ctx.progress({ done: reported, total: meta.data.size, unit: 'bytes' });
      }
    }
    await large.drain();
    if (!(await reader.atEnd())) throw corrupt(label, `${DATA_OBJECT} has bytes after the last file (${meta.data.size} expected)`);
  } finally {
    // Nothing is still reading when verify returns.
    await large.settle();
    reader.close();
  }
  if (badFiles.length > 0) {
    badFiles.sort((a, b) => a.index - b.index);
    throw corrupt(
      label,
      `file "${badFiles[0]!.path}" does not match its BLAKE3${badFiles.length > 1 ? ` (${badFiles.length} files are bad)` : ''}`,
    );
  }
  if (offset !== meta.data.size || chunk !== refs.length) {
    throw corrupt(
      label,
      `the manifest's files cover ${offset} bytes in ${chunk} chunks of ${DATA_OBJECT}'s ${meta.data.size} in ${refs.length}`,
    );
  }
  // Entries listed before the symlink they lie under are only caught once every symlink is known.
  if (symlinks.count > 0) {
    for await (const entry of archive.entries(ctx.signal)) {
      const link = symlinks.linkAbove(entry.path) ?? (entry.type === 'hardlink' ? symlinks.linkAbove(entry.target) : null);
      if (link !== null) throw corrupt(label, `entry "${displayPath(entry.path)}" lies under the archived symlink "${displayPath(link)}"`);
    }
  }
  ctx.progress({ done: meta.data.size, total: meta.data.size, unit: 'bytes' });
}
