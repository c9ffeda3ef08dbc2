/**
 * A large file that changed since the previous checkpoint is read and cut by a worker (rescanFile):
 * only the chunks the bank lacks are read again and stored. What is stored must be exactly what a
 * full read would store, and a file too changed falls back to streaming.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { blake3 } from '@napi-rs/blake-hash';
import { expect } from 'chai';
import { ChunkStore } from '../../src/bank/chunks/store.js';
import { MemoryBank } from '../../src/bank/adapters/memory.js';
import { PrefixedBankSection } from '../../src/bank/section.js';
import type { ProtectionPlugin } from '../../src/plugins/api.js';
import { TempDirs, closeStores, dirResource, loadPlugin, newSection, protect, restore, verify } from './fs-plugin-helpers.js';

const MiB = 1024 * 1024;

describe('fs.directory plugin: changed large files rescanned by a worker', function () {
  const temps = new TempDirs();
  let protection: ProtectionPlugin;

  before(async () => {
    ({ protection } = await loadPlugin());
  });
  afterEach(() => temps.cleanup());
  after(() => closeStores());

  /** Bytes the bank holds (packs included), to tell how much a protect stored. */
  const stored = async (bank: MemoryBank): Promise<number> => {
    let n = 0;
    for (const key of await bank.listObjects('')) n += (await bank.statObject(key))!.size;
    return n;
  };

  it('stores only the new chunks of a large file changed in place, and restores it byte for byte', async () => {
    const src = join(temps.make(), 'src');
    fs.mkdirSync(src);
    const big = randomBytes(24 * MiB);
    fs.writeFileSync(join(src, 'image.bin'), big);
    fs.writeFileSync(join(src, 'note.txt'), 'unchanged');
    const { bank, store, section: first } = newSection({ dir: src });
    await protect(protection, dirResource(src), first);
    const before = await stored(bank);

    // 64 KiB rewritten in the middle, and 1 MiB appended: the file's ctime and mtime move.
    const fd = fs.openSync(join(src, 'image.bin'), 'r+');
    fs.writeSync(fd, randomBytes(64 * 1024), 0, 64 * 1024, 12 * MiB);
    fs.writeSync(fd, randomBytes(MiB), 0, MiB, 24 * MiB);
    fs.closeSync(fd);
    const { section: second } = newSection(store);
    const run = await protect(protection, dirResource(src), second, {}, undefined, first);
    expect(run.savedInfo).to.include({ files: 2, unchanged_files: 1, bytes: 25 * MiB + 'unchanged'.length });
    // A full re-read would store the same; a copy of the whole file would be 25 MiB.
    const added = (await stored(bank)) - before;
    expect(added)
      .to.be.greaterThan(MiB)
      .and.lessThan(8 * MiB);

    const out = join(temps.make(), 'out');
    await restore(protection, dirResource(src), second, { target_path: out });
    expect(fs.readFileSync(join(out, 'image.bin')).equals(fs.readFileSync(join(src, 'image.bin')))).to.equal(true);
    expect(fs.readFileSync(join(out, 'note.txt'), 'utf8')).to.equal('unchanged');
    await verify(protection, dirResource(src), second);
  });

  it('a file rewritten whole is streamed as before, with the same chunks a first protect makes', async () => {
    const src = join(temps.make(), 'src');
    fs.mkdirSync(src);
    fs.writeFileSync(join(src, 'dump.sql'), randomBytes(40 * MiB));
    const { store, section: first } = newSection({ dir: src });
    await protect(protection, dirResource(src), first);
    const fresh = randomBytes(40 * MiB);
    fs.writeFileSync(join(src, 'dump.sql'), fresh);
    const { section: second } = newSection(store);
    await protect(protection, dirResource(src), second, {}, undefined, first);

    // The same content protected into an empty bank, with no previous checkpoint, cuts the same chunks.
    const other = new ChunkStore(new MemoryBank(), {}, 'memory');
    const alone = new PrefixedBankSection(other, 'checkpoints/z/resources/y/', 'fs.directory#test');
    await protect(protection, dirResource(src), alone);
    const sizes = async (s: typeof second): Promise<number[]> => (await s.getChunkList('data')).map((r) => r.size);
    expect(await sizes(second)).to.deep.equal(await sizes(alone));
    await other.close();

    const out = join(temps.make(), 'out');
    await restore(protection, dirResource(src), second, { target_path: out });
    expect(fs.readFileSync(join(out, 'dump.sql')).equals(fresh)).to.equal(true);
  });

  describe('ChunkedWriter.rescanFile', () => {
    const blake3Hex = (b: Buffer): string => blake3(b).toString('hex');

    it('reports the file as read, appends its chunks, and stores only those the bank lacks', async () => {
      const dir = temps.make();
      const path = join(dir, 'f.bin');
      const data = randomBytes(12 * MiB);
      fs.writeFileSync(path, data);
      const { store, section } = newSection();
      const w1 = await section.chunkedWriter();
      await w1.write([data]);
      const streamed = await w1.commit('streamed');

      const { section: again } = newSection(store);
      const w2 = await again.chunkedWriter();
      const scan = await w2.rescanFile!(Buffer.from(path));
      if (scan.kind !== 'data') throw new Error(`scan: ${scan.kind}`);
      expect([scan.size, scan.blake3]).to.deep.equal([data.length, blake3Hex(data)]);
      expect(await scan.append()).to.equal(streamed.chunks);
      // Same boundaries and ids as the streamed copy: every chunk was found in the bank.
      expect((await w2.commit('scanned')).refs).to.deep.equal(streamed.refs);
    });

    it('appends nothing, and says so, when the file changed after the scan or too much of it is new', async () => {
      const dir = temps.make();
      const path = join(dir, 'f.bin');
      const data = randomBytes(6 * MiB);
      fs.writeFileSync(path, data);
      const { store, section } = newSection();
      const w1 = await section.chunkedWriter();
      await w1.write([data.subarray(0, 3 * MiB)]);
      await w1.commit('half');

      const { section: s2 } = newSection(store);
      const w2 = await s2.chunkedWriter();
      const scan = await w2.rescanFile!(Buffer.from(path));
      if (scan.kind !== 'data') throw new Error(`scan: ${scan.kind}`);
      // Rewritten between the scan and the append: the new chunks no longer match what was scanned.
      fs.writeFileSync(path, randomBytes(6 * MiB));
      expect(await scan.append()).to.equal(null);
      expect(w2.length).to.equal(0);

      const huge = join(dir, 'huge.bin');
      fs.writeFileSync(huge, randomBytes(48 * MiB));
      const big = await w2.rescanFile!(Buffer.from(huge));
      if (big.kind !== 'data') throw new Error(`scan: ${big.kind}`);
      expect(await big.append()).to.equal(null);
      expect(w2.length).to.equal(0);

      const gone = await w2.rescanFile!(Buffer.from(join(dir, 'missing.bin')));
      expect(gone.kind).to.equal('gone');
    });
  });
});
