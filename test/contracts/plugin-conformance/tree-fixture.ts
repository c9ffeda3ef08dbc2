/**
 * A conformance fixture over a real directory tree: files small and large (enough bytes that a
 * cancelled or crashed protect is caught mid-way), a subdirectory and a symlink. Restores go to a
 * fresh directory inside a parent of their own, so anything written beside the target counts too.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConformanceFixtures, RestoreDestination } from '../../../src/plugin-kit/index.js';

/** Every entry below `root`: type, permission bits and, for files, the SHA-256 of the content. */
export function treeDigest(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string, rel: string): void => {
    for (const name of fs.readdirSync(dir).sort()) {
      const abs = join(dir, name);
      const key = rel ? `${rel}/${name}` : name;
      const st = fs.lstatSync(abs);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out[key] = `symlink ${fs.readlinkSync(abs)}`;
      else if (st.isDirectory()) {
        out[key] = `dir ${mode}`;
        walk(abs, key);
      } else out[key] = `file ${mode} ${createHash('sha256').update(fs.readFileSync(abs)).digest('hex')}`;
    }
  };
  walk(root, '');
  return out;
}

export interface TreeFixture {
  parent: string;
  source: string;
  destination(label: string): Promise<RestoreDestination>;
  cleanup(): Promise<void>;
}

/** Writes the tree under a new temp directory; `bigFiles` files of 1.5 MiB each carry most of the bytes. */
export function makeTree(bigFiles = 4): TreeFixture {
  const parent = fs.mkdtempSync(join(tmpdir(), 'bwk-conformance-tree-'));
  const source = join(parent, 'source');
  fs.mkdirSync(join(source, 'sub', 'deeper'), { recursive: true });
  for (let i = 0; i < bigFiles; i++) fs.writeFileSync(join(source, `big-${i}.bin`), randomBytes(1536 * 1024));
  for (let i = 0; i < 20; i++) fs.writeFileSync(join(source, 'sub', `small-${i}.txt`), `small file ${i}\n`.repeat(i + 1));
  fs.writeFileSync(join(source, 'sub', 'deeper', 'empty'), '');
  fs.chmodSync(join(source, 'sub', 'small-3.txt'), 0o600);
  fs.symlinkSync('sub/small-1.txt', join(source, 'link'));
  const expected = treeDigest(source);
  const restores = fs.mkdtempSync(join(tmpdir(), 'bwk-conformance-restores-'));
  return {
    parent,
    source,
    async destination(label) {
      const place = fs.mkdtempSync(join(restores, `${label}-`));
      const target = join(place, 'restored');
      return {
        parameters: { target_path: target },
        written: async () => fs.readdirSync(place).length > 0,
        async expectEqualToSource() {
          const got = treeDigest(target);
          for (const key of new Set([...Object.keys(expected), ...Object.keys(got)])) {
            if (got[key] !== expected[key])
              throw new Error(`${key}: restored ${got[key] ?? 'nothing'}, source has ${expected[key] ?? 'nothing'}`);
          }
        },
      };
    },
    async cleanup() {
      fs.rmSync(parent, { recursive: true, force: true });
      fs.rmSync(restores, { recursive: true, force: true });
    },
  };
}

/** The fixture for fs.directory itself: the tree, listed from its parent directory. */
export function fsDirectoryFixtures(): ConformanceFixtures {
  let tree: TreeFixture;
  return {
    source: async () => {
      tree = makeTree();
      return { type: 'fs.directory', id: tree.source, name: 'source' };
    },
    destination: (label) => tree.destination(label),
    get listParameters() {
      return { path: tree.parent };
    },
    missingId: '/nonexistent/bwk-conformance',
    cleanup: () => tree.cleanup(),
  };
}
