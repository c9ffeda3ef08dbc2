import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { bwkError } from '../../src/core/errors.js';
import type { RpcHandler, RpcTransport } from '../../src/rpc/port.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { rejectsWith } from './bank.contract.js';

/**
 * Transports to test: `server` serves and `client` calls (two connections for AMQP, one object in-process,
 * where both names point at the same transport). `queue` makes a unique queue name and remembers it for cleanup.
 */
export interface RpcFixture {
  server: RpcTransport;
  client: RpcTransport;
  queue(label: string): string;
  cleanup(): Promise<void>;
}

/** A promise the test resolves by hand: lets a handler wait for the test, never for wall-clock time. */
function gate(): { wait: Promise<void>; open(): void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait, open };
}

const until = (what: string, check: () => boolean): Promise<true> => waitFor(what, () => (check() ? true : undefined), 20_000, 10);

/**
 * The RpcTransport contract (src/rpc/port.ts): every adapter runs it. `requires` checks, before any
 * test, what the adapter needs (a broker that answers), so a missing one fails or skips by name.
 */
export function describeRpcContract(
  name: string,
  make: () => Promise<RpcFixture>,
  options: { requires?: (ctx: Mocha.Context) => void } = {},
): void {
  describe(`RpcTransport contract: ${name}`, function () {
    let f: RpcFixture;
    if (options.requires)
      before(function () {
        options.requires!(this);
      });
    beforeEach(async () => {
      f = await make();
    });
    afterEach(async () => {
      await f.cleanup();
    });

    it('answers calls with the result and passes method, structured params and the idempotency key', async () => {
      const q = f.queue('echo');
      const seen: unknown[] = [];
      await f.server.serve(q, async (method, params, meta) => {
        seen.push({ method, params, meta });
        return { method, params, meta };
      });
      const params = {
        plan: { id: 'p-1', resources: [{ type: 'fs.directory', id: '/srv/a', extra: null }] },
        n: 42.5,
        ok: true,
        text: 'héllo ✓',
      };
      expect(await f.client.call(q, 'execute_operation', params, { idempotencyKey: 'op-1' })).to.deep.equal({
        method: 'execute_operation',
        params,
        meta: { idempotencyKey: 'op-1' },
      });
      expect(await f.client.call(q, 'list', undefined)).to.deep.equal({ method: 'list', meta: {} });
      expect(seen).to.have.length(2);
    });

    it('shares no objects between caller and handler: params and results are copies', async () => {
      const q = f.queue('copy');
      const kept = { list: [1] };
      await f.server.serve(q, async (_m, params) => {
        (params as { list: number[] }).list.push(99);
        return kept;
      });
      const params = { list: [1, 2] };
      const result = await f.client.call<{ list: number[] }>(q, 'm', params);
      result.list.push(7);
      expect(params.list).to.deep.equal([1, 2]);
      expect(kept.list).to.deep.equal([1]);
      expect(await f.client.call(q, 'again', { list: [] })).to.deep.equal({ list: [1] });
    });

    it('delivers undefined and null results', async () => {
      const q = f.queue('empty');
      await f.server.serve(q, async (method) => (method === 'null' ? null : undefined));
      expect(await f.client.call(q, 'null', {})).to.equal(null);
      expect(await f.client.call(q, 'undefined', {})).to.equal(undefined);
    });

    it('rebuilds handler errors from {code, message, details}', async () => {
      const q = f.queue('errors');
      await f.server.serve(q, async (method) => {
        if (method === 'coded') throw bwkError('BWK_ERR_PLAN_NOT_FOUND', { id: 'p-9' }, { details: { project_id: 'proj' } });
        if (method === 'retryable') throw bwkError('BWK_ERR_INTERNAL', { reason: 'flaky' }, { retryable: true });
        throw new Error('plain failure');
      });
      const coded = await rejectsWith(f.client.call(q, 'coded', {}), 'BWK_ERR_PLAN_NOT_FOUND');
      expect(coded.message).to.equal('plan p-9 not found');
      expect(coded.details).to.deep.equal({ id: 'p-9', project_id: 'proj' });
      expect((coded as unknown as { status: number }).status).to.equal(404);
      const retryable = await rejectsWith(f.client.call(q, 'retryable', {}), 'BWK_ERR_INTERNAL');
      expect((retryable as unknown as { retryable: boolean }).retryable).to.equal(true);
      const plain = await rejectsWith(f.client.call(q, 'plain', {}), 'BWK_ERR_INTERNAL');
      expect(plain.message).to.contain('plain failure');
    });

    it('passes BWK_ERR_RPC_METHOD_UNKNOWN from a handler that does not know the method', async () => {
      const q = f.queue('methods');
      const known = ['list_plans', 'execute_operation'];
      await f.server.serve(q, async (method) => {
        if (known.includes(method)) return 'ok';
        throw bwkError('BWK_ERR_RPC_METHOD_UNKNOWN', { method, queue: q, known: known.join(', ') });
      });
      expect(await f.client.call(q, 'list_plans', {})).to.equal('ok');
      const err = await rejectsWith(f.client.call(q, 'list_plan', {}), 'BWK_ERR_RPC_METHOD_UNKNOWN');
      expect(err.message).to.contain('"list_plan"').and.to.contain('list_plans, execute_operation');
      expect(err.details?.method).to.equal('list_plan');
    });

    it('refuses params that are not JSON before sending', async () => {
      const q = f.queue('bad-params');
      await rejectsWith(f.client.call(q, 'm', { big: 1n }), 'BWK_ERR_INVALID_INPUT');
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      await rejectsWith(f.client.call(q, 'm', cyclic), 'BWK_ERR_INVALID_INPUT');
    });

    it('times out with BWK_ERR_RPC_TIMEOUT and drops the late reply without harm', async () => {
      const q = f.queue('slow');
      const release = gate();
      let finished = 0;
      await f.server.serve(q, async (method) => {
        if (method === 'slow') {
          await release.wait;
          finished++;
          return 'late';
        }
        return 'fast';
      });
      const err = await rejectsWith(f.client.call(q, 'slow', {}, { timeoutMs: 300 }), 'BWK_ERR_RPC_TIMEOUT');
      expect(err.details).to.include({ method: 'slow', queue: q, timeout_ms: 300 });
      release.open();
      await until('the slow handler to finish', () => finished === 1);
      // The late reply travels before this one on the same path; the transport must drop it and keep working.
      expect(await f.client.call(q, 'fast', {})).to.equal('fast');
    });

    it('answers 50 concurrent calls each with its own result', async () => {
      const q = f.queue('many');
      await f.server.serve(
        q,
        async (_m, params) => {
          const { i } = params as { i: number };
          await sleep((i * 7) % 13);
          return { i, square: i * i };
        },
        { prefetch: 20 },
      );
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => f.client.call(q, 'square', { i })));
      expect(results).to.deep.equal(Array.from({ length: 50 }, (_, i) => ({ i, square: i * i })));
    });

    it('shares one queue between competing servers', async () => {
      const q = f.queue('shared');
      const counts = [0, 0];
      const handler =
        (n: 0 | 1): RpcHandler =>
        async () => {
          counts[n] = (counts[n] ?? 0) + 1;
          await sleep(5);
          return n;
        };
      await f.server.serve(q, handler(0), { prefetch: 1 });
      await f.server.serve(q, handler(1), { prefetch: 1 });
      const answers = await Promise.all(Array.from({ length: 20 }, () => f.client.call<number>(q, 'work', {})));
      expect(counts[0]! + counts[1]!).to.equal(20);
      expect(counts[0], `per server: ${counts.join('/')}`).to.be.greaterThan(0);
      expect(counts[1], `per server: ${counts.join('/')}`).to.be.greaterThan(0);
      expect(answers.filter((a) => a === 0)).to.have.length(counts[0]!);
    });

    it('keeps a request sent before any server until one serves the queue', async () => {
      const q = f.queue('early');
      const answer = f.client.call(q, 'hello', { to: 'later server' }, { timeoutMs: 20_000 });
      await sleep(50);
      await f.server.serve(q, async (_m, params) => params);
      expect(await answer).to.deep.equal({ to: 'later server' });
    });

    it('runs the handler once per idempotency key in flight or recently finished', async () => {
      const q = f.queue('idem');
      const runs = new Map<string, number>();
      const release = gate();
      let flaky = true;
      await f.server.serve(
        q,
        async (method, _p, meta) => {
          const key = meta.idempotencyKey ?? '-';
          runs.set(key, (runs.get(key) ?? 0) + 1);
          if (method === 'flaky' && flaky) {
            flaky = false;
            throw bwkError('BWK_ERR_BANK_IO', { key, reason: 'try again' });
          }
          await release.wait;
          return { key, run: runs.get(key) };
        },
        { prefetch: 4 },
      );
      const first = f.client.call(q, 'execute_operation', {}, { idempotencyKey: 'op-a' });
      const duplicate = f.client.call(q, 'execute_operation', {}, { idempotencyKey: 'op-a' });
      const other = f.client.call(q, 'execute_operation', {}, { idempotencyKey: 'op-b' });
      await until('both keys to start', () => runs.size === 2);
      release.open();
      expect(await Promise.all([first, duplicate, other])).to.deep.equal([
        { key: 'op-a', run: 1 },
        { key: 'op-a', run: 1 },
        { key: 'op-b', run: 1 },
      ]);
      expect(await f.client.call(q, 'execute_operation', {}, { idempotencyKey: 'op-a' })).to.deep.equal({ key: 'op-a', run: 1 });
      expect(runs.get('op-a')).to.equal(1);
      // A retryable failure is not remembered: retrying with the same key runs again.
      await rejectsWith(f.client.call(q, 'flaky', {}, { idempotencyKey: 'op-c' }), 'BWK_ERR_BANK_IO');
      expect(await f.client.call(q, 'flaky', {}, { idempotencyKey: 'op-c' })).to.deep.equal({ key: 'op-c', run: 2 });
    });

    it('lets requests in progress finish when a server closes', async () => {
      const q = f.queue('drain');
      const release = gate();
      let started = false;
      const server = await f.server.serve(q, async () => {
        started = true;
        await release.wait;
        return 'done';
      });
      const answer = f.client.call(q, 'm', {});
      await until('the handler to start', () => started);
      const closing = server.close();
      release.open();
      expect(await answer).to.equal('done');
      await closing;
      await rejectsWith(f.client.call(q, 'm', {}, { timeoutMs: 300 }), 'BWK_ERR_RPC_TIMEOUT');
    });

    it('routes events by topic pattern and stops after unsubscribe', async () => {
      const a: Array<[string, unknown]> = [];
      const b: Array<[string, unknown]> = [];
      const tag = randomUUID().slice(0, 8);
      const unsubA = await f.client.subscribe(`${tag}.checkpoint.*`, (key, e) => a.push([key, e]));
      const unsubB = await f.client.subscribe(`${tag}.restore.#`, (key, e) => b.push([key, e]));
      const unsubC = await f.client.subscribe(`${tag}.#`, () => {
        throw new Error('listener bug');
      });
      const event = { id: 'c-1', status: 'available', graph: [{ type: 'fs.directory' }] };
      await f.server.publish(`${tag}.restore.available`, { id: 'r-1' });
      await f.server.publish(`${tag}.checkpoint.x.y`, { no: 1 });
      await f.server.publish(`${tag}.plan.created`, { no: 2 });
      await f.server.publish(`${tag}.checkpoint.available`, event);
      await f.server.publish(`${tag}.restore.done.really`, {});
      await until('the events to arrive', () => a.length >= 1 && b.length >= 2);
      expect(a).to.deep.equal([[`${tag}.checkpoint.available`, event]]);
      expect(b).to.deep.equal([
        [`${tag}.restore.available`, { id: 'r-1' }],
        [`${tag}.restore.done.really`, {}],
      ]);
      await unsubA();
      await unsubC();
      await f.server.publish(`${tag}.checkpoint.deleted`, { id: 'c-1' });
      await f.server.publish(`${tag}.restore.final`, null);
      await until('the last event', () => b.length === 3);
      expect(b[2]).to.deep.equal([`${tag}.restore.final`, null]);
      expect(a).to.have.length(1);
      await unsubB();
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      await f.server.publish(`${tag}.bad`, cyclic); // never throws
    });

    it('closes cleanly: waiting calls fail at once, later use is refused', async () => {
      const q = f.queue('closing');
      const waiting = rejectsWith(f.client.call(q, 'nobody-serves', {}, { timeoutMs: 60_000 }), 'BWK_ERR_RPC_UNAVAILABLE');
      await sleep(20);
      await f.client.close();
      const err = await waiting;
      expect(err.message).to.contain('closed');
      await rejectsWith(f.client.call(q, 'm', {}), 'BWK_ERR_RPC_UNAVAILABLE');
      await rejectsWith(
        f.client.serve(q, async () => 1),
        'BWK_ERR_RPC_UNAVAILABLE',
      );
      await rejectsWith(
        f.client.subscribe('x.*', () => undefined),
        'BWK_ERR_RPC_UNAVAILABLE',
      );
      await f.client.publish('x.y', {});
      await f.client.close();
      await f.server.close();
    });
  });
}
