import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { PREFETCH_AFTER } from '../../src/plugins/fs/meta-prefetch.js';
import { walkTree, type WalkItem } from '../../src/plugins/fs/walk.js';

/** Every item of a walk, as "kind path". */
async function walked(root: string, excludes: Buffer[] = []): Promise<string[]> {
  const out: string[] = [];
  for await (const item of walkTree(root, excludes, new AbortController().signal)) out.push(`${item.kind} ${pathOf(item)}`);
  return out;
}
const pathOf = (item: WalkItem): string => item.rel.toString('utf8');

describe('fs.directory walk of a tree large enough to start the metadata prefetcher', () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'bwk-walk-prefetch-'));
    // More entries than PREFETCH_AFTER, in directories of 100, with a symlink and an excluded subtree.
    for (let d = 0; d < Math.ceil((PREFETCH_AFTER + 500) / 100); d++) {
      const dir = join(root, `d${String(d).padStart(3, '0')}`);
      mkdirSync(dir);
      for (let f = 0; f < 100; f++) writeFileSync(join(dir, `f${String(f).padStart(3, '0')}`), String(f));
    }
    mkdirSync(join(root, 'skip', 'deep'), { recursive: true });
    writeFileSync(join(root, 'skip', 'deep', 'x'), 'x');
    symlinkSync('d000', join(root, 'zlink'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('yields every entry once, in order, excludes and symlinks as without it', async () => {
    const items = await walked(root, [Buffer.from('skip')]);
    const dirs = Math.ceil((PREFETCH_AFTER + 500) / 100);
    expect(items.length).to.equal(1 + dirs * 101 + 1);
    expect(items[0]).to.equal('dir .');
    expect(items[1]).to.equal('dir d000');
    expect(items[2]).to.equal('file d000/f000');
    expect(items.at(-1)).to.equal('symlink zlink');
    expect(items.some((i) => i.includes('skip'))).to.equal(false);
    expect(new Set(items).size).to.equal(items.length);
    // Depth-first with siblings sorted by bytes: the paths themselves are in byte order.
    const paths = items.slice(1).map((i) => i.slice(i.indexOf(' ') + 1));
    expect([...paths].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))).to.deep.equal(paths);
  });

  it('leaves nothing running that would keep the process alive or the walk from ending early', async () => {
    const controller = new AbortController();
    const seen: WalkItem[] = [];
    const walk = walkTree(root, [], controller.signal);
    for await (const item of walk) {
      seen.push(item);
      if (seen.length === PREFETCH_AFTER + 10) break; // the prefetcher is running; the walk is left early
    }
    expect(seen.length).to.equal(PREFETCH_AFTER + 10);
    // A full walk afterwards still sees everything.
    expect((await walked(root)).length).to.equal(1 + Math.ceil((PREFETCH_AFTER + 500) / 100) * 101 + 3 + 1);
  });
});
