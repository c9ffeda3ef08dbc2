import { expect } from 'chai';
import { withName } from '../../src/plugins/fs/tree-builder.js';
import { entryObject, type TreeEntry } from '../../src/plugins/fs/tree.js';

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

describe('fs.directory trees: entry objects in canonical (key-sorted) form', () => {
  const base = { path: Buffer.from('p'), mode: 0o644, uid: 1, gid: 2, mtimeNs: 5n };
  const bad = Buffer.from([0xff, 0xfe]); // not UTF-8: stored as *_b64
  const entries: TreeEntry[] = [
    {
      ...base,
      name: Buffer.from('f'),
      type: 'file',
      size: 3,
      blake3: 'b'.repeat(64),
      refs: [{ id: 'c'.repeat(64), size: 3 }],
      ino: 9n,
      ctimeNs: 6n,
    },
    { ...base, name: bad, type: 'dir', tree: 'd'.repeat(64), xattrs: [['user.a', Buffer.from('v')]] },
    { ...base, name: Buffer.from('l'), type: 'symlink', link: bad },
    { ...base, name: Buffer.from('l2'), type: 'symlink', link: Buffer.from('target') },
    { ...base, name: Buffer.from('h'), type: 'hardlink', target: bad },
    { ...base, name: Buffer.from('s'), type: 'fifo', rdev: [0, 0] },
  ];

  it('has every key sorted, named or not, whichever fields the entry has', () => {
    for (const e of entries) {
      for (const named of [true, false]) {
        const o = entryObject(e, named);
        const keys = Object.keys(o);
        expect(keys, `${e.type} named=${named}`).to.deep.equal([...keys].sort());
        expect(keys.includes('name') || keys.includes('name_b64')).to.equal(named);
      }
    }
  });
});
