import { expect } from 'chai';
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/paths.js';
import { allowAll } from '../helpers/scopes.js';
import type { Daemon } from '../helpers/processes.js';
import { memberClient, startServe } from '../helpers/serve.js';
import { waitFor } from '../helpers/wait.js';

const FS_PROVIDER = 'cf56bd3e-97a7-4078-b6d5-f36246333fd9';

interface Record_ {
  id: string;
  status: string;
  resources_status?: Record<string, string>;
  resources_reason?: Record<string, string>;
}

/**
 * Issue 14's first finding, replayed through the REST API of `bulwark serve`: one restore of a
 * five-resource plan where the first resource plants `root -> /` inside an allowed directory and a
 * later resource targets a path through that link. Each target passes the policy when the request
 * arrives; the later ones lead into the home and out of the allowed tree only once the first has run.
 * The restore must check where each target really lands when it writes.
 */
describe('e2e: a restore cannot be steered out of the restore policy by a symlink another resource writes', function () {
  this.timeout(120_000);
  const home = tempDir('confine-home');
  const work = tempDir('confine-work');
  const allowed = join(work.path, 'allowed');
  const outside = join(work.path, 'outside');
  let serve: Daemon | undefined;

  after(async () => {
    await serve?.stop();
    home.cleanup();
    work.cleanup();
  });

  it('the resources whose target resolves into the home or out of the allowed paths fail, and write nothing there', async () => {
    mkdirSync(allowed);
    mkdirSync(outside);
    const sources = [1, 2, 3, 4, 5].map((n) => join(work.path, `src${n}`));
    for (const s of sources) mkdirSync(s);
    symlinkSync('/', join(sources[0]!, 'root'));
    for (const s of sources.slice(1)) writeFileSync(join(s, 'payload.yaml'), 'id: not-a-provider\n');
    // One task at a time, in plan order: the link is there before the later resources run, every time.
    writeFileSync(
      join(home.path, 'bulwark.yaml'),
      `restore:\n  allowed_target_paths: [${JSON.stringify(allowed)}]\ntasks:\n  max_parallel: 1\n`,
    );
    allowAll(home.path, ['tenant']);
    let url: string;
    ({ serve, url } = await startServe(home.path));
    const member = await memberClient(home.path, url, 'tenant');
    const call = async (method: string, path: string, body?: unknown): Promise<Record<string, Record_>> => {
      const { status, json } = await member(method, path, body);
      expect(status, JSON.stringify(json)).to.be.below(300);
      return json as Record<string, Record_>;
    };
    const resources = sources.map((id) => ({ type: 'fs.directory', id }));
    const plan = (await call('POST', '/plans', { plan: { name: 'race', provider_id: FS_PROVIDER, resources } })).plan!;
    const checkpoint = (await call('POST', `/providers/${FS_PROVIDER}/checkpoints`, { checkpoint: { plan_id: plan.id } })).checkpoint!;
    await waitFor(
      'the checkpoint to become available',
      async () => (await call('GET', `/providers/${FS_PROVIDER}/checkpoints/${checkpoint.id}`)).checkpoint!.status === 'available' || null,
    );

    const link = join(allowed, 'p', 'root');
    const intoHome = join(link, home.path, 'providers', 'pwn');
    const outOfPolicy = join(link, outside, 'pwn');
    const targets = [join(allowed, 'p'), join(allowed, 'f2'), join(allowed, 'f3'), outOfPolicy, intoHome];
    const parameters = Object.fromEntries(sources.map((s, i) => [`fs.directory#${s}`, { target_path: targets[i] }]));
    const restore = (await call('POST', '/restores', { restore: { checkpoint_id: checkpoint.id, provider_id: FS_PROVIDER, parameters } }))
      .restore!;
    const ended = await waitFor('the restore to end', async () => {
      const r = (await call('GET', `/restores/${restore.id}`)).restore!;
      return r.status === 'in_progress' ? null : r;
    });

    expect(existsSync(join(home.path, 'providers', 'pwn')), 'written into the home').to.equal(false);
    expect(readdirSync(outside), 'written outside the allowed paths').to.deep.equal([]);
    expect(ended.status).to.equal('fail');
    const reason = ended.resources_reason!;
    expect(reason[`fs.directory#${sources[4]}`]).to.match(/^BWK_ERR_RESTORE_TARGET_DENIED: .*inside Bulwark's own state/);
    expect(reason[`fs.directory#${sources[3]}`]).to.match(/^BWK_ERR_RESTORE_TARGET_DENIED: .*not under an allowed target path/);
    // The message does not say where the home really is.
    expect(reason[`fs.directory#${sources[4]}`]).not.to.match(/resolves to/);
    // The resources whose targets stay inside the policy were restored.
    expect(existsSync(join(allowed, 'f2', 'payload.yaml'))).to.equal(true);
    expect(existsSync(join(allowed, 'f3', 'payload.yaml'))).to.equal(true);
  });
});
