/**
 * A restore's large files (over 1 MiB) are written by the bank's codec workers from their own chunks
 * (BankSection.writeChunksToFile), and a verify's are hashed there (hashChunks), outside the stream
 * the small files come through. These tests hold that path to what the streamed one promised: the
 * same bytes and holes, a corrupt chunk named by its file and never landed, no temp file after a
 * failure, nothing written after the restore returns, every bad file counted by verify.
 */
import { randomBytes } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { MemoryBank } from '../../src/bank/adapters/memory.js';
import type { BankSection, ChunkRef, ProtectionPlugin } from '../../src/plugins/api.js';
import { openArchive } from '../../src/plugins/fs/archive.js';
import { flipChunkByte } from '../helpers/bank-files.js';
import {
  TempDirs,
  allNames,
  closeStores,
  craftArchive,
  dirResource,
  expectCode,
  loadPlugin,
  newSection,
  protect,
  restore,
  snapshotTree,
  verify,
} from './fs-plugin-helpers.js';

const MiB = 1024 * 1024;
/** Small chunks and packs: a large file spans many runs and several packs. */
const SPEC = { chunking: { min_size: 16 * 1024, avg_size: 64 * 1024, max_size: 256 * 1024 }, pack_size: MiB };

/** A section that records what the restore asked of it, and may act when a file's write starts. */
class Watched implements BankSection {
  direct: number[] = [];
  hashed: number[] = [];
  streamed = 0;
  onDirect: (() => void) | null = null;
  constructor(readonly inner: BankSection) {}
  put = (n: string, d: Buffer | string) => this.inner.put(n, d);
  putStream: BankSection['putStream'] = (n, s) => this.inner.putStream(n, s);
  get = (n: string) => this.inner.get(n);
  getStream = (n: string) => this.inner.getStream(n);
  stat = (n: string) => this.inner.stat(n);
  list = (p?: string) => this.inner.list(p);
  delete = (n: string) => this.inner.delete(n);
  chunkedWriter = () => this.inner.chunkedWriter();
  getChunkList = (n: string) => this.inner.getChunkList(n);
  readChunks(refs: readonly ChunkRef[], signal?: AbortSignal): AsyncIterable<Buffer> {
    this.streamed += refs.reduce((n, r) => n + r.size, 0);
    return this.inner.readChunks(refs, signal);
  }
  hashChunks(refs: readonly ChunkRef[], signal?: AbortSignal): Promise<string> {
    this.hashed.push(refs.reduce((n, r) => n + r.size, 0));
    return this.inner.hashChunks!(refs, signal);
  }
  writeChunksToFile(refs: readonly ChunkRef[], fd: number, signal?: AbortSignal): Promise<string> {
    this.direct.push(refs.reduce((n, r) => n + r.size, 0));
    const p = this.inner.writeChunksToFile!(refs, fd, signal);
    this.onDirect?.();
    return p;
  }
}

/** The same section without the direct path: what a third-party section (or an older one) offers. */
function streamOnly(inner: BankSection): BankSection {
  const s = new Watched(inner) as Partial<Watched>;
  Object.defineProperty(s, 'writeChunksToFile', { value: undefined });
  Object.defineProperty(s, 'hashChunks', { value: undefined });
  return s as BankSection;
}

/** Allocated bytes of a file (holes take none). */
const allocated = (path: string): number => fs.statSync(path).blocks * 512;

describe('fs.directory restore and verify: large files in the codec workers', function () {
  const temps = new TempDirs();
  let protection: ProtectionPlugin;
  let src: string;
  let section: BankSection;
  let bank: MemoryBank;
  let prefix: string;
  const dedup = randomBytes(3 * MiB);

  before(async () => {
    ({ protection } = await loadPlugin());
  });

  beforeEach(async () => {
    src = join(temps.make(), 'src');
    fs.mkdirSync(join(src, 'sub'), { recursive: true });
    fs.writeFileSync(join(src, 'a.txt'), 'alpha\n');
    fs.writeFileSync(join(src, 'big.bin'), randomBytes(5 * MiB + 123));
    // Zeros in 64 KiB-aligned blocks between data: restored as holes.
    fs.writeFileSync(join(src, 'sparse.img'), Buffer.concat([randomBytes(300 * 1024), Buffer.alloc(4 * MiB), randomBytes(200 * 1024)]));
    fs.writeFileSync(join(src, 'sub', 'copy1.bin'), dedup);
    // The same bytes again: its chunks are the first copy's, read from wherever they lie.
    fs.writeFileSync(join(src, 'sub', 'copy2.bin'), dedup);
    fs.writeFileSync(join(src, 'sub', 'small.bin'), randomBytes(700 * 1024));
    fs.writeFileSync(join(src, 'z.txt'), 'zulu\n');
    // Whole seconds: restore sets times through utimes, whose double loses sub-microsecond digits.
    for (const rel of ['a.txt', 'big.bin', 'sparse.img', 'sub/copy1.bin', 'sub/copy2.bin', 'sub/small.bin', 'z.txt', 'sub', '.'])
      fs.utimesSync(join(src, rel), 1_700_000_000, 1_700_000_000);
    ({ section, bank, prefix } = newSection({ dir: src, spec: SPEC }));
    await protect(protection, dirResource(src), section);
  });

  afterEach(() => temps.cleanup());
  after(() => closeStores());

  it('writes each large file from its own chunks, and only the small ones come through the stream', async () => {
    const watched = new Watched(section);
    const target = join(temps.make(), 'out');
    await restore(protection, dirResource(src), watched, { target_path: target });
    expect(snapshotTree(target)).to.deep.equal(snapshotTree(src));
    expect(watched.direct.sort((a, b) => a - b)).to.deep.equal([3 * MiB, 3 * MiB, 4 * MiB + 500 * 1024, 5 * MiB + 123]);
    expect(watched.streamed).to.equal(700 * 1024 + 6 + 5);
    // The 4 MiB of zeros stayed a hole.
    expect(allocated(join(target, 'sparse.img'))).to.be.lessThan(MiB);
    expect(allNames(target).filter((n) => n.includes('.bwk-restore-'))).to.deep.equal([]);
  });

  it('a section without the direct path restores the same tree through the stream', async () => {
    const target = join(temps.make(), 'out');
    await restore(protection, dirResource(src), streamOnly(section), { target_path: target });
    expect(snapshotTree(target)).to.deep.equal(snapshotTree(src));
    expect(allocated(join(target, 'sparse.img'))).to.be.lessThan(MiB);
  });

  it('a corrupt chunk in the middle of a large file fails the restore naming that file, which never lands', async () => {
    let offset = -1;
    for await (const e of (await openArchive(section, `fs.directory#${src}`)).entries()) {
      if (e.type === 'file' && e.path.toString() === 'big.bin') offset = e.offset;
    }
    await flipChunkByte(bank, prefix, 'data', offset + Math.floor(2.5 * MiB));
    const target = join(temps.make(), 'out');
    const err = await expectCode(restore(protection, dirResource(src), section, { target_path: target }), 'BWK_ERR_DATA_CORRUPT');
    expect(err.message).to.contain('big.bin');
    expect(fs.existsSync(join(target, 'big.bin'))).to.equal(false);
    expect(allNames(target).filter((n) => n.includes('.bwk-restore-'))).to.deep.equal([]);
  });

  it('an abort in the middle of a large file stops it: no temp file, and nothing is written after the restore returns', async () => {
    const watched = new Watched(section);
    const abort = new AbortController();
    // Aborted once a few of the large files' runs have been read from the bank: in the middle of big.bin.
    let reads = -1;
    const range = bank.getObjectRange.bind(bank);
    bank.getObjectRange = async (...args) => {
      if (reads >= 0 && ++reads === 3) abort.abort(new Error('operator cancelled'));
      return range(...args);
    };
    watched.onDirect = () => (reads = Math.max(reads, 0));
    const target = join(temps.make(), 'out');
    let caught: unknown;
    const restoring = restore(protection, dirResource(src), watched, { target_path: target }, undefined, abort.signal);
    await restoring.catch((e: unknown) => (caught = e));
    expect(String(caught)).to.contain('operator cancelled');
    const names = allNames(target);
    expect(names.filter((n) => n.includes('.bwk-restore-'))).to.deep.equal([]);
    expect(names).not.to.include('big.bin');
    const before = snapshotTree(target);
    await new Promise((r) => setTimeout(r, 300));
    expect(snapshotTree(target)).to.deep.equal(before);
  });

  it('verify hashes the large files in the workers and streams only the small ones', async () => {
    const watched = new Watched(section);
    await verify(protection, dirResource(src), watched);
    expect(watched.hashed.sort((a, b) => a - b)).to.deep.equal([3 * MiB, 3 * MiB, 4 * MiB + 500 * 1024, 5 * MiB + 123]);
    expect(watched.streamed).to.equal(700 * 1024 + 6 + 5);
  });

  it('verify counts every file whose bytes are wrong, large or small, and names the first in archive order', async () => {
    const wrong = '0'.repeat(64);
    const own = newSection({ spec: SPEC }).section;
    await craftArchive(own, '/src', [
      { type: 'dir', path: '.' },
      { type: 'file', path: 'big1.bin', content: randomBytes(2 * MiB), blake3: wrong },
      { type: 'file', path: 'big2.bin', content: randomBytes(3 * MiB) },
      { type: 'file', path: 'c.txt', content: 'small', blake3: wrong },
      { type: 'file', path: 'big3.bin', content: randomBytes(2 * MiB), blake3: wrong },
    ]);
    const watched = new Watched(own);
    const err = await expectCode(verify(protection, dirResource('/src'), watched), 'BWK_ERR_DATA_CORRUPT');
    expect(err.message).to.contain('"big1.bin" does not match its BLAKE3 (3 files are bad)');
    expect(watched.hashed).to.have.length(3);
    // The same archive through the stream alone gives the same verdict.
    const streamed = await expectCode(verify(protection, dirResource('/src'), streamOnly(own)), 'BWK_ERR_DATA_CORRUPT');
    expect(streamed.message).to.equal(err.message);
  });

  it('verify names the large file holding a corrupt chunk', async () => {
    let offset = -1;
    for await (const e of (await openArchive(section, `fs.directory#${src}`)).entries()) {
      if (e.type === 'file' && e.path.toString() === 'sparse.img') offset = e.offset;
    }
    await flipChunkByte(bank, prefix, 'data', offset + 100 * 1024);
    const err = await expectCode(verify(protection, dirResource(src), section), 'BWK_ERR_DATA_CORRUPT');
    expect(err.message).to.contain('sparse.img');
  });

  it('a full disk during a worker write fails with ENOSPC naming nothing false, and leaves no temp file', async function () {
    const mnt = temps.make();
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mnt]);
    if (mounted.status !== 0) this.skip(); // needs root: CI runs as root, as this machine does
    try {
      const target = join(mnt, 'out');
      let caught: unknown;
      await restore(protection, dirResource(src), section, { target_path: target }).catch((e: unknown) => (caught = e));
      expect((caught as { code?: string }).code, String(caught)).to.equal('ENOSPC');
      expect(allNames(target).filter((n) => n.includes('.bwk-restore-'))).to.deep.equal([]);
    } finally {
      execFileSync('umount', [mnt]);
    }
  });
});
