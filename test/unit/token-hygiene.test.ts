import { expect } from 'chai';
import { AuthFailureLimiter } from '../../src/api/auth-failures.js';
import { TokenUseRecorder } from '../../src/api/token-use.js';
import { parseDuration } from '../../src/common/duration.js';
import { createLogger } from '../../src/common/logging.js';
import { isBulwarkError } from '../../src/core/errors.js';

describe('token hygiene (issue 15)', () => {
  it('parses --expires-in durations and refuses anything else with BWK_ERR_INVALID_DURATION', () => {
    expect(parseDuration('--expires-in', '30s')).to.equal(30_000);
    expect(parseDuration('--expires-in', '30m')).to.equal(1_800_000);
    expect(parseDuration('--expires-in', '12h')).to.equal(43_200_000);
    expect(parseDuration('--expires-in', '90d')).to.equal(90 * 86_400_000);
    for (const bad of ['', '30', 'm', '0h', '-1d', '1.5h', '1h30m', '12 hours', '3651d', '5x', '99999999999d']) {
      let err: unknown = null;
      try {
        parseDuration('--expires-in', bad);
      } catch (e) {
        err = e;
      }
      expect(isBulwarkError(err, 'BWK_ERR_INVALID_DURATION'), `"${bad}" was accepted`).to.equal(true);
      expect((err as Error).message)
        .to.include('--expires-in')
        .and.to.include(JSON.stringify(bad));
    }
  });

  it('counts failures per address within the window, then says how long to wait', () => {
    const limiter = new AuthFailureLimiter({ max_failures: 3, window_ms: 10_000, max_addresses: 10 });
    const t0 = 1_000_000;
    expect([1, 2, 3].map((i) => limiter.failed('a', t0 + i))).to.deep.equal([null, null, null]);
    expect(limiter.failed('a', t0 + 4_000)).to.equal(7); // 6.001 s of the window left, rounded up
    expect(limiter.failed('b', t0 + 4_000)).to.equal(null);
    // The window ends: counting starts again.
    expect(limiter.failed('a', t0 + 10_001)).to.equal(null);
  });

  it('tracks at most max_addresses, forgetting the oldest first', () => {
    const limiter = new AuthFailureLimiter({ max_failures: 1, window_ms: 60_000, max_addresses: 100 });
    for (let i = 0; i < 10_000; i++) limiter.failed(`10.0.${i >> 8}.${i & 255}`, 5_000);
    expect(limiter.tracked).to.equal(100);
    expect(limiter.failed('10.0.39.15', 5_001)).to.equal(60); // the newest is still remembered (index 9999)
    expect(limiter.failed('10.0.0.0', 5_001)).to.equal(null); // the oldest was forgotten
  });

  it('writes a token use at most once per interval, and a failed write is logged, not thrown', async () => {
    const writes: string[] = [];
    const logged: string[] = [];
    const recorder = new TokenUseRecorder(
      async (id, at) => {
        writes.push(`${id}@${at}`);
        if (id === 'broken') throw new Error('catalog is down');
      },
      createLogger((l) => logged.push(l)),
      60_000,
    );
    for (let s = 0; s < 180; s++) recorder.used('t1', s * 1000);
    recorder.used('broken', 0);
    await new Promise((r) => setImmediate(r));
    expect(writes).to.deep.equal([
      't1@1970-01-01T00:00:00.000Z',
      't1@1970-01-01T00:01:00.000Z',
      't1@1970-01-01T00:02:00.000Z',
      'broken@1970-01-01T00:00:00.000Z',
    ]);
    expect(logged.join('\n')).to.include('could not record a token use').and.to.include('"token_id":"broken"');
  });
});
