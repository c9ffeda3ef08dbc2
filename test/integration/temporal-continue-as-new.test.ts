import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { openBulwark } from '../../src/processes/app.js';
import type { BulwarkApp } from '../../src/processes/app.js';
import { tempDir } from '../helpers/paths.js';
import { waitFor } from '../helpers/wait.js';
import { requireService, temporalAddress } from '../helpers/services.js';
import { TEST_PROVIDER_ID, writeRecorderProvider } from '../helpers/test-provider.js';

/** Adapter-only: continue-as-new keeps a large operation's history bounded without losing progress. */
describe('temporal engine: continue-as-new', function () {
  this.timeout(180_000);
  const home = tempDir('can');
  const ctx = { projectId: 'default', admin: false };
  let app: BulwarkApp;
  let connection: Connection;

  before(async function () {
    const address = requireService(this, 'Temporal (TEMPORAL_ADDRESS)', temporalAddress());
    const ids = Array.from({ length: 12 }, (_, i) => `r${String(i).padStart(2, '0')}`);
    writeRecorderProvider(home.path, { logFile: join(home.path, 'hooks.log'), dependents: { root: ids } });
    writeFileSync(
      join(home.path, 'bulwark.yaml'),
      [
        'engine: temporal',
        `temporal: {address: "${address}", task_queue: can-${randomUUID().slice(0, 8)}, run_worker: true, continue_as_new_after_events: ` +
          `60}`,
        'tasks: {max_parallel: 3}',
        '',
      ].join('\n'),
    );
    app = await openBulwark(home.path);
    connection = await Connection.connect({ address });
  });
  after(async () => {
    await connection?.close();
    await app?.close();
    home.cleanup();
  });

  it('splits a 13-resource protect over several runs, running every hook exactly once', async () => {
    const plan = await app.manager.createPlan(ctx, {
      name: 'wide',
      provider_id: TEST_PROVIDER_ID,
      resources: [{ type: 'test.recorder', id: 'root' }],
    });
    const handle = await app.manager.protect(ctx, plan.id);
    const { record } = await handle.done;
    expect(record.status).to.equal('available');
    const client = new Client({ connection });
    // Visibility is eventually consistent: wait until it lists the closed runs.
    const runs = await waitFor(
      'the runs to be listed',
      async () => {
        const ids: string[] = [];
        for await (const w of client.workflow.list({ query: `WorkflowId = '${handle.operationId}'` })) ids.push(w.runId);
        return ids.length > 1 ? ids : undefined;
      },
      20_000,
    );
    expect(runs.length, 'runs of the operation workflow').to.be.greaterThan(1);
    const lines = readFileSync(join(home.path, 'hooks.log'), 'utf8').trim().split('\n');
    const protects = lines.filter((l) => l.startsWith('protect '));
    expect(protects).to.have.length(13 * 4);
    expect(new Set(protects.map((l) => l.split(' ').slice(1, 3).join(' '))).size).to.equal(13 * 4);
  });
});
