import { expect } from 'chai';
import fc from 'fast-check';
import { bwkError, toErrorJSON } from '../../src/core/errors.js';
import { backoffDelay, maskUrl, scrubber } from '../../src/rpc/amqp-link.js';
import type { RpcReply } from '../../src/rpc/envelope.js';
import { IdempotencyCache } from '../../src/rpc/idempotency.js';
import { topicMatches } from '../../src/rpc/topic-pattern.js';

describe('RPC helpers', () => {
  it('masks the password of AMQP URLs and leaves URLs without one alone', () => {
    expect(maskUrl('amqp://guest:guest@127.0.0.1:5672')).to.equal('amqp://guest:***@127.0.0.1:5672');
    expect(maskUrl('amqps://svc:p%40ss%2Fw@rabbit.example:5671/prod?heartbeat=10')).to.equal(
      'amqps://svc:***@rabbit.example:5671/prod?heartbeat=10',
    );
    expect(maskUrl('amqp://:only-secret@host')).to.equal('amqp://:***@host');
    expect(maskUrl('amqp://host:5672/vhost')).to.equal('amqp://host:5672/vhost');
    expect(maskUrl('amqp://user@host')).to.equal('amqp://user@host');
  });

  it('scrubs the raw and the decoded password, and the whole URL, from driver messages', () => {
    const scrub = scrubber('amqp://svc:p%40ss-w0rd@host:5672');
    expect(scrub('login p@ss-w0rd refused at amqp://svc:p%40ss-w0rd@host:5672 (p%40ss-w0rd)')).to.equal(
      'login *** refused at amqp://svc:***@host:5672 (***)',
    );
    expect(scrubber('amqp://host')('nothing to hide')).to.equal('nothing to hide');
  });

  it('backs off exponentially with jitter, never above the cap', () => {
    fc.assert(
      fc.property(fc.nat(100), fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1000, max: 60_000 }), (attempt, initial, cap) => {
        const base = Math.min(cap, initial * 2 ** Math.min(attempt, 30));
        const d = backoffDelay(attempt, { initialDelayMs: initial, maxDelayMs: cap });
        return d >= Math.floor(base / 2) && d <= cap;
      }),
    );
  });

  it('matches topics as RabbitMQ does', () => {
    const cases: Array<[string, string, boolean]> = [
      ['checkpoint.*', 'checkpoint.available', true],
      ['checkpoint.*', 'checkpoint', false],
      ['checkpoint.*', 'checkpoint.a.b', false],
      ['checkpoint.#', 'checkpoint', true],
      ['checkpoint.#', 'checkpoint.a.b', true],
      ['#', 'anything.at.all', true],
      ['#.error', 'restore.x.error', true],
      ['#.error', 'error', true],
      ['*.error', 'restore.x.error', false],
      ['a.#.z', 'a.z', true],
      ['a.#.z', 'a.b.c.z', true],
      ['a.#.z', 'a.b.c', false],
      ['plan.created', 'plan.created', true],
      ['plan.created', 'plan.deleted', false],
    ];
    for (const [pattern, key, expected] of cases) expect(topicMatches(pattern, key), `${pattern} ~ ${key}`).to.equal(expected);
    // Many `#` stay fast thanks to memoization (would be exponential otherwise).
    expect(topicMatches('#.#.#.#.#.#.#.#.#.#.#.#.x', Array.from({ length: 40 }, () => 'w').join('.'))).to.equal(false);
  });

  it('shares one run per key in flight and remembers outcomes, except retryable errors, within its bounds', async () => {
    let runs = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const work = (reply: RpcReply) => async (): Promise<RpcReply> => {
      runs++;
      await gate;
      return reply;
    };
    const cache = new IdempotencyCache(60_000, 2);
    const a1 = cache.run('a', work({ ok: true, result: 1 }));
    const a2 = cache.run('a', work({ ok: true, result: 2 }));
    release();
    expect(await Promise.all([a1, a2])).to.deep.equal([
      { ok: true, result: 1 },
      { ok: true, result: 1 },
    ]);
    expect(await cache.run('a', work({ ok: true, result: 3 }))).to.deep.equal({ ok: true, result: 1 });
    expect(runs).to.equal(1);
    const retryable: RpcReply = { ok: false, error: toErrorJSON(bwkError('BWK_ERR_BANK_IO', { key: 'k', reason: 'busy' })) };
    await cache.run('r', work(retryable));
    expect(await cache.run('r', work({ ok: true, result: 'second' }))).to.deep.equal({ ok: true, result: 'second' });
    // maxKept 2: 'a' is the oldest of a, r, b and is forgotten.
    await cache.run('b', work({ ok: true }));
    expect(await cache.run('a', work({ ok: true, result: 4 }))).to.deep.equal({ ok: true, result: 4 });
    expect(await cache.run(undefined, work({ ok: true, result: 5 }))).to.deep.equal({ ok: true, result: 5 });
    // keepMs 0: nothing is remembered after it finishes.
    const forgetful = new IdempotencyCache(0);
    await forgetful.run('x', work({ ok: true, result: 'x1' }));
    expect(await forgetful.run('x', work({ ok: true, result: 'x2' }))).to.deep.equal({ ok: true, result: 'x2' });
  });
});
