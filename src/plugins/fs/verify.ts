/**
 * Verify: reads every byte of the archive back from the bank and checks meta.json's self-hash, the
 * manifest's size and SHA-256 (v2) or every tree against its id (v3), every chunk against its id (the chunk store does that on read), every
 * file's chunk range and BLAKE3, and every entry path (an archive that restore would refuse is not a
 * usable checkpoint either).
 */
import { Readable } from 'node:stream';
import { Blake3Hasher } from '@napi-rs/blake-hash';
import type { VerifyContext } from '../api.js';
import { ByteReader } from './byte-reader.js';
import { ArchivedSymlinks, entryPathProblem } from './entry-path.js';
import { openArchive } from './archive.js';
import type { Archive } from './archive.js';
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

async function verifyArchive(ctx: VerifyContext, archive: Archive, label: string): Promise<void> {
  const refs = archive.refs;
  const meta = { data: { size: archive.dataSize } };

  const reader = new ByteReader(Readable.from(ctx.bank.readChunks(refs, ctx.signal), { objectMode: false }));
  const short = (): Error => corrupt(label, `${DATA_OBJECT} ended after ${reader.position} of ${meta.data.size} bytes`);
  let chunk = 0;
  const symlinks = new ArchivedSymlinks();
  const badFiles: string[] = [];
  let reported = 0;
  try {
    const hash = new Blake3Hasher();
    for await (const entry of archive.entries(ctx.signal)) {
      ctx.signal.throwIfAborted();
      const problem =
        entryPathProblem(entry.path, entry.type) ?? (entry.type === 'hardlink' ? entryPathProblem(entry.target, 'file') : null);
      if (problem !== null) throw corrupt(label, `entry "${displayPath(entry.path)}" is unsafe to restore: ${problem}`);
      symlinks.add(entry);
      if (entry.type !== 'file') continue;
      if (entry.offset !== reader.position) {
        throw corrupt(
          label,
          `file "${displayPath(entry.path)}" claims offset ${entry.offset} in ${DATA_OBJECT}, expected ${reader.position}`,
        );
      }
      const next = checkFileChunks(entry, refs, chunk);
      if (typeof next === 'string') throw corrupt(label, `file "${displayPath(entry.path)}": ${next}`);
      chunk = next;
      // Files are checked one at a time: one hasher serves them all (common/hashers.ts says why).
      hash.reset();
      try {
        for await (const piece of reader.take(entry.size, short)) hash.update(piece);
      } catch (err) {
        throw corruptInFile(label, entry.path, err);
      }
      // Keep reading after a bad file so the whole-object checks still run and the count is complete.
      if (hash.digest('hex') !== entry.blake3) badFiles.push(displayPath(entry.path));
      if (reader.position - reported >= PROGRESS_EVERY) {
        reported = reader.position;
        ctx.progress({ done: reported, total: meta.data.size, unit: 'bytes' });
      }
    }
    if (!(await reader.atEnd())) throw corrupt(label, `${DATA_OBJECT} has bytes after the last file (${meta.data.size} expected)`);
  } finally {
    reader.close();
  }
  if (badFiles.length > 0) {
    throw corrupt(
      label,
      `file "${badFiles[0]}" does not match its BLAKE3${badFiles.length > 1 ? ` (${badFiles.length} files are bad)` : ''}`,
    );
  }
  if (reader.position !== meta.data.size || chunk !== refs.length) {
    throw corrupt(
      label,
      `the manifest's files cover ${reader.position} bytes in ${chunk} chunks of ${DATA_OBJECT}'s ${meta.data.size} in ${refs.length}`,
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
