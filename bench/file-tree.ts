/**
 * The many-small-files corpus (`npm run bench:files`): N small files, 1,000 to a directory and 100
 * directories to a parent, as a mail spool or a source mirror looks. Sizes are 0–1,023 bytes (half
 * a KiB on average) and contents are hex text, so the cost measured is per file — walk, stat, open,
 * read, tree entry, restore's create — not per byte.
 *
 * Deterministic from the seed, like bench/corpus.ts: one keystream for the sizes and one for the
 * bytes, so the same seed gives the same tree.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Stream, type CorpusStats } from './corpus.js';

export const FILES_PER_DIR = 1000;
const DIRS_PER_PARENT = 100;

/** The relative path of file i: `p0003/d0312/f312417.txt`. */
export function smallFilePath(i: number): string {
  const dir = Math.floor(i / FILES_PER_DIR);
  const parent = Math.floor(dir / DIRS_PER_PARENT);
  return `p${String(parent).padStart(4, '0')}/d${String(dir).padStart(4, '0')}/f${String(i).padStart(7, '0')}.txt`;
}

/** Writes `files` small files into `dir` (created; must be empty). */
export function generateFileTree(dir: string, files: number, seed: string): CorpusStats {
  if (!Number.isInteger(files) || files < 1) throw new Error(`file count must be a whole number >= 1, got ${files}`);
  const sizes = new Stream(seed, 'file-tree/sizes');
  const content = new Stream(seed, 'file-tree/content');
  let bytes = 0;
  let madeDir = '';
  for (let i = 0; i < files; i++) {
    const rel = smallFilePath(i);
    const parent = rel.slice(0, rel.lastIndexOf('/'));
    if (parent !== madeDir) {
      mkdirSync(join(dir, parent), { recursive: true });
      madeDir = parent;
    }
    const size = sizes.below(1024);
    // Hex doubles the bytes: half the size from the keystream, plus one nibble for an odd size.
    const text = content
      .bytes((size + 1) >> 1)
      .toString('hex', 0, (size + 1) >> 1)
      .slice(0, size);
    writeFileSync(join(dir, rel), text);
    bytes += size;
  }
  return { files, bytes };
}
