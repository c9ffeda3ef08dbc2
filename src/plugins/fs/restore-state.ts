/**
 * What a restore's write pass keeps while it recreates a tree (restore-writer.ts), and the small
 * rules every kind of entry shares: the mode it gets, the temp name a file is written under.
 */
import { randomBytes } from 'node:crypto';
import type { BankSection, ChunkRef } from '../api.js';
import type { ByteReader } from './byte-reader.js';
import type { LargeFiles } from './large-files.js';
import type { Entry, Xattr } from './manifest.js';
import type { RestoreReport } from './restore-fidelity.js';
import type { ConflictMode } from './restore-target.js';
import { joinRoot } from './safe-fs.js';
import type { SmallFileWriters } from './small-files.js';

export type DirEntry = Entry & { type: 'dir' };

export interface Writer {
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
  /** Large files being written by the bank's codec workers (writeChunksToFile). */
  large: LargeFiles;
  /** Bytes of the large files written so far (progress: the stream's position counts the rest). */
  largeDone: number;
  bank: BankSection;
  signal: AbortSignal;
}

export type FileEntry = Entry & { type: 'file' };

/**
 * The mode an entry gets. Setuid, setgid and sticky bits only come back with the owner they were set
 * for (as `tar --no-same-owner` does): applied to a file the restoring user (root) now owns, a setuid
 * bit would hand out that user's rights.
 */
export const modeOf = (w: Writer, e: Entry): number => (w.setOwner ? e.mode : e.mode & ~0o7000);

/** A temp name beside the files of `dir`, for a file written before it is renamed into place. */
export const tempName = (dir: Buffer): Buffer => joinRoot(dir, Buffer.from(`.bwk-restore-${randomBytes(8).toString('hex')}.tmp`));
