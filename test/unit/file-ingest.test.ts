/**
 * Small files read and sealed in the codec workers (ChunkedWriter.readFiles, src/bank/chunks/
 * file-ingest.ts): what the worker read is exactly what is stored and hashed; a path that is no longer
 * a regular file is `gone` (never opened as a FIFO, never followed as a link), one that grew past its
 * listed size is `grew`; chunks repeated in a batch are stored once; and the fs.directory plugin
 * streams a file that grew between the walk and the read, storing what it read.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { Blake3Hasher } from '@napi-rs/blake-hash';
import { expect } from 'chai';
import type { BankSection, ChunkedWriter, FileRead } from '../../src/plugins/api.js';
import { TempDirs, closeStores, dirResource, loadPlugin, newSection, protect, restore, verify } from './fs-plugin-helpers.js';

const blake3 = (b: Buffer): string => new Blake3Hasher().update(b).digest('hex');
const buf = (p: string): Buffer => Buffer.from(p, 'utf8');

describe('small files read and sealed in the codec workers', function () {
  this.timeout(60_000);
  const temps = new TempDirs();
  afterEach(() => temps.cleanup());
  after(() => closeStores());

  it('reports each file as read (fstat facts, BLAKE3 of what was read) or gone / grew, and appends in the order asked', async () => {
    const dir = temps.make();
    const p = (n: string): string => join(dir, n);
    const a = randomBytes(70_000);
    const b = randomBytes(5_000);
    fs.writeFileSync(p('a'), a);
    fs.writeFileSync(p('b'), b);
    fs.writeFileSync(p('empty'), '');
    fs.writeFileSync(p('grown'), randomBytes(3000));
    fs.symlinkSync(p('a'), p('link'));
    fs.mkdirSync(p('dir'));
    execFileSync('mkfifo', [p('fifo')]);
    fs.chmodSync(p('b'), 0o640);

    const { section } = newSection();
    const writer = await section.chunkedWriter();
    const read = await writer.readFiles([
      { path: buf(p('a')), size: a.length },
      { path: buf(p('missing')), size: 10 },
      { path: buf(p('link')), size: a.length },
      { path: buf(p('fifo')), size: 0 },
      { path: buf(p('dir')), size: 0 },
      { path: buf(p('grown')), size: 1000 },
      { path: buf(p('empty')), size: 0 },
      { path: buf(p('b')), size: b.length },
    ]);
    expect(read.files.map((f) => f.kind)).to.deep.equal(['data', 'gone', 'gone', 'gone', 'gone', 'grew', 'data', 'data']);
    const fa = read.files[0] as FileRead & { kind: 'data' };
    const fb = read.files[7] as FileRead & { kind: 'data' };
    const st = fs.statSync(p('b'), { bigint: true });
    expect(fb).to.deep.include({ size: b.length, blake3: blake3(b) });
    expect(fb.facts).to.deep.equal({
      mode: Number(st.mode),
      uid: Number(st.uid),
      gid: Number(st.gid),
      mtimeNs: st.mtimeNs,
      ino: st.ino,
      ctimeNs: st.ctimeNs,
    });
    expect(fa.blake3).to.equal(blake3(a));
    expect((read.files[6] as FileRead & { kind: 'data' }).size).to.equal(0);

    // Appended b, then empty, then a: the list holds them in that order.
    expect(await read.append(7)).to.equal(1);
    expect(await read.append(6)).to.equal(0);
    expect(await read.append(0)).to.be.greaterThan(0);
    await writer.commit('data');
    const parts: Buffer[] = [];
    for await (const c of section.readChunks(await section.getChunkList('data'))) parts.push(Buffer.from(c));
    expect(Buffer.concat(parts).equals(Buffer.concat([b, a]))).to.equal(true);
    await expectThrows(() => read.append(1), /no data to append/);
  });

  it('a chunk repeated within a batch is sealed once and both files read back', async () => {
    const dir = temps.make();
    const same = randomBytes(40_000);
    fs.writeFileSync(join(dir, 'one'), same);
    fs.writeFileSync(join(dir, 'two'), same);
    const { section, store } = newSection();
    const writer: ChunkedWriter = await section.chunkedWriter();
    const read = await writer.readFiles([
      { path: buf(join(dir, 'one')), size: same.length },
      { path: buf(join(dir, 'two')), size: same.length },
    ]);
    await read.append(0);
    await read.append(1);
    const { refs } = await writer.commit('data');
    expect(refs).to.have.length(2);
    expect(refs[0]!.id).to.equal(refs[1]!.id);
    const index = await store.index();
    expect(index.chunkCount).to.equal(1);
    const parts: Buffer[] = [];
    for await (const c of section.readChunks(refs)) parts.push(Buffer.from(c));
    expect(Buffer.concat(parts).equals(Buffer.concat([same, same]))).to.equal(true);
  });

  it('fs.directory: a small file that grew after the walk is streamed whole; what was stored verifies and restores', async () => {
    const { protection } = await loadPlugin();
    const src = temps.make();
    const file = join(src, 'log.txt');
    fs.writeFileSync(file, randomBytes(20_000));
    fs.writeFileSync(join(src, 'other.txt'), 'unchanged');
    const { section: inner } = newSection({ dir: src });
    // The file grows after the walk listed it and before the workers read it.
    const growing: BankSection = Object.assign(Object.create(inner) as BankSection, {
      chunkedWriter: async (): Promise<ChunkedWriter> => {
        const writer = await inner.chunkedWriter();
        return Object.assign(Object.create(writer) as ChunkedWriter, {
          readFiles: (files: { path: Buffer; size: number }[]) => {
            if (fs.statSync(file).size === 20_000) fs.appendFileSync(file, randomBytes(5_000));
            return writer.readFiles(files);
          },
        });
      },
    });
    const run = await protect(protection, dirResource(src), growing);
    expect(run.savedInfo).to.include({ files: 2, bytes: 25_000 + 'unchanged'.length, skipped_count: 0 });
    await verify(protection, dirResource(src), inner);
    const target = temps.make();
    await restore(protection, dirResource(src), inner, { target_path: target, conflict: 'overwrite' });
    expect(fs.readFileSync(join(target, 'log.txt')).equals(fs.readFileSync(file))).to.equal(true);
  });
});

async function expectThrows(fn: () => Promise<unknown>, pattern: RegExp): Promise<void> {
  try {
    await fn();
  } catch (err) {
    expect((err as Error).message).to.match(pattern);
    return;
  }
  expect.fail('expected a rejection');
}
