import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { silentLogger } from '../../src/common/logging.js';
import type { BankSection, ChunkedWriter, ProtectionPlugin } from '../../src/plugins/api.js';
import {
  TempDirs,
  closeStores,
  dirResource,
  expectCode,
  loadPlugin,
  newSection,
  protect,
  protectV2,
  restore,
  snapshotTree,
  verify,
} from './fs-plugin-helpers.js';
import type { TreeEntry } from './fs-plugin-helpers.js';
import { setTreesSpillAt } from '../../src/plugins/fs/tree-source.js';

const isRoot = process.getuid?.() === 0;
const RAW_NAME = Buffer.from([0x72, 0x61, 0x77, 0x2d, 0xff, 0xfe]); // "raw-" + two bytes that are not UTF-8
const T1 = 1_600_000_000.5;
const T2 = 1_500_000_000;

/** Builds the sample tree; returns whether a FIFO could be made (mkfifo may be missing). */
function buildTree(src: string): boolean {
  const p = (rel: string): string => join(src, rel);
  fs.mkdirSync(p('a/b/c'), { recursive: true });
  fs.writeFileSync(p('a/b/c/deep.txt'), 'deep\n');
  fs.mkdirSync(p('empty'));
  fs.symlinkSync('a/b', p('rel-link'));
  fs.symlinkSync('does/not/exist', p('dangling'));
  fs.writeFileSync(p('binary.bin'), Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) % 256)));
  fs.mkdirSync(p('été'));
  fs.writeFileSync(p('été/ファイル.txt'), 'こんにちは\n');
  fs.writeFileSync(Buffer.concat([Buffer.from(`${src}/`), RAW_NAME]), 'raw name bytes');
  fs.writeFileSync(p('big.bin'), randomBytes(5 * 1024 * 1024));
  fs.writeFileSync(p('secret.txt'), 'secret');
  fs.chmodSync(p('secret.txt'), 0o600);
  fs.writeFileSync(p('script.sh'), '#!/bin/sh\necho hi\n');
  fs.chmodSync(p('script.sh'), 0o755);
  fs.chmodSync(p('a'), 0o750);
  fs.chmodSync(src, 0o751);
  if (isRoot) {
    fs.chownSync(p('script.sh'), 1234, 2345);
    fs.lchownSync(p('rel-link'), 1234, 2345);
    fs.chownSync(p('empty'), 1234, 2345);
  }
  let fifo = true;
  try {
    execFileSync('mkfifo', [p('pipe')]);
    // Times go through utimes in (float) seconds: a whole half second survives exactly.
    fs.utimesSync(p('pipe'), T2, T1);
  } catch {
    fifo = false;
  }
  for (const f of ['a/b/c/deep.txt', 'binary.bin', 'été/ファイル.txt', 'big.bin', 'secret.txt', 'script.sh']) fs.utimesSync(p(f), T2, T1);
  fs.utimesSync(Buffer.concat([Buffer.from(`${src}/`), RAW_NAME]), T2, T2);
  fs.lutimesSync(p('rel-link'), T2, T2);
  fs.lutimesSync(p('dangling'), T2, T1);
  // Directories last, deepest first: creating entries above changes a directory's mtime.
  for (const d of ['a/b/c', 'a/b', 'a', 'empty', 'été', '']) fs.utimesSync(p(d), T2, d === 'empty' ? T1 : T2 + 42);
  return fifo;
}

function expectSameTree(actual: Map<string, TreeEntry>, expected: Map<string, TreeEntry>): void {
  expect([...actual.keys()].sort()).to.deep.equal([...expected.keys()].sort());
  for (const [rel, e] of expected) expect(actual.get(rel), rel).to.deep.equal(e);
}

describe('fs.directory plugin: protect and restore round trip', function () {
  const temps = new TempDirs();
  let protection: ProtectionPlugin;
  let src: string;
  let section: BankSection;
  let hasFifo: boolean;

  before(async () => {
    ({ protection } = await loadPlugin());
  });

  beforeEach(() => {
    src = join(temps.make(), 'src');
    fs.mkdirSync(src);
    hasFifo = buildTree(src);
    ({ section } = newSection({ dir: src }));
  });

  afterEach(() => temps.cleanup());
  after(() => closeStores());

  it('restores every file byte-for-byte with modes, owners, mtimes, symlinks, empty dirs and non-UTF-8 names', async () => {
    const before = snapshotTree(src);
    const run = await protect(protection, dirResource(src), section);
    const info = run.savedInfo!;
    expect(info).to.include({ files: 7, directories: 6, symlinks: 2 });
    const expectedBytes = 5 + 70_000 + Buffer.byteLength('こんにちは\n') + 14 + 5 * 1024 * 1024 + 6 + 18;
    expect(info.bytes).to.equal(expectedBytes);
    // The FIFO is recorded (format 3); the one entry reported is the name xattrs cannot be read for (not UTF-8).
    expect(info).to.include({ special_files: hasFifo ? 1 : 0 });
    expect(info.skipped).to.deep.equal([
      { path: 'raw-\\xff\\xfe', kind: 'xattrs', reason: 'extended attributes not read: the path is not valid UTF-8' },
    ]);
    expect(run.progress.at(-1)).to.deep.include({ done: expectedBytes, unit: 'bytes' });
    expect(await section.list()).to.deep.equal(['data', 'meta.json', 'trees']);

    await verify(protection, dirResource(src), section);

    const target = join(temps.make(), 'restored', 'here');
    await restore(protection, dirResource(src), section, { target_path: target });
    expectSameTree(snapshotTree(target), before);
    if (hasFifo) expect(fs.lstatSync(join(target, 'pipe')).isFIFO()).to.equal(true);
    const rootSrc = fs.statSync(src, { bigint: true });
    const rootDst = fs.statSync(target, { bigint: true });
    expect(Number(rootDst.mode & 0o7777n)).to.equal(0o751);
    expect(rootDst.mtimeNs).to.equal(rootSrc.mtimeNs);
    expect(fs.readFileSync(Buffer.concat([Buffer.from(`${target}/`), RAW_NAME]), 'utf8')).to.equal('raw name bytes');
    expect(fs.readlinkSync(join(target, 'dangling'))).to.equal('does/not/exist');
    expect(fs.readdirSync(join(target, 'empty'))).to.deep.equal([]);
    expect(fs.readFileSync(join(target, 'big.bin')).equals(fs.readFileSync(join(src, 'big.bin')))).to.equal(true);
  });

  it('with the trees spilled to a temp file (a large archive): restores, verifies, serves as previous, leaves no file', async () => {
    const was = setTreesSpillAt(1);
    try {
      const before = snapshotTree(src);
      const shared = newSection({ dir: src });
      const first = await protect(protection, dirResource(src), shared.section);
      await verify(protection, dirResource(src), shared.section);
      const target = join(temps.make(), 'spilled');
      await restore(protection, dirResource(src), shared.section, { target_path: target });
      expectSameTree(snapshotTree(target), before);
      const next = newSection({ store: shared.store, dir: src });
      const second = await protect(protection, dirResource(src), next.section, {}, undefined, shared.section);
      expect(second.savedInfo).to.include({ files: first.savedInfo!.files, unchanged_files: first.savedInfo!.files });
      // Unlinked as soon as it was open, and closed with the archive: no temp file, no open descriptor left.
      expect(fs.readdirSync(tmpdir()).filter((n) => n.startsWith('bwk-fs-trees-'))).to.deep.equal([]);
      const open = fs.readdirSync('/proc/self/fd').map((fd) => {
        try {
          return fs.readlinkSync(`/proc/self/fd/${fd}`);
        } catch {
          return '';
        }
      });
      expect(open.filter((l) => l.includes('bwk-fs-trees-'))).to.deep.equal([]);
    } finally {
      setTreesSpillAt(was);
    }
  });

  it('a format-2 checkpoint (written as builds before format 3 did) restores, verifies and serves as previous', async () => {
    const before = snapshotTree(src);
    const run = await protectV2(protection, dirResource(src), section);
    expect(JSON.parse((await section.get('meta.json')).toString())).to.include({ version: 2 });
    expect(await section.list()).to.deep.equal(['data', 'manifest.jsonl', 'meta.json']);
    await verify(protection, dirResource(src), section);
    const target = join(temps.make(), 'from-v2');
    await restore(protection, dirResource(src), section, { target_path: target });
    // Format 2 never stored FIFOs (it listed them as skipped): everything else comes back as it was.
    const expected = new Map(before);
    expected.delete('pipe');
    expectSameTree(snapshotTree(target), expected);

    // The first protect after the upgrade reads the v2 checkpoint for change detection and writes v3.
    const shared = newSection({ dir: src });
    await protectV2(protection, dirResource(src), shared.section);
    const v3 = newSection({ store: shared.store, dir: src });
    const second = await protect(protection, dirResource(src), v3.section, {}, undefined, shared.section);
    expect(second.savedInfo).to.include({ files: run.savedInfo!.files, unchanged_files: run.savedInfo!.files });
    expect(JSON.parse((await v3.section.get('meta.json')).toString())).to.include({ version: 3 });
    const again = join(temps.make(), 'v3-after-v2');
    await restore(protection, dirResource(src), v3.section, { target_path: again });
    expectSameTree(snapshotTree(again), before);
  });

  it('leaves owners to the restoring user when restore_owner is false', async function () {
    if (!isRoot) this.skip(); // owners can only be set, and so only be observed differing, as root
    await protect(protection, dirResource(src), section);
    const target = join(temps.make(), 'no-owner');
    await restore(protection, dirResource(src), section, { target_path: target, restore_owner: false });
    expect(fs.statSync(join(target, 'script.sh')).uid).to.equal(0);
    expect(fs.statSync(join(src, 'script.sh')).uid).to.equal(1234);
    expect(fs.statSync(join(target, 'script.sh')).mode & 0o7777).to.equal(0o755);
  });

  it('leaves out excluded paths (exact entries and everything below an excluded directory)', async () => {
    const run = await protect(protection, dirResource(src), section, { exclude: ['big.bin', 'a/b', './été/'] });
    expect(run.savedInfo).to.include({ files: 4, directories: 3 });
    const target = temps.make();
    await restore(protection, dirResource(src), section, { target_path: target });
    const names = [...snapshotTree(target).keys()];
    expect(names).to.include.members(['a', 'empty', 'binary.bin', 'rel-link']);
    expect(names).to.not.include.members(['big.bin', 'a/b', 'a/b/c/deep.txt', 'été']);
  });

  it('refuses exclude paths that are absolute or climb out of the directory', async () => {
    await expectCode(protect(protection, dirResource(src), section, { exclude: ['/etc'] }), 'BWK_ERR_INVALID_INPUT');
    await expectCode(protect(protection, dirResource(src), section, { exclude: ['a/../..'] }), 'BWK_ERR_INVALID_INPUT');
  });

  it('restores in place when no target_path is given', async () => {
    const before = snapshotTree(src);
    await protect(protection, dirResource(src), section);
    fs.rmSync(join(src, 'a'), { recursive: true });
    fs.writeFileSync(join(src, 'secret.txt'), 'changed');
    await expectCode(restore(protection, dirResource(src), section), 'BWK_ERR_RESTORE_CONFLICT');
    await restore(protection, dirResource(src), section, { conflict: 'overwrite' });
    const after = snapshotTree(src);
    for (const rel of ['a', 'a/b', 'a/b/c', 'a/b/c/deep.txt', 'secret.txt']) expect(after.get(rel), rel).to.deep.equal(before.get(rel));
  });

  it('stops promptly when the signal is aborted and leaves no completed archive', async () => {
    const controller = new AbortController();
    controller.abort(new Error('cancelled by test'));
    let caught: unknown;
    await protect(protection, dirResource(src), section, {}, controller.signal).catch((err: unknown) => {
      caught = err;
    });
    expect((caught as Error).message).to.equal('cancelled by test');
    expect(await section.stat('meta.json')).to.equal(null);
  });

  it('delete removes every object of the section', async () => {
    await protect(protection, dirResource(src), section);
    await protection.getDeleteOperation(dirResource(src)).main!({
      operationId: 'op',
      checkpointId: 'cp',
      projectId: 'p',
      resource: dirResource(src),
      parameters: {},
      bank: section,
      signal: new AbortController().signal,
      logger: silentLogger,
      progress: () => undefined,
      resumeState: null,
      saveResumeState: () => undefined,
    });
    expect(await section.list()).to.deep.equal([]);
  });

  describe('conflicts with what the target already holds', () => {
    let target: string;
    let outside: string;

    beforeEach(async () => {
      await protect(protection, dirResource(src), section);
      target = temps.make();
      outside = join(temps.make(), 'outside.txt');
      fs.writeFileSync(outside, 'outside');
      fs.mkdirSync(join(target, 'a/b/c'), { recursive: true });
      fs.writeFileSync(join(target, 'a/b/c/deep.txt'), 'local');
      fs.writeFileSync(join(target, 'mine.txt'), 'mine');
      fs.symlinkSync(outside, join(target, 'secret.txt'));
    });

    it('fail (the default): refuses before writing anything', async () => {
      const before = snapshotTree(target);
      const err = await expectCode(restore(protection, dirResource(src), section, { target_path: target }), 'BWK_ERR_RESTORE_CONFLICT');
      expect(err.message).to.contain('2 entr').and.contain('a/b/c/deep.txt');
      expectSameTree(snapshotTree(target), before);
    });

    it('skip: keeps existing files and symlinks, restores the rest', async () => {
      await restore(protection, dirResource(src), section, { target_path: target, conflict: 'skip' });
      expect(fs.readFileSync(join(target, 'a/b/c/deep.txt'), 'utf8')).to.equal('local');
      expect(fs.readlinkSync(join(target, 'secret.txt'))).to.equal(outside);
      expect(fs.readFileSync(join(target, 'mine.txt'), 'utf8')).to.equal('mine');
      expect(fs.readFileSync(join(target, 'big.bin')).equals(fs.readFileSync(join(src, 'big.bin')))).to.equal(true);
      expect(fs.readFileSync(join(target, 'été/ファイル.txt'), 'utf8')).to.equal('こんにちは\n');
    });

    it('overwrite: replaces files and symlinks without writing through them', async () => {
      await restore(protection, dirResource(src), section, { target_path: target, conflict: 'overwrite' });
      expect(fs.readFileSync(join(target, 'a/b/c/deep.txt'), 'utf8')).to.equal('deep\n');
      expect(fs.lstatSync(join(target, 'secret.txt')).isFile()).to.equal(true);
      expect(fs.readFileSync(join(target, 'secret.txt'), 'utf8')).to.equal('secret');
      expect(fs.readFileSync(outside, 'utf8')).to.equal('outside');
      expect(fs.readFileSync(join(target, 'mine.txt'), 'utf8')).to.equal('mine');
    });

    it('overwrite: a directory where the checkpoint has a file is a conflict, found before writing', async () => {
      fs.mkdirSync(join(target, 'script.sh'));
      fs.writeFileSync(join(target, 'script.sh', 'keep'), 'keep');
      const before = snapshotTree(target);
      const err = await expectCode(
        restore(protection, dirResource(src), section, { target_path: target, conflict: 'overwrite' }),
        'BWK_ERR_RESTORE_CONFLICT',
      );
      expect(err.message).to.contain('script.sh');
      expectSameTree(snapshotTree(target), before);
    });
  });
});

describe('fs.directory plugin: a file that changes size while it is read', function () {
  const temps = new TempDirs();
  let protection: ProtectionPlugin;

  before(async () => {
    ({ protection } = await loadPlugin());
  });

  afterEach(() => temps.cleanup());
  after(() => closeStores());

  /**
   * The real section, except that `change` runs once the chunked writer of `data` has received the
   * first block the plugin read (4 MiB). Only once: the manifest's putStream goes through this
   * section's chunkedWriter too.
   */
  function changingSection(inner: BankSection, change: () => void): BankSection {
    let first = true;
    return Object.assign(Object.create(inner) as BankSection, {
      chunkedWriter: async (): Promise<ChunkedWriter> => {
        const writer = await inner.chunkedWriter();
        return Object.assign(Object.create(writer) as ChunkedWriter, {
          write: (source: AsyncIterable<Uint8Array>) => {
            async function* relay(): AsyncGenerator<Uint8Array> {
              for await (const block of source) {
                yield block;
                if (first) change();
                first = false;
              }
            }
            return writer.write(relay());
          },
        });
      },
    });
  }

  // The plugin reads 4 MiB blocks and may read a block or two ahead of the one the writer holds, so
  // the change lies past 12 MiB: only reads issued after it (never one in flight) see it.
  const MiB = 1024 * 1024;
  for (const [what, change, expectedSize] of [
    ['grows', (f: string) => fs.appendFileSync(f, 'grown tail'), 16 * MiB + 10],
    ['shrinks', (f: string) => fs.truncateSync(f, 14 * MiB), 14 * MiB],
  ] as const) {
    it(`stores the bytes actually read when the file ${what}, and they verify and restore`, async () => {
      const src = temps.make();
      const file = join(src, 'moving.bin');
      fs.writeFileSync(file, randomBytes(16 * MiB));
      const { section: inner } = newSection({ dir: src });
      const section = changingSection(inner, () => change(file));
      const run = await protect(protection, dirResource(src), section);
      expect(run.savedInfo).to.include({ files: 1, bytes: expectedSize });
      await verify(protection, dirResource(src), inner);
      const target = temps.make();
      await restore(protection, dirResource(src), inner, { target_path: target, conflict: 'overwrite' });
      expect(fs.readFileSync(join(target, 'moving.bin')).equals(fs.readFileSync(file))).to.equal(true);
    });
  }
});
