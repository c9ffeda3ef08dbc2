import { expect } from 'chai';
import { withName } from '../../src/plugins/fs/tree-builder.js';

// The canonical form trees are hashed in: every key sorted. withName must give exactly what sorting
// the entry with its name added gave, or unchanged directories would get new tree ids.
const sortedWith = (e: Record<string, unknown>, key: string, value: string): string =>
  JSON.stringify(Object.fromEntries(Object.entries({ ...e, [key]: value }).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));

describe('fs.directory trees: the name slotted into a spooled entry', () => {
  const keys = ['blake3', 'chunks', 'ctime_ns', 'gid', 'ino', 'link', 'mode', 'mtime_ns'];
  keys.push('rdev', 'size', 'target', 'tree', 'type', 'uid', 'xattrs');

  it('gives the fully sorted object for sorted entries of every shape, with name or name_b64', () => {
    let seed = 7;
    const rand = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    for (let i = 0; i < 500; i++) {
      const e: Record<string, unknown> = {};
      for (const k of keys) if (rand(2) === 1) e[k] = rand(1000);
      for (const key of ['name', 'name_b64']) expect(JSON.stringify(withName(e, key, `n${i}`))).to.equal(sortedWith(e, key, `n${i}`));
    }
  });

  it('falls back to a full sort when the entry is not sorted, and the name given wins over one present', () => {
    const unsorted = { type: 'file', mode: 420, blake3: 'x' };
    expect(JSON.stringify(withName(unsorted, 'name', 'a'))).to.equal(sortedWith(unsorted, 'name', 'a'));
    const named = { gid: 0, name: 'old', type: 'dir' };
    expect(JSON.stringify(withName(named, 'name', 'new'))).to.equal(sortedWith(named, 'name', 'new'));
  });
});
