/**
 * What the previous checkpoint of the same plan knows about this directory: for each file, the facts
 * that tell whether it changed (size, mtime, inode, ctime) and its chunks. Format 2 and 3
 * checkpoints serve alike (archive.ts), so the first protect after an upgrade still skips unchanged
 * files. A previous checkpoint that cannot be read (damaged, older format) only costs a full read,
 * never a failure.
 *
 * A v3 checkpoint is looked up a directory at a time: a file's tree is decoded (and checked against
 * its id) when the walk first asks about that directory, and only the directories the walk is in
 * stay decoded. Decoding every tree into one map up front held an object per file — the largest
 * part of a re-protect's memory on a tree of many files — for facts read once each.
 */
import type { ChunkRef, ProtectContext } from '../api.js';
import { openArchive, openTrees } from './archive.js';
import { resourceLabel } from './manifest.js';
import type { Xattr } from './manifest.js';
import type { TreeSource } from './tree-source.js';
import { TreePaths } from './tree-read.js';

export interface PreviousFile {
  size: number;
  blake3: string;
  ino: bigint;
  ctimeNs: bigint;
  mtimeNs: bigint;
  xattrs?: Xattr[];
  /** The file's chunks, in order. */
  refs: readonly ChunkRef[];
}

export interface PreviousFiles {
  /** The previous checkpoint's file at `rel` (the walk's relative path), if it held a regular file there. */
  get(rel: Buffer): PreviousFile | undefined;
  /**
   * Whether an unchanged file's recorded attributes may stand for reading them again: the previous
   * protect read every entry's in full, leaving out the same namespaces as this one.
   */
  xattrsReusable: boolean;
  /** Frees the previous checkpoint's trees (a temp file when they were large). */
  close(): void;
}

const sameSet = (a: readonly string[], b: ReadonlySet<string>): boolean => a.length === b.size && a.every((n) => b.has(n));

export async function loadPrevious(ctx: ProtectContext, xattrSkip: ReadonlySet<string>): Promise<PreviousFiles | null> {
  const section = ctx.previous;
  if (section === null) return null;
  const label = resourceLabel(ctx.resource.id);
  try {
    const v3 = await openTrees(section, label);
    if (v3 !== null) {
      if (v3.source !== ctx.resource.id) {
        v3.trees.close();
        return null;
      }
      const read = v3.xattrsRead;
      const reusable = read !== null && read.complete && sameSet(read.skip_namespaces, xattrSkip);
      return new TreeLookup(v3.trees, v3.root.tree, label, reusable, (err) => {
        ctx.logger.warn('fs.directory: a tree of the previous checkpoint is damaged; reading the files below it', {
          reason: (err as Error).message,
        });
      });
    }
    return await loadV2(section, label, ctx.resource.id, ctx.signal);
  } catch (err) {
    ctx.logger.info('fs.directory: previous checkpoint not usable for change detection; reading every file', {
      reason: (err as Error).message,
    });
    return null;
  }
}

/**
 * A v2 checkpoint: one manifest, read whole into a map (its offsets tie every file to the one chunk
 * list). v2 never recorded how attributes were read, so they are read again.
 */
async function loadV2(
  section: NonNullable<ProtectContext['previous']>,
  label: string,
  source: string,
  signal: AbortSignal,
): Promise<PreviousFiles | null> {
  const files = new Map<string, Omit<PreviousFile, 'refs'> & { chunks: [number, number] }>();
  const archive = await openArchive(section, label, signal, (e) => {
    if (e.type === 'file') files.set(e.path.toString('latin1'), e);
  });
  if (archive.source !== source) return null;
  return {
    get(rel) {
      const f = files.get(rel.toString('latin1'));
      if (f === undefined) return undefined;
      const [from, count] = f.chunks;
      return { ...f, refs: archive.refs.slice(from, from + count) };
    },
    xattrsReusable: false,
    close: () => undefined,
  };
}

/**
 * Entries kept decoded: the walk's path and what the read-ahead looks at a little ahead of it.
 * Counted in entries, not directories: 64 directories of 1,000 files held 64,000 decoded entries.
 */
const KEEP_ENTRIES = 8192;

/** A v3 checkpoint's files by path, its trees decoded a directory at a time. */
class TreeLookup implements PreviousFiles {
  private readonly paths: TreePaths;

  constructor(
    private readonly trees: TreeSource,
    rootTree: string,
    label: string,
    readonly xattrsReusable: boolean,
    // Each tree is checked against its id as it is decoded: a damaged one costs reading the files
    // below it again, while the rest of the checkpoint, checked tree by tree, still serves.
    onDamaged: (err: unknown) => void,
  ) {
    this.paths = new TreePaths(trees, rootTree, label, { keepEntries: KEEP_ENTRIES, onDamaged });
  }

  close(): void {
    this.trees.close();
  }

  get(rel: Buffer): PreviousFile | undefined {
    const e = this.paths.entry(rel);
    return e?.type === 'file' ? e : undefined;
  }
}
