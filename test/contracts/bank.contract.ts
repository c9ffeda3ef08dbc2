import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { BankPlugin } from '../../src/bank/port.js';
import { sleep } from '../helpers/wait.js';

/** A bank to test and how to dispose of it; `make` is called once per test so tests never share state. */
export interface BankFixture {
  bank: BankPlugin;
  cleanup(): Promise<void>;
}

/** Awaits `promise` and returns its rejection, failing the test when it resolves or rejects with another code. */
export async function rejectsWith(
  promise: Promise<unknown>,
  code: string,
): Promise<Error & { code: string; details?: Record<string, unknown> }> {
  let error: unknown;
  try {
    await promise;
  } catch (err) {
    error = err;
  }
  expect(error, `expected a rejection with ${code}`).to.be.instanceOf(Error);
  expect((error as { code?: unknown }).code, String(error)).to.equal(code);
  return error as Error & { code: string };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/** Deterministic, incompressible-looking bytes: chunk i is sha256 of (seed, i) repeated. */
function block(seed: string, i: number, size: number): Buffer {
  const digest = createHash('sha256').update(`${seed}:${i}`).digest();
  return Buffer.alloc(size, digest);
}

/** A pull-based source: it makes a chunk only when the consumer asks, and can fail after `failAfter` chunks. */
function lazySource(seed: string, chunks: number, chunkSize: number, failAfter = -1): Readable {
  let i = 0;
  return new Readable({
    read() {
      if (i === failAfter) {
        this.destroy(new Error('source broke mid-way'));
        return;
      }
      this.push(i < chunks ? block(seed, i++, chunkSize) : null);
    },
  });
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

export const INVALID_KEYS = [
  '',
  '/a',
  'a/',
  'a//b',
  '.',
  '..',
  'a/./b',
  'a/../b',
  '../escape',
  'a\\b',
  'a\0b',
  '.tmp-x',
  'a/.tmp-123/b',
  'x'.repeat(1025),
];

/** The BankPlugin contract: every adapter runs it (see src/bank/port.ts). */
export function describeBankContract(name: string, make: () => Promise<BankFixture>): void {
  describe(`BankPlugin contract: ${name}`, function () {
    let fixture: BankFixture;
    let bank: BankPlugin;
    beforeEach(async () => {
      fixture = await make();
      bank = fixture.bank;
    });
    afterEach(async () => {
      await bank.close();
      await fixture.cleanup();
    });

    describe('objects', () => {
      it('stores buffers and strings and returns them', async () => {
        await bank.putObject('a/buffer', Buffer.from('hello'));
        await bank.putObject('a/string', 'héllo wörld');
        expect((await bank.getObject('a/buffer')).toString()).to.equal('hello');
        expect((await bank.getObject('a/string')).toString('utf8')).to.equal('héllo wörld');
        expect(await bank.statObject('a/string')).to.deep.equal({ size: Buffer.byteLength('héllo wörld') });
        await bank.putObject('empty', '');
        expect((await bank.getObject('empty')).length).to.equal(0);
      });

      it('keeps binary bytes exactly and isolates stored data from callers', async () => {
        const bytes = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), block('bin', 0, 100_000)]);
        await bank.putObject('bin/all-bytes', bytes);
        const copy = Buffer.from(bytes);
        bytes.fill(0); // the caller reusing its buffer must not change the stored object
        const read = await bank.getObject('bin/all-bytes');
        expect(read.equals(copy)).to.equal(true);
        read.fill(1);
        expect((await bank.getObject('bin/all-bytes')).equals(copy)).to.equal(true);
      });

      it('streams a few MB in and out without buffering the whole object', async () => {
        const chunks = 64;
        const size = 64 * 1024;
        const expected = sha(await readAll(lazySource('big', chunks, size)));
        expect(await bank.putObjectStream('big/data', lazySource('big', chunks, size))).to.deep.equal({ size: chunks * size });
        const stream = await bank.getObjectStream('big/data');
        for (let i = 0; i < 20; i++) await tick(); // give an eager reader every chance to buffer everything
        expect(stream.readableLength, 'bytes buffered before anyone read').to.be.at.most(1024 * 1024);
        expect(sha(await readAll(stream))).to.equal(expected);
        async function* generated(): AsyncGenerator<Buffer> {
          for (let i = 0; i < 8; i++) yield block('gen', i, 1000);
        }
        expect(await bank.putObjectStream('big/generated', generated())).to.deep.equal({ size: 8000 });
        expect((await bank.getObject('big/generated')).subarray(7000).equals(block('gen', 7, 1000))).to.equal(true);
      });

      it('loses nothing from a source that is already flowing (a caller hashing it with a data listener)', async () => {
        const file = createReadStreamOf(Buffer.concat(Array.from({ length: 50 }, (_, i) => block('flow', i, 16 * 1024))));
        let seen = 0;
        file.on('data', (c: Buffer) => {
          seen += c.length;
        });
        expect(await bank.putObjectStream('flowing/obj', file)).to.deep.equal({ size: 50 * 16 * 1024 });
        expect(seen).to.equal(50 * 16 * 1024);
        expect((await bank.getObject('flowing/obj')).length).to.equal(50 * 16 * 1024);
      });

      it('overwrites an object whole', async () => {
        await bank.putObject('o/k', 'first version, longer');
        await bank.putObject('o/k', 'second');
        expect((await bank.getObject('o/k')).toString()).to.equal('second');
        await bank.putObjectStream('o/k', Readable.from([Buffer.from('third')]));
        expect((await bank.getObject('o/k')).toString()).to.equal('third');
      });

      it('reads byte ranges (a chunk out of a pack) and refuses ranges past the end', async () => {
        const data = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7) & 0xff));
        await bank.putObject('packs/p1', data);
        expect((await bank.getObjectRange('packs/p1', 0, 10)).equals(data.subarray(0, 10))).to.equal(true);
        expect((await bank.getObjectRange('packs/p1', 1000, 3096)).equals(data.subarray(1000))).to.equal(true);
        expect((await bank.getObjectRange('packs/p1', 17, 0)).length).to.equal(0);
        await rejectsWith(bank.getObjectRange('packs/p1', 4000, 97), 'BWK_ERR_BANK_IO');
        await rejectsWith(bank.getObjectRange('packs/missing', 0, 1), 'BWK_ERR_BANK_OBJECT_NOT_FOUND');
      });

      it('reports missing objects: NOT_FOUND on get and getStream, null on stat', async () => {
        await rejectsWith(bank.getObject('missing/key'), 'BWK_ERR_BANK_OBJECT_NOT_FOUND');
        await rejectsWith(bank.getObjectStream('missing/key'), 'BWK_ERR_BANK_OBJECT_NOT_FOUND');
        expect(await bank.statObject('missing/key')).to.equal(null);
        await bank.putObject('dir/child', 'x'); // "dir" is only a prefix, not an object
        await rejectsWith(bank.getObject('dir'), 'BWK_ERR_BANK_OBJECT_NOT_FOUND');
        await rejectsWith(bank.getObjectStream('dir'), 'BWK_ERR_BANK_OBJECT_NOT_FOUND');
        expect(await bank.statObject('dir')).to.equal(null);
        await rejectsWith(bank.getObject('dir/child/deeper'), 'BWK_ERR_BANK_OBJECT_NOT_FOUND');
      });

      it('deletes idempotently and leaves siblings alone', async () => {
        await bank.putObject('d/x/one', '1');
        await bank.putObject('d/x/two', '2');
        await bank.deleteObject('d/x/one');
        await bank.deleteObject('d/x/one');
        await bank.deleteObject('d/never/was');
        await bank.deleteObject('d/x'); // a prefix, not an object
        expect(await bank.statObject('d/x/one')).to.equal(null);
        expect(await bank.listObjects('d/')).to.deep.equal(['d/x/two']);
        await bank.deleteObject('d/x/two');
        expect(await bank.listObjects('')).to.deep.equal([]);
        await bank.putObject('d/x/again', 'works after its directory went away');
        expect((await bank.getObject('d/x/again')).toString()).to.match(/^works/);
      });

      for (const key of INVALID_KEYS) {
        it(`refuses the invalid key ${JSON.stringify(key.length > 20 ? `${key.slice(0, 8)}...(${key.length})` : key)}`, async () => {
          const code = 'BWK_ERR_BANK_KEY_INVALID';
          await rejectsWith(bank.putObject(key, 'x'), code);
          await rejectsWith(bank.putObjectStream(key, Readable.from([Buffer.from('x')])), code);
          await rejectsWith(bank.getObject(key), code);
          await rejectsWith(bank.getObjectStream(key), code);
          await rejectsWith(bank.statObject(key), code);
          await rejectsWith(bank.deleteObject(key), code);
          expect(await bank.listObjects('')).to.deep.equal([]);
        });
      }

      it('refuses list prefixes that could name something outside the bank', async () => {
        for (const prefix of ['/', '/a', '../', 'a/../', 'a//', 'a\\', 'a\0']) {
          await rejectsWith(bank.listObjects(prefix), 'BWK_ERR_BANK_KEY_INVALID');
        }
      });

      it('a source that fails mid-way leaves no object and keeps the previous one', async () => {
        await bank.putObject('s/kept', 'old value');
        const err = await bank.putObjectStream('s/kept', lazySource('fail', 40, 64 * 1024, 20)).then(
          () => null,
          (e: unknown) => e,
        );
        expect(String(err)).to.contain('source broke mid-way');
        expect((await bank.getObject('s/kept')).toString()).to.equal('old value');
        await bank.putObjectStream('s/new', lazySource('fail', 40, 1024, 3)).catch(() => undefined);
        expect(await bank.statObject('s/new')).to.equal(null);
        expect(await bank.listObjects('')).to.deep.equal(['s/kept']);
      });

      it('create-only puts refuse an existing key (BWK_ERR_BANK_OBJECT_EXISTS), changing nothing; one of many racers lands', async () => {
        await bank.putObject('once/a', 'first', { ifAbsent: true });
        await rejectsWith(bank.putObject('once/a', 'second', { ifAbsent: true }), 'BWK_ERR_BANK_OBJECT_EXISTS');
        await rejectsWith(bank.putObjectStream('once/a', lazySource('once', 4, 1000), { ifAbsent: true }), 'BWK_ERR_BANK_OBJECT_EXISTS');
        expect((await bank.getObject('once/a')).toString()).to.equal('first');
        expect(await bank.putObjectStream('once/b', lazySource('once', 4, 1000), { ifAbsent: true })).to.deep.equal({ size: 4000 });
        const racers = Array.from({ length: 10 }, (_, i) => Buffer.alloc(50_000 + i, i + 1));
        const results = await Promise.allSettled(racers.map((v) => bank.putObject('once/race', v, { ifAbsent: true })));
        const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
        expect(won, 'winners').to.have.length(1);
        for (const r of results)
          if (r.status === 'rejected') expect((r.reason as { code?: string }).code).to.equal('BWK_ERR_BANK_OBJECT_EXISTS');
        expect((await bank.getObject('once/race')).equals(racers[won[0]!]!)).to.equal(true);
        expect(await bank.listObjects('once/')).to.deep.equal(['once/a', 'once/b', 'once/race']);
      });

      it('20 concurrent puts on one key leave one whole value', async () => {
        const values = Array.from({ length: 20 }, (_, i) => Buffer.alloc(200_000 + i, i + 1));
        await Promise.all(values.map((v) => bank.putObject('race/key', v)));
        const stored = await bank.getObject('race/key');
        expect(
          values.some((v) => v.equals(stored)),
          'stored value is one of the written ones',
        ).to.equal(true);
        expect(await bank.listObjects('race')).to.deep.equal(['race/key']);
      });
    });

    describe('listing', () => {
      it('matches a string prefix, not a directory, in JS string order', async () => {
        // No key is also another key's prefix directory: a filesystem bank cannot hold "x" and "x/y".
        const keys = [
          'idx/p1x',
          'idx/p1/a',
          'idx/p1/b/c',
          'idx/p10/c',
          'idx/p2/d',
          'idxother',
          'other/x',
          'o/a-b',
          'o/a.b',
          'o/a/c',
          'o/a0',
          'o/a/b/z',
          'o/a~',
        ];
        for (const k of [...keys].reverse()) await bank.putObject(k, k);
        expect(await bank.listObjects('idx/p1')).to.deep.equal(['idx/p1/a', 'idx/p1/b/c', 'idx/p10/c', 'idx/p1x']);
        expect(await bank.listObjects('idx/p1/')).to.deep.equal(['idx/p1/a', 'idx/p1/b/c']);
        expect(await bank.listObjects('idx')).to.deep.equal(['idx/p1/a', 'idx/p1/b/c', 'idx/p10/c', 'idx/p1x', 'idx/p2/d', 'idxother']);
        expect(await bank.listObjects('o/')).to.deep.equal(['o/a-b', 'o/a.b', 'o/a/b/z', 'o/a/c', 'o/a0', 'o/a~']);
        expect(await bank.listObjects('', { sort: 'desc' })).to.deep.equal([...keys].sort().reverse());
        expect(await bank.listObjects('nothing/here')).to.deep.equal([]);
        expect(await bank.listObjects('o/', { limit: 0 })).to.deep.equal([]);
      });

      it('pages through 57 keys with marker and limit, in both orders, each key once', async () => {
        const keys: string[] = [];
        for (let i = 0; i < 57; i++) keys.push(i % 4 === 0 ? `pg/${i}` : `pg/d${i % 3}/${String(i).padStart(3, '0')}`);
        await Promise.all(keys.map((k) => bank.putObject(k, k)));
        await bank.putObject('pga', 'other prefix');
        await bank.putObject('pf/1', 'other prefix');
        const asc = [...keys].sort();
        for (const sort of ['asc', 'desc'] as const) {
          const expected = sort === 'asc' ? asc : [...asc].reverse();
          const seen: string[] = [];
          let marker: string | undefined;
          for (let page = 0; page < 20; page++) {
            const got = await bank.listObjects('pg/', { limit: 10, sort, ...(marker === undefined ? {} : { marker }) });
            expect(got.length).to.be.at.most(10);
            if (got.length === 0) break;
            seen.push(...got);
            marker = got[got.length - 1];
          }
          expect(seen, `${sort} paging`).to.deep.equal(expected);
        }
      });

      it('accepts a marker that is not a stored key', async () => {
        const keys = ['m/a/1', 'm/a/2', 'm/b', 'm/c/1', 'm/d'];
        for (const k of keys) await bank.putObject(k, k);
        expect(await bank.listObjects('m/', { marker: 'm/a' })).to.deep.equal(keys);
        expect(await bank.listObjects('m/', { marker: 'm/a/15' })).to.deep.equal(['m/a/2', 'm/b', 'm/c/1', 'm/d']);
        expect(await bank.listObjects('m/', { marker: 'm/bb', limit: 2 })).to.deep.equal(['m/c/1', 'm/d']);
        expect(await bank.listObjects('m/', { marker: 'm/c', sort: 'desc' })).to.deep.equal(['m/b', 'm/a/2', 'm/a/1']);
        expect(await bank.listObjects('m/', { marker: 'm/c/2', sort: 'desc', limit: 2 })).to.deep.equal(['m/c/1', 'm/b']);
        expect(await bank.listObjects('m/', { marker: 'zzz' })).to.deep.equal([]);
        expect(await bank.listObjects('m/', { marker: 'a', sort: 'desc' })).to.deep.equal([]);
      });
    });

    describe('leases', () => {
      it('acquires, refuses a second holder with BWK_ERR_LEASE_HELD, keeps data', async () => {
        const data = { kind: 'protect', checkpoint: 'c1', nested: { n: 1 } };
        const lease = await bank.acquireLease('op-1', 60_000, data);
        expect(lease).to.include({ owner: 'op-1' });
        expect(lease.token).to.be.a('string').with.length.greaterThan(8);
        expect(lease.expiresAt).to.be.greaterThan(Date.now());
        expect(await bank.getLease('op-1')).to.deep.equal(lease);
        const err = await rejectsWith(bank.acquireLease('op-1', 60_000), 'BWK_ERR_LEASE_HELD');
        expect(err.details).to.include({ owner: 'op-1', expires_at: new Date(lease.expiresAt).toISOString() });
        const renewed = await bank.renewLease(lease, 120_000);
        expect(renewed.token).to.equal(lease.token);
        expect(renewed.expiresAt).to.be.at.least(lease.expiresAt);
        expect((await bank.getLease('op-1'))?.data).to.deep.equal(data);
        expect(await bank.getLease('op-none')).to.equal(null);
        await bank.releaseLease(renewed);
        expect(await bank.getLease('op-1')).to.equal(null);
        expect((await bank.acquireLease('op-1', 1000)).owner).to.equal('op-1');
      });

      it('lets an expired lease be taken over; the old holder has lost it', async () => {
        const old = await bank.acquireLease('op-2', 50, { who: 'old' });
        await sleep(100); // waits for a state change (expiry), measures nothing
        const current = await bank.acquireLease('op-2', 60_000, { who: 'new' });
        expect(current.token).to.not.equal(old.token);
        await rejectsWith(bank.renewLease(old, 60_000), 'BWK_ERR_LEASE_LOST');
        await bank.releaseLease(old); // stale token: a no-op
        expect(await bank.getLease('op-2')).to.deep.equal(current);
        expect(await bank.breakLease('op-2', old.token)).to.equal(false);
        expect(await bank.breakLease('op-2', current.token)).to.equal(true);
        expect(await bank.breakLease('op-2', current.token)).to.equal(false);
        await rejectsWith(bank.renewLease(current, 1000), 'BWK_ERR_LEASE_LOST');
      });

      it('renews an expired lease nobody took over', async () => {
        const lease = await bank.acquireLease('op-3', 50);
        await sleep(100);
        const renewed = await bank.renewLease(lease, 60_000);
        expect(renewed.expiresAt).to.be.greaterThan(Date.now());
        await rejectsWith(bank.acquireLease('op-3', 1000), 'BWK_ERR_LEASE_HELD');
      });

      it('gives a lease to exactly one of many concurrent acquirers, also on takeover', async () => {
        // The first lease must outlive the race: with a few ms, a loaded machine (or a bank over the
        // network) saw it expire mid-race and rightly hand it on, one acquirer after another.
        const FIRST_TTL_MS = 2000;
        for (const phase of ['fresh', 'expired']) {
          const results = await Promise.allSettled(
            Array.from({ length: 10 }, () => bank.acquireLease('op-4', phase === 'fresh' ? FIRST_TTL_MS : 60_000)),
          );
          const won = results.filter((r) => r.status === 'fulfilled');
          expect(won, phase).to.have.length(1);
          for (const r of results) if (r.status === 'rejected') expect((r.reason as { code?: string }).code).to.equal('BWK_ERR_LEASE_HELD');
          expect((await bank.getLease('op-4'))?.token).to.equal((won[0] as PromiseFulfilledResult<{ token: string }>).value.token);
          if (phase === 'fresh') await sleep(FIRST_TTL_MS + 100); // waits for expiry, measures nothing
        }
      });

      it('lists every lease, expired or not, and no objects', async () => {
        await bank.putObject('checkpoints/c1/index.json', '{}');
        const a = await bank.acquireLease('op-a', 60_000, { n: 1 });
        const b = await bank.acquireLease('op-b', 1);
        await sleep(10);
        const leases = await bank.listLeases();
        expect(leases.map((l) => l.owner).sort()).to.deep.equal(['op-a', 'op-b']);
        expect(leases.find((l) => l.owner === 'op-a')).to.deep.equal(a);
        expect(leases.find((l) => l.owner === 'op-b')?.token).to.equal(b.token);
      });
    });
  });
}

/** A Readable that yields asynchronously, like a file stream, so it can start flowing before a consumer attaches. */
function createReadStreamOf(data: Buffer): Readable {
  let offset = 0;
  return new Readable({
    highWaterMark: 16 * 1024,
    read() {
      setImmediate(() => {
        if (offset >= data.length) {
          this.push(null);
          return;
        }
        this.push(data.subarray(offset, offset + 16 * 1024));
        offset += 16 * 1024;
      });
    },
  });
}
