import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliJson } from '../helpers/cli.js';
import { tempDir } from '../helpers/paths.js';
import { allowAll } from '../helpers/scopes.js';
import type { Daemon } from '../helpers/processes.js';
import { startDaemon } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';
import { requirePrerequisite } from '../helpers/services.js';

const FS = 'cf56bd3e-97a7-4078-b6d5-f36246333fd9';
const karborBinary = (): string | undefined => {
  const r = spawnSync('sh', ['-c', 'command -v karbor'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
};

/** Karbor's own client (Debian's python3-karborclient), unmodified, drives `bulwark serve` with no Keystone. */
describe('e2e: OpenStack Karbor client against bulwark serve', function () {
  this.timeout(120_000);
  const home = tempDir('karbor');
  const work = tempDir('karbor-data');
  let serve: Daemon;
  let karbor: (...args: string[]) => { code: number | null; out: string };

  before(async function () {
    const bin = requirePrerequisite(this, 'karbor client (apt-get install python3-karborclient)', karborBinary());
    allowAll(home.path, ['kp']);
    serve = await startDaemon(home.path, ['serve', '--port', '0'], /"url":"[^"]+"/);
    const url = (JSON.parse(/\{"url".*\}/.exec(serve.output())![0]) as { url: string }).url;
    const { token } = await cliJson<{ token: string }>(home.path, ['token', 'create', '--project', 'kp', '--role', 'member']);
    karbor = (...args) => {
      const r = spawnSync(
        bin,
        ['--os-no-client-auth', '--os-auth-token', token, '--os-project-id', 'kp', '--karbor-url', `${url}/v1/kp`, ...args],
        { encoding: 'utf8' },
      );
      return { code: r.status, out: `${r.stdout}${r.stderr}` };
    };
  });
  after(async () => {
    await serve?.stop();
    home.cleanup();
    work.cleanup();
  });

  /** A value from the client's `| Property | Value |` table. */
  const field = (out: string, name: string) => new RegExp(`\\|\\s*${name}\\s*\\|\\s*([^|]*?)\\s*\\|`).exec(out)?.[1];

  it('runs providers, protectables, plan, checkpoint, restore, verification and operation logs', async () => {
    const data = join(work.path, 'data');
    mkdirSync(data);
    writeFileSync(join(data, 'file.txt'), 'karbor was here\n');
    expect(karbor('provider-list').out).to.include('fs-directory');
    expect(karbor('protectable-list').out).to.include('fs.directory');
    // The client puts the id into the path as it is: .../instances//…/data
    const instance = karbor('protectable-show-instance', 'fs.directory', data);
    expect(instance.code, instance.out).to.equal(0);
    expect(instance.out).to.include(data);

    const plan = karbor('plan-create', 'kplan', FS, `${data}=fs.directory=data`);
    expect(plan.code, plan.out).to.equal(0);
    const planId = field(plan.out, 'id')!;
    expect(planId).to.match(/^[0-9a-f-]{36}$/);

    const cp = karbor('checkpoint-create', FS, planId);
    expect(cp.code, cp.out).to.equal(0);
    const checkpointId = field(cp.out, 'id')!;
    await waitFor(
      'the checkpoint to be available',
      () => (field(karbor('checkpoint-show', FS, checkpointId).out, 'status') === 'available' ? true : undefined),
      30_000,
    );
    expect(karbor('checkpoint-list', FS).out).to.include(checkpointId);

    const target = join(work.path, 'restored');
    const restore = karbor(
      'restore-create',
      FS,
      checkpointId,
      '--parameters-json',
      JSON.stringify({ 'fs.directory': { target_path: target } }),
    );
    expect(restore.code, restore.out).to.equal(0);
    const restoreId = field(restore.out, 'id')!;
    await waitFor(
      'the restore to succeed',
      () => (field(karbor('restore-show', restoreId).out, 'status') === 'success' ? true : undefined),
      30_000,
    );
    expect(readFileSync(join(target, 'file.txt'), 'utf8')).to.equal('karbor was here\n');

    const verification = karbor('verification-create', FS, checkpointId);
    expect(verification.code, verification.out).to.equal(0);
    await waitFor('the verification to succeed', () => (karbor('verification-list').out.includes('success') ? true : undefined), 30_000);

    const logs = karbor('operationlog-list');
    expect(logs.out).to.include('restore').and.to.include('verify').and.to.include('protect');

    const missing = karbor('plan-show', '0f0f0f0f-0000-4000-8000-000000000000');
    expect(missing.code).to.not.equal(0);
    expect(missing.out).to.include('not found (HTTP 404)');

    expect(karbor('checkpoint-delete', FS, checkpointId).code).to.equal(0);
    expect(karbor('checkpoint-list', FS).out).to.not.include(checkpointId);
    expect(karbor('plan-delete', planId).code).to.equal(0);
  });
});
