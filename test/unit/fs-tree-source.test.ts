import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { TreeCollector, setTreesSpillAt } from '../../src/plugins/fs/tree-source.js';

describe('fs.directory trees: kept in memory, or spilled to a temp file past the threshold', () => {
  for (const [what, spill] of [
    ['in memory', 1 << 30],
    ['spilled', 100],
  ] as const) {
    it(`${what}: every tree reads back byte for byte; an unknown id is absent; close ends reading`, () => {
      const was = setTreesSpillAt(spill);
      try {
        const c = new TreeCollector();
        const trees = new Map<string, Buffer>();
        for (let i = 0; i < 200; i++) {
          const id = randomBytes(32).toString('hex');
          // Sizes across the 256 KiB flush, and empty ones.
          const tree = randomBytes(i % 50 === 0 ? 300 * 1024 : i % 7);
          trees.set(id, tree);
          c.add(id, tree);
        }
        const source = c.finish();
        expect(source.count).to.equal(200);
        for (const [id, tree] of trees) expect(source.get(id)!.equals(tree), id).to.equal(true);
        expect(source.get('f'.repeat(64))).to.equal(undefined);
        source.close();
        source.close();
        const first = trees.keys().next().value!;
        if (spill === 100) expect(() => source.get(first)).to.throw('closed');
      } finally {
        setTreesSpillAt(was);
      }
    });
  }
});
