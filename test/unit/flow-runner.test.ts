import { expect } from 'chai';
import fc from 'fast-check';
import { bwkError } from '../../src/core/errors.js';
import { HOOK_NAMES } from '../../src/plugins/api.js';
import {
  backoffDelay,
  runFlow,
  type FlowEvent,
  type RunFlowOptions,
  type TaskFn,
} from '../../src/protection-manager/engines/flow-runner.js';
import { buildFlowGraph, type FlowGraph } from '../../src/core/flow-graph.js';
import type { ResourceGraph, ResourceNode } from '../../src/core/resource-graph.js';
import { sleep } from '../helpers/wait.js';

const node = (ref: string, children: string[] = []): ResourceNode => ({
  ref,
  type: ref.split('#')[0]!,
  id: ref.split('#')[1]!,
  name: ref,
  children,
});

/** srv#p has children db#a and db#b; db#a has child tbl#t. Every resource implements every hook. */
const TREE: ResourceGraph = {
  roots: ['srv#p'],
  nodes: [node('db#a', ['tbl#t']), node('db#b'), node('srv#p', ['db#a', 'db#b']), node('tbl#t')],
};
const treeFlow = (): FlowGraph => buildFlowGraph(TREE, () => HOOK_NAMES);

/** `n` resources with only a main hook: no edges, all runnable at once. */
const independentFlow = (n: number): FlowGraph =>
  buildFlowGraph({ roots: [], nodes: Array.from({ length: n }, (_, i) => node(`r#${String(i).padStart(2, '0')}`)) }, () => ['main']);

const options = (over: Partial<RunFlowOptions> = {}): RunFlowOptions => ({
  maxParallel: 4,
  taskTimeoutMs: 5_000,
  retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 2 },
  ...over,
});

/** Settles when `signal` aborts, rejecting with its reason, the way a well-behaved plugin stops. */
const untilAborted = (signal: AbortSignal): Promise<void> =>
  new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }));

describe('flow runner', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  before(() => process.on('unhandledRejection', onUnhandled));
  after(() => process.off('unhandledRejection', onUnhandled));
  afterEach(async () => {
    await sleep(5); // let abandoned attempts settle inside this test's window
    expect(unhandled, 'unhandled rejections').to.deep.equal([]);
  });

  it('starts a task only after every predecessor finished', async () => {
    const flow = treeFlow();
    const log: string[] = [];
    const outcome = await runFlow(
      flow,
      async (task) => {
        log.push(`start ${task.id}`);
        await sleep(task.id.length % 3);
        log.push(`end ${task.id}`);
      },
      options({ maxParallel: 3 }),
    );
    expect(outcome.status).to.equal('success');
    expect([...outcome.succeeded].sort()).to.deep.equal(flow.tasks.map((t) => t.id).sort());
    expect(flow.edges.length).to.be.greaterThan(10);
    for (const [u, v] of flow.edges) expect(log.indexOf(`end ${u}`), `${u} before ${v}`).to.be.lessThan(log.indexOf(`start ${v}`));
  });

  it('starts ready tasks in id order', async () => {
    const started: string[] = [];
    await runFlow(independentFlow(5), async (task) => void started.push(task.id), options({ maxParallel: 1 }));
    expect(started).to.deep.equal(['r#00|main', 'r#01|main', 'r#02|main', 'r#03|main', 'r#04|main']);
  });

  it('never runs more than maxParallel tasks at once, and reaches it', async () => {
    for (const maxParallel of [1, 3, 5]) {
      let now = 0;
      let peak = 0;
      const outcome = await runFlow(
        independentFlow(9),
        async () => {
          peak = Math.max(peak, ++now);
          await sleep(1);
          now--;
        },
        options({ maxParallel }),
      );
      expect(outcome.succeeded).to.have.length(9);
      expect(peak, `maxParallel ${maxParallel}`).to.equal(maxParallel);
    }
  });

  it('retries a retryable error up to maxAttempts, and a non-retryable one never', async () => {
    const attempts = new Map<string, number[]>();
    const events: FlowEvent[] = [];
    const run: TaskFn = async (task, { attempt }) => {
      attempts.set(task.id, [...(attempts.get(task.id) ?? []), attempt]);
      if (task.id === 'r#00|main') throw bwkError('BWK_ERR_BANK_IO', { key: 'k', reason: 'EIO' });
      if (task.id === 'r#01|main') throw Object.assign(new Error('busy'), { code: 'EBUSY' });
      if (task.id === 'r#02|main' && attempt < 2) throw Object.assign(new Error('flaky'), { retryable: true });
      if (task.id === 'r#03|main') throw new Error('bad input');
    };
    const outcome = await runFlow(independentFlow(4), run, options({ onEvent: (e) => void events.push(e) }));
    expect(Object.fromEntries(attempts)).to.deep.equal({
      'r#00|main': [1, 2, 3],
      'r#01|main': [1, 2, 3],
      'r#02|main': [1, 2],
      'r#03|main': [1],
    });
    expect(outcome.status).to.equal('failed');
    expect(outcome.succeeded).to.deep.equal(['r#02|main']);
    expect(outcome.failed.map((f) => f.taskId).sort()).to.deep.equal(['r#00|main', 'r#01|main', 'r#03|main']);
    expect(outcome.failed.find((f) => f.taskId === 'r#00|main')!.error).to.have.property('code', 'BWK_ERR_BANK_IO');
    const retrying = events
      .filter((e) => e.type === 'task_retrying')
      .map((e) => `${e.taskId}@${e.attempt}`)
      .sort();
    expect(retrying).to.deep.equal(['r#00|main@1', 'r#00|main@2', 'r#01|main@1', 'r#01|main@2', 'r#02|main@1']);
  });

  it('fails a task that ignores its signal with BWK_ERR_TASK_TIMEOUT after aborting the signal', async () => {
    const signals: AbortSignal[] = [];
    const outcome = await runFlow(
      independentFlow(2),
      (task, { signal }) => {
        if (task.id === 'r#01|main') return Promise.resolve();
        signals.push(signal);
        return new Promise<void>(() => {}); // never settles, ignores the signal
      },
      options({ taskTimeoutMs: 20, retry: { maxAttempts: 1, initialDelayMs: 1, maxDelayMs: 1 } }),
    );
    expect(outcome.status).to.equal('failed');
    expect(outcome.succeeded).to.deep.equal(['r#01|main']);
    expect(outcome.failed).to.have.length(1);
    const error = outcome.failed[0]!.error as { code: string; details: Record<string, unknown> };
    expect(error.code).to.equal('BWK_ERR_TASK_TIMEOUT');
    expect(error.details).to.deep.equal({ task: 'r#00|main', timeout_ms: 20 });
    expect(signals).to.have.length(1);
    expect(signals[0]!.aborted).to.equal(true);
    expect(signals[0]!.reason).to.equal(error);
  });

  it('skips exactly the transitive successors of a failed task and runs the rest', async () => {
    const flow = treeFlow();
    const ran: string[] = [];
    const outcome = await runFlow(
      flow,
      async (task) => {
        ran.push(task.id);
        if (task.id === 'db#a|prepare_finish') throw new Error('snapshot refused');
      },
      options(),
    );
    expect(outcome.status).to.equal('failed');
    expect(outcome.failed.map((f) => f.taskId)).to.deep.equal(['db#a|prepare_finish']);
    expect([...outcome.skipped].sort()).to.deep.equal([
      'db#a|complete',
      'db#a|main',
      'srv#p|complete',
      'srv#p|main',
      'srv#p|prepare_finish',
    ]);
    expect(ran.sort()).to.deep.equal([
      'db#a|prepare_begin',
      'db#a|prepare_finish',
      'db#b|complete',
      'db#b|main',
      'db#b|prepare_begin',
      'db#b|prepare_finish',
      'srv#p|prepare_begin',
      'tbl#t|complete',
      'tbl#t|main',
      'tbl#t|prepare_begin',
      'tbl#t|prepare_finish',
    ]);
    expect([...outcome.succeeded].sort()).to.deep.equal(ran.filter((id) => id !== 'db#a|prepare_finish'));
  });

  it('on cancellation starts nothing new, aborts running tasks and ends cancelled', async () => {
    const cancel = new AbortController();
    const started: string[] = [];
    const signals = new Map<string, AbortSignal>();
    let startedAfterCancel = 0;
    const flow = independentFlow(6);
    const outcome = await runFlow(
      flow,
      (task, { signal }) => {
        if (cancel.signal.aborted) startedAfterCancel++;
        started.push(task.id);
        signals.set(task.id, signal);
        if (task.id === 'r#02|main') setTimeout(() => cancel.abort(new Error('operator cancelled')), 1);
        if (task.id === 'r#01|main') return new Promise<void>(() => {}); // ignores the abort: bounded by its timeout
        return task.id === 'r#00|main' ? Promise.resolve() : untilAborted(signal);
      },
      options({ maxParallel: 3, taskTimeoutMs: 50, signal: cancel.signal }),
    );
    expect(outcome.status).to.equal('cancelled');
    expect(startedAfterCancel).to.equal(0);
    expect(started).to.deep.equal(['r#00|main', 'r#01|main', 'r#02|main', 'r#03|main']);
    expect(outcome.succeeded).to.deep.equal(['r#00|main']);
    expect(outcome.failed.map((f) => f.taskId).sort()).to.deep.equal(['r#01|main', 'r#02|main', 'r#03|main']);
    for (const id of ['r#01|main', 'r#02|main', 'r#03|main']) expect(signals.get(id)!.aborted, id).to.equal(true);
    expect(outcome.skipped.sort()).to.deep.equal(['r#04|main', 'r#05|main']);
    // What the cancel stopped, running or not yet started; the task that had finished is not among them.
    expect(outcome.cancelled.sort()).to.deep.equal(['r#01|main', 'r#02|main', 'r#03|main', 'r#04|main', 'r#05|main']);
  });

  it('abandons a cancelled task that ignores its signal once the grace period is over (the timeout is far away)', async () => {
    const cancel = new AbortController();
    let settled = false;
    const run = runFlow(
      independentFlow(2),
      (task, { signal }) => {
        if (task.id === 'r#00|main') {
          setTimeout(() => cancel.abort(new Error('operator cancelled')), 1);
          return new Promise<void>(() => {}); // stuck in a kernel call, say: never looks at its signal
        }
        return untilAborted(signal);
      },
      options({ maxParallel: 2, taskTimeoutMs: 3_600_000, cancelGraceMs: 20, signal: cancel.signal }),
    ).finally(() => (settled = true));
    const outcome = await Promise.race([run, sleep(5_000).then(() => null)]);
    expect(settled, 'the run still waits for the stuck task').to.equal(true);
    expect(outcome!.status).to.equal('cancelled');
    const stuck = outcome!.failed.find((f) => f.taskId === 'r#00|main');
    expect(stuck?.error).to.have.property('code', 'BWK_ERR_TASK_ABANDONED');
    // The task that honoured its signal ended with it, not by abandonment.
    const polite = outcome!.failed.find((f) => f.taskId === 'r#01|main');
    expect(polite?.error).not.to.have.property('code', 'BWK_ERR_TASK_ABANDONED');
  });

  it('ends as its tasks did when the cancel comes after the last task finished its work (too late to stop anything)', async () => {
    const cancel = new AbortController();
    const outcome = await runFlow(
      independentFlow(2),
      async (task) => {
        // The last task's work is done when the cancel arrives; it returns normally.
        if (task.id === 'r#01|main') cancel.abort(new Error('operator cancelled'));
      },
      options({ maxParallel: 1, signal: cancel.signal }),
    );
    expect(cancel.signal.aborted).to.equal(true);
    expect(outcome.status).to.equal('success');
    expect(outcome.cancelled).to.deep.equal([]);
    expect(outcome.succeeded.sort()).to.deep.equal(['r#00|main', 'r#01|main']);
  });

  it('runs nothing when cancelled before it starts', async () => {
    let calls = 0;
    const outcome = await runFlow(treeFlow(), async () => void calls++, options({ signal: AbortSignal.abort() }));
    expect(calls).to.equal(0);
    expect(outcome.status).to.equal('cancelled');
    expect(outcome.skipped).to.have.length(treeFlow().tasks.length);
  });

  it('refuses options that cannot work', async () => {
    for (const bad of [{ maxParallel: 0 }, { taskTimeoutMs: 0 }, { retry: { maxAttempts: 0, initialDelayMs: 1, maxDelayMs: 1 } }]) {
      const err = await runFlow(independentFlow(1), async () => {}, options(bad)).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, JSON.stringify(bad)).to.have.property('code', 'BWK_ERR_INVALID_INPUT');
    }
  });

  it('property: backoffDelay stays within [0, min(maxDelayMs, initialDelayMs·2^(attempt-1))]', () => {
    const policyArb = fc.record({ maxAttempts: fc.constant(5), initialDelayMs: fc.nat(10_000), maxDelayMs: fc.nat(600_000) });
    const unit = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
    fc.assert(
      fc.property(policyArb, fc.integer({ min: 1, max: 200 }), unit, (policy, attempt, r) => {
        const cap = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (attempt - 1));
        const delay = backoffDelay(policy, attempt, () => r);
        expect(Number.isInteger(delay)).to.equal(true);
        expect(delay).to.be.at.least(0);
        expect(delay).to.be.at.most(cap);
        expect(backoffDelay(policy, attempt, () => 0)).to.equal(0);
        expect(backoffDelay(policy, attempt, () => 0.999999)).to.be.at.least(Math.floor(cap * 0.999) - 1);
      }),
    );
  });
});
