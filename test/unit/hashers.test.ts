import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { Blake3Hasher } from '@napi-rs/blake-hash';
import { blake3Hex, freshHasher } from '../../src/common/hashers.js';
import { chunkId } from '../../src/bank/chunks/codec.js';

// Each answer checked against a hasher made for that one input, the way ids were computed before
// hashers were reused: a reset that kept state, or lost the key, would change every id.
const fresh = (data: Buffer, key: Buffer | null = null): string =>
  (key === null ? new Blake3Hasher() : Blake3Hasher.newKeyed(key)).update(data).digest('hex');

describe('reused BLAKE3 hashers (common/hashers.ts)', () => {
  const inputs = [Buffer.alloc(0), Buffer.from('a'), randomBytes(1000), randomBytes(70_000), Buffer.from('a')];

  it('give the same digest as a new hasher, input after input, unkeyed and keyed', () => {
    const key = randomBytes(32);
    for (const data of inputs) {
      expect(blake3Hex(data)).to.equal(fresh(data));
      expect(blake3Hex(data, key)).to.equal(fresh(data, key));
    }
  });

  it('keep one hasher per key: interleaved keys never mix', () => {
    const k1 = randomBytes(32);
    const k2 = randomBytes(32);
    const data = randomBytes(4096);
    const a = blake3Hex(data, k1);
    const b = blake3Hex(data, k2);
    expect(a).to.not.equal(b);
    expect(blake3Hex(data, k1)).to.equal(a);
    expect(blake3Hex(data)).to.equal(fresh(data));
    expect(blake3Hex(data, k2)).to.equal(b);
  });

  it('start from scratch after a hash was left unfinished', () => {
    const key = randomBytes(32);
    freshHasher(key).update(randomBytes(100));
    freshHasher().update(randomBytes(100));
    const data = randomBytes(300);
    expect(blake3Hex(data, key)).to.equal(fresh(data, key));
    expect(freshHasher().update(data).digest('hex')).to.equal(fresh(data));
  });

  it('leave chunk ids as they were (keyed and unkeyed banks)', () => {
    const key = randomBytes(32);
    for (const data of inputs) {
      expect(chunkId(data, key)).to.equal(fresh(data, key));
      expect(chunkId(new Uint8Array(data), key)).to.equal(fresh(data, key));
      expect(chunkId(data, null)).to.equal(fresh(data));
    }
  });
});
