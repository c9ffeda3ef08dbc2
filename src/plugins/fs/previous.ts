/**
 * What the previous checkpoint of the same plan knows about this directory: for each file, the facts
 * that tell whether it changed (size, mtime, inode, ctime) and where its chunks are. A previous
 * checkpoint that cannot be read (older format, damaged) only costs a full read, never a failure.
 */
import type { ChunkRef, ProtectContext } from '../api.js';
import { DATA_OBJECT, loadMeta, readManifest, resourceLabel } from './manifest.js';
import type { FileFields } from './manifest.js';

export interface PreviousFiles {
  /** By path bytes (as latin1, a lossless string key). */
  files: Map<string, FileFields & { mtimeNs: bigint }>;
  refs: ChunkRef[];
}

export async function loadPrevious(ctx: ProtectContext): Promise<PreviousFiles | null> {
  const section = ctx.previous;
  if (section === null) return null;
  const label = resourceLabel(ctx.resource.id);
  try {
    const meta = await loadMeta(section, label);
    if (meta.source !== ctx.resource.id) return null;
    const refs = await section.getChunkList(DATA_OBJECT);
    const files = new Map<string, FileFields & { mtimeNs: bigint }>();
    for await (const e of readManifest(section, meta, label)) {
      if (e.type === 'file')
        files.set(e.path.toString('latin1'), {
          offset: e.offset,
          size: e.size,
          blake3: e.blake3,
          chunks: e.chunks,
          ino: e.ino,
          ctimeNs: e.ctimeNs,
          mtimeNs: e.mtimeNs,
        });
    }
    return { files, refs };
  } catch (err) {
    ctx.logger.info('fs.directory: previous checkpoint not usable for change detection; reading every file', {
      reason: (err as Error).message,
    });
    return null;
  }
}
