import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { workflowBundle } from '../../src/protection-manager/engines/temporal-worker.js';
import { REPO_ROOT } from '../helpers/paths.js';

/**
 * Replays workflow histories recorded from real runs (scripts/record-history.ts) against the current
 * workflow code, without a server: a change that would break running operations (non-determinism)
 * fails here.
 */
describe('operation workflow replay (determinism)', function () {
  this.timeout(120_000);
  const dir = join(REPO_ROOT, 'test', 'fixtures', 'histories');
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();

  it('has recorded histories to replay', () => {
    expect(files).to.include.members(['protect-graph.json', 'restore-graph.json', 'protect-failing-retried.json']);
  });

  for (const file of files) {
    it(`replays ${file}`, async () => {
      const history = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { events: unknown[] };
      expect(history.events.length).to.be.greaterThan(10);
      await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, file);
    });
  }
});
