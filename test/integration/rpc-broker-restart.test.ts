// AMQP-only cases (broker restart, credentials): they need a private RabbitMQ this test can stop and start.
import { expect } from 'chai';
import { createLogger, type Logger } from '../../src/common/logging.js';
import { AmqpTransport } from '../../src/rpc/amqp.js';
import { rejectsWith } from '../contracts/bank.contract.js';
import { freePort, rabbitmqBinDir, startPrivateRabbit, type PrivateRabbit } from '../helpers/private-rabbitmq.js';
import { requirePrerequisite } from '../helpers/services.js';
import { sleep, waitFor } from '../helpers/wait.js';

class Hang extends Error {}

/** Fails (instead of hanging the run) when `promise` has not settled within `limitMs`: a bound, not a speed claim. */
function settlesWithin<T>(promise: Promise<T>, limitMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Hang(`${what} did not settle within ${limitMs} ms`)), limitMs);
  });
  return Promise.race([promise, bound]).finally(() => clearTimeout(timer));
}

function capture(): { lines: string[]; logger: Logger } {
  const lines: string[] = [];
  return { lines, logger: createLogger((line) => lines.push(line), 'debug') };
}

const RECONNECT = { initialDelayMs: 100, maxDelayMs: 1_000 };

describe('AmqpTransport with a private RabbitMQ', function () {
  this.timeout(300_000);
  let rabbit: PrivateRabbit | undefined;

  before(async function () {
    const bin = requirePrerequisite(this, 'rabbitmq-server (for a private broker; set BULWARK_TEST_RABBITMQ_BIN)', rabbitmqBinDir());
    rabbit = await startPrivateRabbit(bin);
  });
  after(async () => {
    await rabbit?.stop();
  });

  it('keeps serving through stop_app/start_app: no hang, no double run, same objects work after', async () => {
    const r = rabbit as PrivateRabbit;
    const { lines, logger } = capture();
    const server = await AmqpTransport.connect(r.url, logger.child({ role: 'server' }), { reconnect: RECONNECT });
    const client = await AmqpTransport.connect(r.url, logger.child({ role: 'client' }), { reconnect: RECONNECT });
    try {
      const queue = 'bulwark-protection';
      const runs = new Map<string, number>();
      await server.serve(
        queue,
        async (_method, params, meta) => {
          const key = meta.idempotencyKey ?? 'none';
          runs.set(key, (runs.get(key) ?? 0) + 1);
          const { n } = params as { n: number };
          await sleep(5 + (n % 20));
          return { n };
        },
        { prefetch: 4 },
      );
      const events: unknown[] = [];
      await client.subscribe('checkpoint.*', (_key, event) => events.push(event));

      const TOTAL = 200;
      const CALL_TIMEOUT = 4_000;
      const outcomes: Array<{ ok: true; result: unknown } | { ok: false; code: string }> = [];
      let next = 0;
      let settled = 0;
      const worker = async (): Promise<void> => {
        while (next < TOTAL) {
          const n = next++;
          const call = client.call(queue, 'execute_operation', { n }, { idempotencyKey: `op-${n}`, timeoutMs: CALL_TIMEOUT });
          try {
            outcomes[n] = { ok: true, result: await settlesWithin(call, CALL_TIMEOUT + 5_000, `call ${n}`) };
          } catch (err) {
            if (err instanceof Hang) throw err;
            outcomes[n] = { ok: false, code: String((err as { code?: unknown }).code) };
          }
          settled++;
        }
      };
      const restart = (async () => {
        await waitFor('the stream to get going', () => (settled >= 40 ? true : undefined), 60_000, 10);
        await r.ctl('stop_app');
        const settledWhileDown = settled;
        // Down long enough for calls to pile up waiting for the broker (not an assertion on time).
        await sleep(1_500);
        await r.ctl('start_app');
        return settledWhileDown;
      })();
      await Promise.all([restart, ...Array.from({ length: 4 }, worker)]);

      expect(outcomes.filter(Boolean)).to.have.length(TOTAL);
      outcomes.forEach((o, n) => {
        if (o.ok) expect(o.result).to.deep.equal({ n });
        else expect(['BWK_ERR_RPC_UNAVAILABLE', 'BWK_ERR_RPC_TIMEOUT'], `call ${n}`).to.include(o.code);
      });
      const failed = outcomes.filter((o) => !o.ok).length;
      expect(TOTAL - failed, 'calls that succeeded').to.be.greaterThan(40);
      // Redeliveries after the restart must not run an operation twice.
      const twice = [...runs].filter(([, count]) => count > 1);
      expect(twice, 'keys run more than once').to.deep.equal([]);

      // The restart was really seen by both transports, and they came back on their own.
      for (const role of ['server', 'client']) {
        const mine = lines.map((l) => JSON.parse(l) as { msg: string; role: string }).filter((l) => l.role === role);
        expect(
          mine.some((l) => l.msg === 'AMQP connection lost; reconnecting'),
          `${role} saw the loss`,
        ).to.equal(true);
      }
      // Same transport objects, no process restart: calls and events work again.
      const after = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          client.call(queue, 'execute_operation', { n: 1000 + i }, { idempotencyKey: `after-${i}`, timeoutMs: 30_000 }),
        ),
      );
      expect(after).to.deep.equal(Array.from({ length: 20 }, (_, i) => ({ n: 1000 + i })));
      for (const role of ['server', 'client']) {
        expect(
          lines.some((l) => l.includes('AMQP connection re-established') && l.includes(`"role":"${role}"`)),
          `${role} reconnected`,
        ).to.equal(true);
      }
      await server.publish('checkpoint.available', { id: 'c-after-restart' });
      await waitFor('the event after the restart', () => (events.length > 0 ? true : undefined), 30_000, 10);
      expect(events).to.deep.equal([{ id: 'c-after-restart' }]);

      // Credentials: the URL was logged many times (connects, losses, retries), always masked.
      expect(lines.some((l) => l.includes(`${r.user}:***@`))).to.equal(true);
      expect(lines.filter((l) => l.includes(r.password))).to.deep.equal([]);
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('fails a call in flight at once when the broker stops, and answers the redelivery from the same run', async () => {
    const r = rabbit as PrivateRabbit;
    const { lines, logger } = capture();
    const server = await AmqpTransport.connect(r.url, logger.child({ role: 'server' }), { reconnect: RECONNECT });
    const client = await AmqpTransport.connect(r.url, logger.child({ role: 'client' }), { reconnect: RECONNECT });
    try {
      const queue = 'bulwark-redelivery';
      let runs = 0;
      let release!: () => void;
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      await server.serve(queue, async (_m, _p, meta) => {
        runs++;
        await released;
        return { key: meta.idempotencyKey };
      });
      const call = client.call(queue, 'execute_operation', {}, { idempotencyKey: 'op-gated', timeoutMs: 120_000 });
      await waitFor('the handler to start', () => (runs === 1 ? true : undefined), 30_000, 10);
      // Its reply address dies with the connection: it must fail then, far inside its 120 s timeout.
      const failed = rejectsWith(settlesWithin(call, 30_000, 'the call in flight'), 'BWK_ERR_RPC_UNAVAILABLE');
      await r.ctl('stop_app');
      const err = await failed;
      expect(err.message).to.contain('may or may not have run');
      await r.ctl('start_app');
      const redelivered = (): true | undefined =>
        lines.some((l) => l.includes('RPC request redelivered') && l.includes('op-gated')) ? true : undefined;
      await waitFor('the broker to redeliver the unacked request', redelivered, 60_000, 20);
      release();
      // The caller retries with the same key, as the error told it to: same outcome, still one run.
      expect(await client.call(queue, 'execute_operation', {}, { idempotencyKey: 'op-gated', timeoutMs: 30_000 })).to.deep.equal({
        key: 'op-gated',
      });
      expect(runs).to.equal(1);
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('refuses a wrong password with BWK_ERR_RPC_UNAVAILABLE and never logs or throws the password', async () => {
    const r = rabbit as PrivateRabbit;
    const { lines, logger } = capture();
    const wrong = `wrong-${r.password.slice(3)}`;
    const url = r.url.replace(`:${r.password}@`, `:${encodeURIComponent(wrong)}@`);
    const err = await rejectsWith(
      AmqpTransport.connect(url, logger, { connectTimeoutMs: 2_000, reconnect: RECONNECT }),
      'BWK_ERR_RPC_UNAVAILABLE',
    );
    expect(err.message).to.contain(`amqp://${r.user}:***@127.0.0.1`);
    expect(JSON.stringify({ message: err.message, details: err.details, stack: err.stack })).not.to.contain(wrong);
    expect(lines.length, 'the failed attempts were logged').to.be.greaterThan(0);
    expect(lines.filter((l) => l.includes(wrong) || l.includes(r.password))).to.deep.equal([]);
  });

  it('rejects BWK_ERR_RPC_UNAVAILABLE when nothing listens at the URL', async () => {
    const { lines, logger } = capture();
    const url = `amqp://someone:s3cret-nowhere@127.0.0.1:${await freePort()}`;
    const err = await rejectsWith(
      AmqpTransport.connect(url, logger, { connectTimeoutMs: 1_000, reconnect: RECONNECT }),
      'BWK_ERR_RPC_UNAVAILABLE',
    );
    expect(err.message).to.contain('someone:***@').and.not.to.contain('s3cret-nowhere');
    expect(lines.filter((l) => l.includes('s3cret-nowhere'))).to.deep.equal([]);
  });

  // RabbitMQ closes a channel holding a delivery unacked past consumer_timeout (30 min by default, looked at
  // once a minute) and redelivers it: what a bank check of hours would meet if it were acked after its reply.
  it('an at-most-once request outlives the consumer timeout: acked at once, run once, replied to; a plain one is redelivered', async () => {
    const r = rabbit as PrivateRabbit;
    const before = (await r.ctl('eval', 'application:get_env(rabbit, consumer_timeout).')).trim();
    // Channels read it when they open: set before the server's.
    await r.ctl('eval', 'application:set_env(rabbit, consumer_timeout, 3000).');
    const { lines, logger } = capture();
    const server = await AmqpTransport.connect(r.url, logger.child({ role: 'server' }), { reconnect: RECONNECT });
    const client = await AmqpTransport.connect(r.url, logger.child({ role: 'client' }), { reconnect: RECONNECT });
    let openLong!: () => void;
    const longHeld = new Promise<void>((resolve) => {
      openLong = resolve;
    });
    let openPlain!: () => void;
    const plainHeld = new Promise<void>((resolve) => {
      openPlain = resolve;
    });
    try {
      const queue = 'bulwark-long';
      const runs = { long: 0, plain: 0 };
      await server.serve(queue, async (method) => {
        if (method === 'long') {
          runs.long++;
          await longHeld;
          return { long: runs.long };
        }
        runs.plain++;
        if (runs.plain === 1) await plainHeld;
        return { plain: runs.plain };
      });
      const long = client.call(queue, 'long', {}, { timeoutMs: 240_000, atMostOnce: true, idempotencyKey: 'long-1' });
      const plain = client.call(queue, 'plain', {}, { timeoutMs: 240_000 });
      await waitFor(
        'the plain request to be redelivered after the consumer timeout',
        () => (runs.plain >= 2 ? true : undefined),
        200_000,
        100,
      );
      expect(await settlesWithin(plain, 30_000, 'the plain call')).to.deep.equal({ plain: 2 });
      expect(lines.some((l) => l.includes('AMQP channel lost; reconnecting') && l.includes('"role":"server"'))).to.equal(true);
      // The long one's channel went with it; it still runs, once, and its reply goes out on the new one.
      await waitFor(
        'the server to reconnect',
        () => (lines.some((l) => l.includes('AMQP connection re-established')) ? true : undefined),
        60_000,
        50,
      );
      expect(runs.long).to.equal(1);
      openLong();
      expect(await settlesWithin(long, 30_000, 'the long call')).to.deep.equal({ long: 1 });
      openPlain();
      await sleep(1_000);
      expect(runs).to.deep.equal({ long: 1, plain: 2 });
    } finally {
      openLong();
      openPlain();
      await client.close();
      await server.close();
      const restore = /^\{ok,\s*(\d+)\}$/.exec(before);
      await r.ctl(
        'eval',
        restore ? `application:set_env(rabbit, consumer_timeout, ${restore[1]}).` : 'application:unset_env(rabbit, consumer_timeout).',
      );
    }
  });
});
