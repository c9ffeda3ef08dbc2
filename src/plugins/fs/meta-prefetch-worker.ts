/**
 * The metadata prefetcher's thread (meta-prefetch.ts): lists and lstats the tree in the walk's own
 * order (depth-first, names sorted by bytes, symlinks not followed, excludes skipped), so that the
 * walk that follows finds every inode and directory already in the kernel's caches. It reads
 * nothing but metadata, keeps nothing and reports nothing; a failure just skips that entry.
 */
import { lstatSync, readdirSync } from 'node:fs';
import { workerData } from 'node:worker_threads';
import type { PrefetchData } from './meta-prefetch.js';
import { isExcluded } from './walk.js';

const SLASH = Buffer.from('/');
const data = workerData as PrefetchData;
const excludes = data.excludes.map((e) => Buffer.from(e.buffer, e.byteOffset, e.byteLength));

function visit(abs: Buffer, rel: Buffer | null): void {
  let names: Buffer[];
  try {
    names = readdirSync(abs, { encoding: 'buffer' }).sort(Buffer.compare);
  } catch {
    return;
  }
  for (const name of names) {
    const childRel = rel === null ? name : Buffer.concat([rel, SLASH, name]);
    if (isExcluded(childRel, excludes)) continue;
    const childAbs = Buffer.concat([abs, SLASH, name]);
    try {
      if (lstatSync(childAbs).isDirectory()) visit(childAbs, childRel);
    } catch {
      // Gone or unreadable: the walk will say so.
    }
  }
}

visit(Buffer.from(data.root, 'utf8'), null);
