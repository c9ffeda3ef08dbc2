/**
 * `npm run bench:engine`: protects a 500-resource noop plan on the local engine and, when
 * TEMPORAL_ADDRESS is set, on the temporal engine (worker in this process), and reports wall times
 * and the ratio temporal/local measured in the same run. Options: --resources N, --parallel P.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openBulwark } from '../src/processes/app.js';

const { values } = parseArgs({ options: { resources: { type: 'string', default: '500' }, parallel: { type: 'string', default: '32' } } });
const count = Number(values.resources);
const parallel = Number(values.parallel);
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
    const { mkdirSync } = await import('node:fs');
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
    rmSync(home, { recursive: true, force: true });
  }
}

const local = await run('local');
process.stdout.write(`local engine:    ${count} resources, ${local.tasks} hook tasks, ${(local.ms / 1000).toFixed(2)} s\n`);
if (process.env.TEMPORAL_ADDRESS) {
  const temporal = await run('temporal');
  process.stdout.write(
    `temporal engine: ${count} resources, ${temporal.tasks} hook tasks (activities), ${(temporal.ms / 1000).toFixed(2)} s\n`,
  );
  process.stdout.write(
    `ratio temporal/local: ${(temporal.ms / local.ms).toFixed(1)}x; per activity: ${(temporal.ms / temporal.tasks).toFixed(2)} ms\n`,
  );
} else {
  process.stdout.write('temporal engine: skipped (set TEMPORAL_ADDRESS, e.g. eval "$(scripts/temporal-dev.sh start)")\n');
}
