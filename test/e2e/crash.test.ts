import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliJson, runCli, spawnCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/paths.js';
import { TEST_PROVIDER_ID, writeRecorderProvider } from '../helpers/test-provider.js';
import { sleep, waitFor } from '../helpers/wait.js';

interface Checkpoint {
  id: string;
  status: string;
  extra_info: { reason?: string };
}

describe('e2e: the CLI killed during a protect leaves nothing stuck', function () {
  this.timeout(120_000);
  const home = tempDir('home');
  const work = tempDir('work');

  before(() => {
    writeFileSync(join(home.path, 'bulwark.yaml'), 'lease:\n  ttl_ms: 2000\n  renew_interval_ms: 500\n');
    writeRecorderProvider(home.path, { logFile: join(work.path, 'hooks.log') });
  });
  after(() => {
    home.cleanup();
    work.cleanup();
  });

  it('marks the checkpoint error after the lease expires; delete works; a new protect succeeds', async () => {
    const plan = await cliJson<{ id: string }>(home.path, [
      'plan',
      'create',
      '--name',
      'slow',
      '--provider',
      TEST_PROVIDER_ID,
      '--resource',
      'test.recorder=slow-one',
      '--parameters',
      JSON.stringify({ 'test.recorder': { delay_ms: 600_000 } }),
    ]);
    const child = spawnCli(home.path, ['checkpoint', 'create', '--plan', plan.id]);
    const exited = new Promise((resolve) => child.on('close', resolve));
    // Wait until the protect is really running (the plugin's main hook has been entered).
    const protecting = await waitFor(
      'the checkpoint to be protecting',
      async () => {
        const list = await cliJson<Checkpoint[]>(home.path, ['checkpoint', 'list', '--plan', plan.id]);
        return list[0]?.status === 'protecting' ? list[0] : undefined;
      },
      30_000,
    );
    // A listing while the owner is alive must not steal its live lease.
    await sleep(2500);
    expect((await cliJson<Checkpoint>(home.path, ['checkpoint', 'show', protecting.id])).status).to.equal('protecting');

    child.kill('SIGKILL');
    await exited;

    const failed = await waitFor(
      'recovery to mark the checkpoint error',
      async () => {
        const c = (await cliJson<Checkpoint[]>(home.path, ['checkpoint', 'list', '--plan', plan.id]))[0];
        return c?.status === 'error' ? c : undefined;
      },
      30_000,
    );
    expect(failed.id).to.equal(protecting.id);
    expect(failed.extra_info.reason).to.match(/BWK_ERR_OPERATION_ABANDONED/);

    const del = await runCli(home.path, ['checkpoint', 'delete', failed.id]);
    expect(del.code, del.stderr).to.equal(0);
    expect(await cliJson<Checkpoint[]>(home.path, ['checkpoint', 'list', '--plan', plan.id])).to.deep.equal([]);

    await cliJson(home.path, ['plan', 'update', plan.id, '--parameters', JSON.stringify({ 'test.recorder': { delay_ms: 10 } })]);
    const fresh = await cliJson<Checkpoint>(home.path, ['checkpoint', 'create', '--plan', plan.id]);
    expect(fresh.status).to.equal('available');
    const verified = await cliJson<{ status: string }>(home.path, ['verification', 'create', '--checkpoint', fresh.id]);
    expect(verified.status).to.equal('success');
  });
});
