import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { ChunkIndex, type PackIndex } from '../../src/bank/chunks/pack-index.js';
import { MemoryBank } from '../../src/bank/adapters/memory.js';

const id = (): string => randomBytes(32).toString('hex');
const pack = (name: string, ids: string[], base = 0): PackIndex => ({
  pack: name,
  chunks: ids.map((c, i) => [c, base + i * 1000, 900 + i, 4096 + i]),
});

describe('chunk index (the in-memory union of pack indexes)', () => {
  const index = (): ChunkIndex => new ChunkIndex(new MemoryBank(), (_key, raw) => raw);

  it('serves each chunk from the first pack that lists it, and lists every pack whole', () => {
    const shared = id();
    const a = pack('a'.repeat(64), [id(), shared]);
    const b = pack('b'.repeat(64), [shared, id()], 5_000_000_000);
    const x = index();
    x.add(a);
    x.add(b);
    expect(x.chunkCount).to.equal(3);
    expect(x.get(shared)).to.deep.equal({ pack: a.pack, offset: 1000, length: 901, size: 4097 });
    expect(x.get(b.chunks[1]![0])).to.deep.equal({ pack: b.pack, offset: 5_000_001_000, length: 901, size: 4097 });
    expect(x.get(id())).to.equal(undefined);
    expect(x.indexes()).to.deep.equal([a, b]);
  });

  it('forgetting a pack keeps a chunk another pack also holds, now served from there', () => {
    const shared = id();
    const a = pack('a'.repeat(64), [id(), shared]);
    const b = pack('b'.repeat(64), [shared]);
    const x = index();
    x.add(a);
    x.add(b);
    x.forget([a.pack, 'c'.repeat(64)]);
    expect(x.has(a.chunks[0]![0])).to.equal(false);
    expect(x.get(shared)).to.deep.equal({ pack: b.pack, offset: 0, length: 900, size: 4096 });
    expect(x.indexes()).to.deep.equal([b]);
    expect(x.chunkCount).to.equal(1);
  });

  it('keeps every field of many packs exactly as listed (past its storage growing)', () => {
    const x = index();
    const packs = Array.from({ length: 30 }, (_, p) => pack(String(p).padStart(64, '0'), Array.from({ length: 200 }, id), p * 1e9));
    for (const p of packs) x.add(p);
    x.add(packs[3]!); // an index seen again changes nothing
    expect(x.chunkCount).to.equal(6000);
    expect(x.indexes()).to.deep.equal(packs);
    for (const p of packs)
      for (const [c, offset, length, size] of p.chunks) expect(x.get(c)).to.deep.equal({ pack: p.pack, offset, length, size });
  });
});
