/**
 * `npm run bench:engine`: protects a 500-resource noop plan on the local engine and, when
 * TEMPORAL_ADDRESS is set, on the temporal engine (worker in this process), and measures in the
 * same run the yardstick: a bare workflow (bench/workflows/fan-out.ts) fanning out as many
 * activities as the plan had hook tasks, on a worker with the same activity slots. Each is run
 * --rounds times (temporal and bare in turn), and the medians and the paired ratios are printed.
 * Options: --resources N, --parallel P, --rounds R.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { openBulwark } from '../src/processes/app.js';
import type { fanOut } from '../bench/workflows/fan-out.js';
import { median } from '../bench/stats.js';

const { values } = parseArgs({
  options: {
    resources: { type: 'string', default: '500' },
    parallel: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '3' },
  },
});
const count = Number(values.resources);
const parallel = Number(values.parallel);
const rounds = Number(values.rounds);
for (const [name, v] of [
  ['--resources', count],
  ['--parallel', parallel],
  ['--rounds', rounds],
] as const) {
  if (!Number.isInteger(v) || v < 1) {
    process.stderr.write(`bench:engine: ${name} must be a whole number >= 1\n`);
    process.exit(2);
  }
}
const PROVIDER = '8e0c0b1e-5a7d-4c55-9d3b-0b5e9c1f2a77';
const ids = Array.from({ length: count }, (_, i) => `r${String(i).padStart(4, '0')}`);

async function run(engine: 'local' | 'temporal'): Promise<{ ms: number; tasks: number }> {
  const home = mkdtempSync(join(tmpdir(), `bwk-bench-${engine}-`));
  try {
    writeFileSync(
      join(home, 'bulwark.yaml'),
      [
        `engine: ${engine}`,
        `tasks: {max_parallel: ${parallel}}`,
        ...(engine === 'temporal'
          ? [
              `temporal: {address: "${process.env.TEMPORAL_ADDRESS}", task_queue: bench-${randomUUID().slice(0, 8)}, run_worker: true, ` +
                `max_concurrent_activities: ${parallel}}`,
            ]
          : []),
        '',
      ].join('\n'),
    );
    mkdirSync(join(home, 'providers'), { recursive: true });
    writeFileSync(
      join(home, 'providers', 'bench.yaml'),
      `id: ${PROVIDER}\nname: bench\nplugins:\n  - name: noop\n    options: {resources: [${ids.join(', ')}]}\nbank: {type: fs}\n`,
    );
    const app = await openBulwark(home);
    try {
      const ctx = { projectId: 'default', admin: false };
      const plan = await app.manager.createPlan(ctx, {
        name: 'bench',
        provider_id: PROVIDER,
        resources: ids.map((id) => ({ type: 'noop', id })),
      });
      let tasks = 0;
      app.events.subscribe((e) => {
        if (e.type === 'operation_started') tasks = e.total_tasks;
      });
      const t0 = performance.now();
      const { record } = await (await app.manager.protect(ctx, plan.id)).done;
      const ms = performance.now() - t0;
      if (record.status !== 'available')
        throw new Error(`${engine}: checkpoint ended ${record.status}: ${JSON.stringify(record.extra_info.reason)}`);
      return { ms, tasks };
    } finally {
      await app.close();
    }
  } finally {
    // Removed at the end: the Temporal SDK's process-wide logger keeps writing to the latest app's log.
    homes.push(home);
  }
}
const homes: string[] = [];
process.on('exit', () => {
  for (const h of homes) rmSync(h, { recursive: true, force: true });
});

const secs = (ms: number): string => (ms / 1000).toFixed(2);
const list = (xs: number[]): string => xs.map(secs).join(', ');

/** The bare fan-out: its own worker (same activity slots) and task queue, started on first use. */
let bare: { client: Client; taskQueue: string; stop: () => Promise<void> } | undefined;
async function runBare(activities: number): Promise<number> {
  if (bare === undefined) {
    const address = process.env.TEMPORAL_ADDRESS!;
    const taskQueue = `bench-bare-${randomUUID().slice(0, 8)}`;
    const native = await NativeConnection.connect({ address });
    const worker = await Worker.create({
      connection: native,
      taskQueue,
      workflowsPath: fileURLToPath(new URL('../bench/workflows/fan-out.js', import.meta.url)),
      activities: { nothing: async (i: number) => i },
      maxConcurrentActivityTaskExecutions: parallel,
    });
    const running = worker.run();
    const connection = await Connection.connect({ address });
    bare = {
      client: new Client({ connection }),
      taskQueue,
      stop: async () => {
        worker.shutdown();
        await running;
        await native.close();
        await connection.close();
      },
    };
  }
  const t0 = performance.now();
  const n = await bare.client.workflow.execute<typeof fanOut>('fanOut', {
    taskQueue: bare.taskQueue,
    workflowId: `bench-fan-out-${randomUUID()}`,
    args: [activities],
  });
  if (n !== activities) throw new Error(`bare fan-out ran ${n} of ${activities} activities`);
  return performance.now() - t0;
}

const locals: number[] = [];
let tasks = 0;
for (let i = 0; i < rounds; i++) {
  const r = await run('local');
  locals.push(r.ms);
  tasks = r.tasks;
}
process.stdout.write(`local engine:    ${count} resources, ${tasks} hook tasks, median ${secs(median(locals))} s (${list(locals)})\n`);
if (process.env.TEMPORAL_ADDRESS) {
  const temporal: number[] = [];
  const bareMs: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const r = await run('temporal');
    temporal.push(r.ms);
    bareMs.push(await runBare(r.tasks));
    process.stderr.write(`bench:engine: round ${i + 1}: temporal ${secs(r.ms)} s, bare fan-out ${secs(bareMs[i]!)} s\n`);
  }
  await bare?.stop();
  const ratios = temporal.map((t, i) => t / bareMs[i]!);
  process.stdout.write(
    `temporal engine: ${count} resources, ${tasks} hook tasks (activities), median ${secs(median(temporal))} s (${list(temporal)})\n` +
      `bare fan-out:    ${tasks} activities, ${parallel} slots, median ${secs(median(bareMs))} s (${list(bareMs)})\n` +
      `temporal/bare:   median ${median(ratios).toFixed(2)}x (${ratios.map((x) => x.toFixed(2)).join(', ')}); ` +
      `temporal/local: ${(median(temporal) / median(locals)).toFixed(1)}x\n`,
  );
} else {
  process.stdout.write('temporal engine: skipped (set TEMPORAL_ADDRESS, e.g. eval "$(scripts/temporal-dev.sh start)")\n');
}
