/**
 * `npm run record:history` (needs TEMPORAL_ADDRESS): runs real operations on the temporal engine and
 * stores their workflow histories as fixtures. test/unit/workflow-replay.test.ts replays them, so a
 * change that makes the workflow non-deterministic fails CI. Re-record only on purpose (a new
 * workflow version), never to make that test pass.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { openBulwark } from '../src/processes/app.js';
import { writeRecorderProvider, TEST_PROVIDER_ID } from '../test/helpers/test-provider.js';

const address = process.env.TEMPORAL_ADDRESS;
if (!address) {
  process.stderr.write('record-history: set TEMPORAL_ADDRESS (eval "$(scripts/temporal-dev.sh start)")\n');
  process.exit(2);
}
const outDir = fileURLToPath(new URL('../../test/fixtures/histories/', import.meta.url));
const home = mkdtempSync(join(tmpdir(), 'bwk-record-'));
writeRecorderProvider(home, { dependents: { a: ['b', 'c'], b: ['d'] } });
writeFileSync(
  join(home, 'bulwark.yaml'),
  `engine: temporal\ntemporal: {address: "${address}", task_queue: record-${randomUUID().slice(0, 8)}, run_worker: true}\ntasks: ` +
    `{max_parallel: 2, retry: {max_attempts: 2, initial_delay_ms: 10, max_delay_ms: 20}}\n`,
);
const app = await openBulwark(home);
const connection = await Connection.connect({ address });
const client = new Client({ connection });
const ctx = { projectId: 'default', admin: false };
try {
  const save = async (name: string, operationId: string) => {
    const history = await client.workflow.getHandle(operationId).fetchHistory();
    writeFileSync(join(outDir, `${name}.json`), `${historyToJSON(history)}\n`);
    process.stdout.write(`recorded ${name} (${history.events?.length ?? 0} events)\n`);
  };
  const ok = await app.manager.createPlan(ctx, {
    name: 'graph',
    provider_id: TEST_PROVIDER_ID,
    resources: [{ type: 'test.recorder', id: 'a' }],
  });
  const protect = await app.manager.protect(ctx, ok.id);
  await protect.done;
  await save('protect-graph', protect.operationId);
  const restore = await app.manager.restore(ctx, { checkpoint_id: protect.id });
  await restore.done;
  await save('restore-graph', restore.operationId);
  const failing = await app.manager.createPlan(ctx, {
    name: 'failing',
    provider_id: TEST_PROVIDER_ID,
    resources: [{ type: 'test.recorder', id: 'a' }],
    parameters: { 'test.recorder#d': { fail_hook: 'main', retryable: true } },
  });
  const failed = await app.manager.protect(ctx, failing.id);
  await failed.done;
  await save('protect-failing-retried', failed.operationId);
} finally {
  await connection.close();
  await app.close();
  rmSync(home, { recursive: true, force: true });
}
