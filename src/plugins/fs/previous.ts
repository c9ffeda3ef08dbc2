/**
 * What the previous checkpoint of the same plan knows about this directory: for each file, the facts
 * that tell whether it changed (size, mtime, inode, ctime) and where its chunks are. Format 2 and 3
 * checkpoints serve alike (archive.ts), so the first protect after an upgrade still skips unchanged
 * files. A previous checkpoint that cannot be read (damaged, older format) only costs a full read,
 * never a failure.
 */
import type { ChunkRef, ProtectContext } from '../api.js';
import { openArchive } from './archive.js';
import { resourceLabel } from './manifest.js';
import type { FileFields, Xattr } from './manifest.js';

export interface PreviousFiles {
  /** By path bytes (as latin1, a lossless string key). */
  files: Map<string, FileFields & { mtimeNs: bigint; xattrs: Xattr[] | undefined }>;
  refs: ChunkRef[];
  /**
   * Whether an unchanged file's recorded attributes may stand for reading them again: the previous
   * protect read every entry's in full, leaving out the same namespaces as this one.
   */
  xattrsReusable: boolean;
}

const sameSet = (a: readonly string[], b: ReadonlySet<string>): boolean => a.length === b.size && a.every((n) => b.has(n));

export async function loadPrevious(ctx: ProtectContext, xattrSkip: ReadonlySet<string>): Promise<PreviousFiles | null> {
  const section = ctx.previous;
  if (section === null) return null;
  const label = resourceLabel(ctx.resource.id);
  try {
    const files = new Map<string, FileFields & { mtimeNs: bigint; xattrs: Xattr[] | undefined }>();
    const archive = await openArchive(section, label, ctx.signal, (e) => {
      if (e.type === 'file')
        files.set(e.path.toString('latin1'), {
          offset: e.offset,
          size: e.size,
          blake3: e.blake3,
          chunks: e.chunks,
          ino: e.ino,
          ctimeNs: e.ctimeNs,
          mtimeNs: e.mtimeNs,
          xattrs: e.xattrs,
        });
    });
    if (archive.source !== ctx.resource.id) return null;
    const read = archive.xattrsRead;
    return { files, refs: archive.refs, xattrsReusable: read !== null && read.complete && sameSet(read.skip_namespaces, xattrSkip) };
  } catch (err) {
    ctx.logger.info('fs.directory: previous checkpoint not usable for change detection; reading every file', {
      reason: (err as Error).message,
    });
    return null;
  }
}
