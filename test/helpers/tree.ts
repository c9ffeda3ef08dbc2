import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { expect } from 'chai';

/** What must survive a protect/restore: type, bytes (hash), link target, mode, mtime, owner. */
export interface EntrySnapshot {
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  mtimeNs: string;
  uid: number;
  gid: number;
  sha256?: string;
  target?: string;
}

/** A whole tree as path → snapshot, read with lstat (links are not followed). Names are read as bytes. */
export function snapshotTree(root: string): Map<string, EntrySnapshot> {
  const out = new Map<string, EntrySnapshot>();
  const walk = (dir: Buffer, rel: string) => {
    for (const name of readdirSync(dir, { encoding: 'buffer' })) {
      const abs = Buffer.concat([dir, Buffer.from('/'), name]);
      const relName = rel ? `${rel}/${name.toString('latin1')}` : name.toString('latin1');
      const st = lstatSync(abs, { bigint: true });
      const base = { mode: Number(st.mode & 0o7777n), mtimeNs: st.mtimeNs.toString(), uid: Number(st.uid), gid: Number(st.gid) };
      if (st.isSymbolicLink())
        out.set(relName, { ...base, type: 'symlink', target: readlinkSync(abs, { encoding: 'buffer' }).toString('latin1') });
      else if (st.isDirectory()) {
        out.set(relName, { ...base, type: 'dir' });
        walk(abs, relName);
      } else out.set(relName, { ...base, type: 'file', sha256: createHash('sha256').update(readFileSync(abs)).digest('hex') });
    }
  };
  walk(Buffer.from(root), '');
  return out;
}

export const joinPath = join;

/** Bytes of every file below `dir` (what `du -b` counts for files; directories are not counted). */
export function treeBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = lstatSync(path);
    total += st.isDirectory() ? treeBytes(path) : st.size;
  }
  return total;
}

/**
 * Asserts a restored tree equals a snapshot of its source: the same entries, types, bytes, modes and
 * owners; mtimes within 1 µs (Node's utimes takes seconds as a double, ~240 ns resolution today).
 */
export function expectTreeMatches(restored: string, want: Map<string, EntrySnapshot>): void {
  const got = snapshotTree(restored);
  expect([...got.keys()].sort()).to.deep.equal([...want.keys()].sort());
  for (const [path, entry] of want) {
    const g = got.get(path)!;
    expect(Math.abs(Number(BigInt(g.mtimeNs) - BigInt(entry.mtimeNs))), `${path} mtime`).to.be.below(1000);
    expect({ ...g, mtimeNs: '' }, path).to.deep.equal({ ...entry, mtimeNs: '' });
  }
}
