/**
 * The chunk store contract (test/contracts/chunk-store.contract.ts) over the memory and fs banks, what
 * only a fs bank shows (files on disk), and the fs.directory plugin driven over the store: random
 * trees round-trip (sparse files stay sparse) and a second checkpoint reuses unchanged files.
 */
import * as fs from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import fc from 'fast-check';
import { CountingBank } from '../../src/bank/adapters/counting.js';
import { FsBank } from '../../src/bank/adapters/fs.js';
import { MemoryBank } from '../../src/bank/adapters/memory.js';
import type { ChunkStoreSpec } from '../../src/bank/chunks/config.js';
import { ChunkStore } from '../../src/bank/chunks/store.js';
import type { BankPlugin } from '../../src/bank/port.js';
import { PrefixedBankSection } from '../../src/bank/section.js';
import type { ProtectionPlugin } from '../../src/plugins/api.js';
import { KiB, MiB, SMALL_CHUNKS, describeChunkStore, keystream, readAll, streamOf } from '../contracts/chunk-store.contract.js';
import { TempDirs, dirResource, loadPlugin, newSection, protect, restore, snapshotTree, verify } from './fs-plugin-helpers.js';
import type { TreeEntry } from './fs-plugin-helpers.js';

describeChunkStore('a MemoryBank', () => new MemoryBank());

const fsRoots: string[] = [];
describeChunkStore(
  'an FsBank',
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'bwk-chunks-'));
    fsRoots.push(dir);
    return new FsBank(join(dir, 'bank'));
  },
  { after: async () => fsRoots.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })) },
);

describe('chunk store over an FsBank: on disk', function () {
  this.timeout(120_000);
  const stores: ChunkStore[] = [];
  const open = (bank: BankPlugin, spec: ChunkStoreSpec = {}): ChunkStore => {
    const s = new ChunkStore(bank, { workers: 2, ...spec }, 'test-bank');
    stores.push(s);
    return s;
  };
  const sectionOf = (store: ChunkStore): PrefixedBankSection =>
    new PrefixedBankSection(store, 'checkpoints/cp1/resources/r/', 'test.resource#data');
  const temps = new TempDirs();
  after(async () => {
    await Promise.all(stores.map((s) => s.close()));
    temps.cleanup();
  });

  it('round-trips streams and small objects, and a fresh bank + store over the same directory reads them back', async () => {
    const dir = temps.make();
    const payload = keystream('fsbank', 5 * MiB + 12345);
    const section = sectionOf(open(new FsBank(dir), { chunking: SMALL_CHUNKS }));
    expect((await section.putStream('data', streamOf(payload))).size).to.equal(payload.length);
    await section.put('meta.json', '{"ok":true}');
    expect((await section.get('data')).equals(payload)).to.equal(true);
    expect(fs.readdirSync(join(dir, 'chunks', 'packs')).filter((f) => !f.startsWith('.')).length).to.be.at.least(1);
    expect(fs.existsSync(join(dir, 'chunks', 'config.json'))).to.equal(true);

    const reopened = new FsBank(dir);
    const again = new PrefixedBankSection(open(reopened), section.prefix, 'test.resource#data');
    expect((await readAll(await again.getStream('data'))).equals(payload)).to.equal(true);
    expect((await again.get('meta.json')).toString()).to.equal('{"ok":true}');
    expect(await again.stat('data')).to.deep.equal({ size: payload.length });
  });
});

describe('fs.directory over the chunk store', function () {
  this.timeout(120_000);
  const temps = new TempDirs();
  const stores: ChunkStore[] = [];
  let protection: ProtectionPlugin;

  before(async () => {
    ({ protection } = await loadPlugin());
  });
  after(async () => {
    temps.cleanup();
    await Promise.all(stores.map((s) => s.close()));
  });

  function expectSameTree(actual: Map<string, TreeEntry>, expected: Map<string, TreeEntry>): void {
    expect([...actual.keys()].sort()).to.deep.equal([...expected.keys()].sort());
    for (const [rel, e] of expected) expect(actual.get(rel), rel).to.deep.equal(e);
  }

  /**
   * Gives every directory below `root` a whole-second mtime, deepest first. Restore sets times through
   * utimes, which takes seconds as a double: sub-microsecond digits of an arbitrary mtime do not survive.
   */
  function pinDirTimes(root: string): void {
    const dirs: string[] = [];
    const walk = (d: string): void => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) {
          walk(join(d, e.name));
          dirs.push(join(d, e.name));
        }
      }
    };
    walk(root);
    for (const d of dirs) fs.utimesSync(d, 1_234_567_890, 1_234_567_890);
  }

  interface FileSpec {
    dir: string[];
    name: string;
    kind: 'empty' | 'small' | 'large' | 'sparse';
    size: number;
    tail: number;
    seed: number;
    mode: number;
    mtime: number;
  }
  const ZERO_RUN = 3 * MiB;

  const fileArb: fc.Arbitrary<FileSpec> = fc.record({
    dir: fc.array(fc.constantFrom('d-a', 'd-b', 'd-c'), { maxLength: 3 }),
    name: fc.stringMatching(/^f-[a-z0-9]{1,6}$/),
    kind: fc.oneof(
      { weight: 1, arbitrary: fc.constant('empty' as const) },
      { weight: 4, arbitrary: fc.constant('small' as const) },
      { weight: 1, arbitrary: fc.constant('large' as const) },
      { weight: 1, arbitrary: fc.constant('sparse' as const) },
    ),
    size: fc.integer({ min: 1, max: 200 * KiB }),
    tail: fc.integer({ min: 0, max: 200 * KiB }),
    seed: fc.integer(),
    mode: fc.constantFrom(0o644, 0o600, 0o755, 0o400),
    mtime: fc.integer({ min: 1_000_000_000, max: 1_700_000_000 }),
  });

  const treeArb = fc
    .record({
      files: fc.uniqueArray(fileArb, { minLength: 1, maxLength: 8, selector: (f) => [...f.dir, f.name].join('/') }),
      emptyDirs: fc.array(fc.array(fc.constantFrom('e-x', 'e-y'), { minLength: 1, maxLength: 2 }), { maxLength: 2 }),
    })
    .map((t) => {
      // At most two big files per tree, to keep runs fast.
      let big = 0;
      const files = t.files.map((f) => {
        if (f.kind !== 'large' && f.kind !== 'sparse') return f;
        return ++big > 2 ? { ...f, kind: 'small' as const } : f;
      });
      return { files, emptyDirs: t.emptyDirs };
    });

  /** The bytes of a file spec: sparse files are head + 3 MiB of zeros + tail, written out in full. */
  function contentOf(f: FileSpec): Buffer {
    switch (f.kind) {
      case 'empty':
        return Buffer.alloc(0);
      case 'small':
        return keystream(`small-${f.seed}`, f.size);
      case 'large':
        return keystream(`large-${f.seed}`, 1 * MiB + 1 + f.size * 8);
      case 'sparse':
        return Buffer.concat([keystream(`head-${f.seed}`, f.size), Buffer.alloc(ZERO_RUN), keystream(`tail-${f.seed}`, f.tail)]);
    }
  }

  function build(root: string, tree: { files: FileSpec[]; emptyDirs: string[][] }): void {
    for (const d of tree.emptyDirs) fs.mkdirSync(join(root, ...d), { recursive: true });
    for (const f of tree.files) {
      fs.mkdirSync(join(root, ...f.dir), { recursive: true });
      const p = join(root, ...f.dir, f.name);
      fs.writeFileSync(p, contentOf(f));
      fs.chmodSync(p, f.mode);
      fs.utimesSync(p, f.mtime, f.mtime);
    }
    pinDirTimes(root);
  }

  it('random trees round-trip: protect, verify, restore give the same tree; zero runs are restored as holes (property)', async () => {
    let sparseSeen = 0;
    const example: { files: FileSpec[]; emptyDirs: ('e-x' | 'e-y')[][] } = {
      files: [
        { dir: ['d-a', 'd-b'], name: 'f-sparse', kind: 'sparse', size: 70_000, tail: 12_345, seed: 1, mode: 0o644, mtime: 1_500_000_000 },
        { dir: [], name: 'f-large', kind: 'large', size: 50_000, tail: 0, seed: 2, mode: 0o600, mtime: 1_500_000_001 },
        { dir: ['d-a'], name: 'f-empty', kind: 'empty', size: 1, tail: 0, seed: 3, mode: 0o400, mtime: 1_500_000_002 },
        { dir: ['d-c'], name: 'f-small', kind: 'small', size: 777, tail: 0, seed: 4, mode: 0o755, mtime: 1_500_000_003 },
      ],
      emptyDirs: [['e-x', 'e-y']],
    };
    await fc.assert(
      fc.asyncProperty(treeArb, async (tree) => {
        const src = join(temps.make(), 'src');
        fs.mkdirSync(src);
        build(src, tree);
        const { store, section } = newSection();
        stores.push(store);
        const run = await protect(protection, dirResource(src), section);
        const sizes = tree.files.map((f) => contentOf(f).length);
        expect(run.savedInfo).to.include({ files: tree.files.length, bytes: sizes.reduce((a, b) => a + b, 0), unchanged_files: 0 });
        await verify(protection, dirResource(src), section);
        const target = join(temps.make(), 'restored');
        await restore(protection, dirResource(src), section, { target_path: target });
        expectSameTree(snapshotTree(target), snapshotTree(src));
        for (const f of tree.files.filter((x) => x.kind === 'sparse')) {
          const rel = join(...f.dir, f.name);
          const restored = fs.statSync(join(target, rel));
          const original = fs.statSync(join(src, rel));
          expect(original.blocks * 512, `${rel}: the source is written out in full`).to.be.at.least(original.size);
          expect(restored.size).to.equal(original.size);
          expect(restored.blocks * 512, `${rel}: allocated bytes of the restored file`).to.be.lessThan(restored.size - 2 * MiB);
          sparseSeen++;
        }
        await store.close();
      }),
      { numRuns: 8, examples: [[example]] },
    );
    expect(sparseSeen).to.be.greaterThan(0);
  });

  const previous =
    'a second checkpoint with `previous` reuses every unchanged file; a file changed in place (same size and mtime) is read again';
  it(previous, async () => {
    const src = join(temps.make(), 'src');
    const T = 1_600_000_000;
    const files: Record<string, Buffer> = {
      'big.bin': keystream('inc-big', 2 * MiB + 5),
      'dir/mid.bin': keystream('inc-mid', 300 * KiB),
      'dir/sub/small.txt': Buffer.from('small text\n'),
      'dir/other.txt': Buffer.from('other text\n'.repeat(100)),
      empty: Buffer.alloc(0),
    };
    for (const [rel, bytes] of Object.entries(files)) {
      fs.mkdirSync(join(src, rel, '..'), { recursive: true });
      fs.writeFileSync(join(src, rel), bytes);
      fs.utimesSync(join(src, rel), T, T);
    }
    pinDirTimes(src);
    const total = Object.values(files).reduce((a, b) => a + b.length, 0);
    const counting = new CountingBank(new MemoryBank());
    const store = new ChunkStore(counting, { workers: 2 }, 'counting');
    stores.push(store);

    const one = newSection(store).section;
    const first = await protect(protection, dirResource(src), one);
    expect(first.savedInfo).to.include({ files: 5, unchanged_files: 0, bytes: total });
    const firstBytes = counting.counts.bytesWritten;
    expect(firstBytes).to.be.at.least(total * 0.99);

    counting.reset();
    const two = newSection(store).section;
    const second = await protect(protection, dirResource(src), two, {}, undefined, one);
    expect(second.savedInfo).to.include({ files: 5, unchanged_files: 5, unchanged_bytes: total, bytes: total });
    expect(counting.counts.bytesWritten, 'bytes written by the second checkpoint').to.be.lessThan(firstBytes / 100);
    await verify(protection, dirResource(src), two);

    // Change mid.bin in place: same size, and its mtime put back; only its ctime tells.
    const mid = join(src, 'dir/mid.bin');
    const before = fs.statSync(mid, { bigint: true });
    const changed = keystream('inc-mid-changed', 300 * KiB);
    fs.writeFileSync(mid, changed);
    fs.utimesSync(mid, T, T);
    const after = fs.statSync(mid, { bigint: true });
    expect(after.mtimeNs).to.equal(before.mtimeNs);
    expect(after.size).to.equal(before.size);
    expect(after.ino).to.equal(before.ino);
    expect(after.ctimeNs).to.not.equal(before.ctimeNs);

    counting.reset();
    const three = newSection(store).section;
    const third = await protect(protection, dirResource(src), three, {}, undefined, two);
    expect(third.savedInfo).to.include({ files: 5, unchanged_files: 4, unchanged_bytes: total - changed.length, bytes: total });
    expect(counting.counts.bytesWritten).to.be.within(changed.length, changed.length + 64 * KiB);

    const t3 = join(temps.make(), 'three');
    await restore(protection, dirResource(src), three, { target_path: t3 });
    expectSameTree(snapshotTree(t3), snapshotTree(src));
    const t2 = join(temps.make(), 'two');
    await restore(protection, dirResource(src), two, { target_path: t2 });
    expect(fs.readFileSync(join(t2, 'dir/mid.bin')).equals(files['dir/mid.bin']!)).to.equal(true);
    expect(fs.readFileSync(join(t2, 'big.bin')).equals(files['big.bin']!)).to.equal(true);
  });
});
