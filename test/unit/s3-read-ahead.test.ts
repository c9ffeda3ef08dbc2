import { expect } from 'chai';
import { ReadAhead } from '../../src/bank/adapters/s3-read-ahead.js';

const MiB = 1024 * 1024;

/** An object of `size` bytes (byte i = i mod 251) read by range, counting the requests. */
function source(size: number) {
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i++) data[i] = i % 251;
  const calls: [number, number][] = [];
  const fetch = async (_key: string, offset: number, length: number): Promise<Buffer> => {
    calls.push([offset, length]);
    return Buffer.from(data.subarray(offset, offset + length));
  };
  return { data, calls, fetch };
}

describe('s3 bank read-ahead of packs', function () {
  this.timeout(30_000);
  it('reads a pack chunk after chunk with one request per 4 MiB, returning exactly the asked bytes', async () => {
    const s = source(10 * MiB);
    const ahead = new ReadAhead(s.fetch);
    for (let at = 0; at < 10 * MiB; at += 100_000) {
      const length = Math.min(100_000, 10 * MiB - at);
      expect((await ahead.read('chunks/packs/p', at, length)).equals(s.data.subarray(at, at + length)), `at ${at}`).to.equal(true);
    }
    expect(s.calls.length).to.be.within(3, 4);
  });

  it('keeps a read past the end short, serves large ranges directly, and refetches after drop()', async () => {
    const s = source(5 * MiB + 10);
    const ahead = new ReadAhead(s.fetch);
    expect((await ahead.read('k', 5 * MiB, 100)).length).to.equal(10);
    expect((await ahead.read('k', 5 * MiB + 5, 100)).length).to.equal(5);
    expect((await ahead.read('k', 5 * MiB + 20, 1)).length).to.equal(0);
    const before = s.calls.length;
    expect((await ahead.read('k', 0, 5 * MiB)).equals(s.data.subarray(0, 5 * MiB))).to.equal(true);
    expect(s.calls.at(-1)).to.deep.equal([0, 5 * MiB]);
    await ahead.read('k', 0, 10);
    const fetched = s.calls.length;
    await ahead.read('k', 10, 10);
    expect(s.calls.length, 'served from the window').to.equal(fetched);
    ahead.drop('k');
    await ahead.read('k', 10, 10);
    expect(s.calls.length, 'refetched after drop').to.equal(fetched + 1);
    expect(before).to.be.greaterThan(0);
  });

  it('returns copies: a caller changing them does not change later reads', async () => {
    const s = source(1000);
    const ahead = new ReadAhead(s.fetch);
    const first = await ahead.read('k', 0, 10);
    first.fill(0);
    expect((await ahead.read('k', 0, 10)).equals(s.data.subarray(0, 10))).to.equal(true);
  });
});
