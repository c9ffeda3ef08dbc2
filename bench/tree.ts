/**
 * Content listings of a directory tree, to check outside the timed region that a restore equals
 * the corpus: one sorted line per entry, with a SHA-256 per regular file.
 */
import { createHash } from 'node:crypto';
import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync } from 'node:fs';
import { join } from 'node:path';

const BUFFER = Buffer.alloc(1024 * 1024);

function sha256(file: string): string {
  const h = createHash('sha256');
  const fd = openSync(file, 'r');
  try {
    for (let n; (n = readSync(fd, BUFFER, 0, BUFFER.length, null)) > 0;) h.update(BUFFER.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

/** Every entry below `root` as `dir PATH`, `file PATH SIZE SHA256` or `link PATH TARGET`, sorted. */
export function treeListing(root: string): string[] {
  const lines: string[] = [];
  const walk = (rel: string): void => {
    for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      const abs = join(root, path);
      if (e.isDirectory()) {
        lines.push(`dir ${path}`);
        walk(path);
      } else if (e.isFile()) {
        lines.push(`file ${path} ${lstatSync(abs).size} ${sha256(abs)}`);
      } else if (e.isSymbolicLink()) {
        lines.push(`link ${path} ${readlinkSync(abs)}`);
      } else {
        lines.push(`other ${path}`);
      }
    }
  };
  walk('');
  return lines.sort();
}

/** Logical size: the sum of the regular files' sizes below `root`. */
export function treeBytes(root: string): number {
  let total = 0;
  for (const e of readdirSync(root, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) total += lstatSync(join(e.parentPath, e.name)).size;
  }
  return total;
}

/** "identical", or how two listings differ (count and the first few entries). */
export function compareListings(expected: string[], actual: string[]): string {
  const want = new Set(expected);
  const have = new Set(actual);
  const missing = expected.filter((l) => !have.has(l));
  const extra = actual.filter((l) => !want.has(l));
  if (missing.length === 0 && extra.length === 0) return 'identical';
  const sample = [
    ...missing.slice(0, 2).map((l) => `missing/different: ${l.split(' ')[1]}`),
    ...extra.slice(0, 2).map((l) => `unexpected: ${l.split(' ')[1]}`),
  ];
  return `DIFFERS: ${missing.length} missing or different, ${extra.length} unexpected (${sample.join('; ')})`;
}
