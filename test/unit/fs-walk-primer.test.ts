import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { primeWalk } from '../../src/plugins/fs/walk-primer.js';
import { walkTree } from '../../src/plugins/fs/walk.js';

/** A walk of `n` numbers that records how many were pulled and whether it was ended (finally ran). */
function counted(n: number, failAt = -1): { walk: AsyncGenerator<number>; pulled: () => number; ended: () => boolean } {
  let pulled = 0;
  let ended = false;
  async function* walk(): AsyncGenerator<number> {
    try {
      for (let i = 0; i < n; i++) {
        if (i === failAt) throw new Error(`walk failed at ${i}`);
        pulled++;
        yield i;
      }
    } finally {
      ended = true;
    }
  }
  return { walk: walk(), pulled: () => pulled, ended: () => ended };
}

const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));

async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of items) out.push(x);
  return out;
}

describe('fs.directory walk primed while the previous checkpoint loads', () => {
  it('walks ahead up to its limit before anyone asks, then yields every entry once, in order', async () => {
    const w = counted(100);
    const primed = primeWalk(w.walk, 30);
    await settle();
    // Walked ahead (the waiting is what it fills), and no further than the limit.
    expect(w.pulled()).to.equal(30);
    expect(await all(primed.items())).to.deep.equal(Array.from({ length: 100 }, (_, i) => i));
    expect(w.ended()).to.equal(true);
    await primed.stop();
  });

  it('hands a walk shorter than the limit out whole', async () => {
    const w = counted(5);
    const primed = primeWalk(w.walk, 30);
    await settle();
    expect(w.ended()).to.equal(true);
    expect(await all(primed.items())).to.deep.equal([0, 1, 2, 3, 4]);
  });

  it('throws a failure met while priming only after the entries walked before it', async () => {
    const primed = primeWalk(counted(100, 7).walk, 30);
    await settle();
    const seen: number[] = [];
    let failure: unknown;
    try {
      for await (const x of primed.items()) seen.push(x);
    } catch (err) {
      failure = err;
    }
    expect(seen).to.deep.equal([0, 1, 2, 3, 4, 5, 6]);
    expect((failure as Error).message).to.equal('walk failed at 7');
  });

  it('ends the walk when the protect fails before taking it', async () => {
    const w = counted(100);
    const primed = primeWalk(w.walk, 30);
    await primed.stop();
    expect(w.ended()).to.equal(true);
    expect(w.pulled()).to.be.at.most(30);
  });

  it('ends the walk when its consumer leaves early', async () => {
    const w = counted(100);
    const primed = primeWalk(w.walk, 10);
    await settle();
    for await (const x of primed.items()) if (x === 20) break;
    await primed.stop();
    expect(w.ended()).to.equal(true);
    expect(w.pulled()).to.equal(21);
  });

  it('gives a real tree walk exactly the entries of an unprimed one', async () => {
    const root = mkdtempSync(join(tmpdir(), 'bwk-walk-primer-'));
    try {
      for (let d = 0; d < 12; d++) {
        mkdirSync(join(root, `d${d}`));
        for (let f = 0; f < 40; f++) writeFileSync(join(root, `d${d}`, `f${f}`), String(f));
      }
      const signal = new AbortController().signal;
      const plain = (await all(walkTree(root, [], signal))).map((i) => `${i.kind} ${i.rel.toString()}`);
      const primed = primeWalk(walkTree(root, [], signal), 100);
      await settle();
      const got = (await all(primed.items())).map((i) => `${i.kind} ${i.rel.toString()}`);
      expect(got).to.deep.equal(plain);
      expect(got.length).to.equal(1 + 12 * 41);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
