import { expect } from 'chai';
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dump as toYaml } from 'js-yaml';
import type { ApiApp } from '../helpers/api-app.js';
import { openApiApp } from '../helpers/api-app.js';
import { tempDir } from '../helpers/paths.js';
import { waitFor } from '../helpers/wait.js';

const FS = 'cf56bd3e-97a7-4078-b6d5-f36246333fd9';

interface Answer {
  status: number;
  body: Record<string, unknown> & { code?: string; message?: string };
}

/**
 * Resource scopes through REST with real tokens (issue 15): a member of project B may list, plan,
 * protect, verify and restore only what `scopes.b` in bulwark.yaml names; outside it every step is
 * a coded 403 that changes nothing. fs.directory here; the database types in resource-scopes-db.
 */
describe('resource scopes: fs.directory through REST', function () {
  this.timeout(120_000);
  const home = tempDir('scopes-home');
  const work = tempDir('scopes-work');
  const W = work.path;
  const [aData, bData, bRestore, outside] = ['a-data', 'b-data', 'b-restore', 'outside'].map((n) => join(W, n)) as [
    string,
    string,
    string,
    string,
  ];
  let h: ApiApp;
  let member = '';
  let admin = '';
  let stranger = '';

  const writeScopes = (scopes: Record<string, unknown>): void =>
    // One task at a time, in plan order: a link one resource restores is there before the next runs.
    writeFileSync(join(home.path, 'bulwark.yaml'), toYaml({ tasks: { max_parallel: 1 }, scopes }), { mode: 0o600 });
  const call = async (token: string, method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown): Promise<Answer> => {
    const r = await h.api.inject({
      method,
      url,
      headers: { 'x-auth-token': token, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
    return { status: r.statusCode, body: r.body ? (JSON.parse(r.body) as Answer['body']) : {} };
  };
  /** A coded 403 naming the project; `unsaid` is a root of the scope the caller did not send: the policy's contents are not told. */
  const denied = (a: Answer, project = 'b', unsaid = bRestore): void => {
    expect(a.status, JSON.stringify(a.body)).to.equal(403);
    expect(a.body.code).to.equal('BWK_ERR_RESOURCE_DENIED');
    expect(a.body.message).to.contain(`project ${project}`);
    expect(a.body.message).not.to.contain(unsaid);
  };
  const plan = (token: string, id: string, project = 'b') =>
    call(token, 'POST', `/v1/${project}/plans`, {
      plan: { name: 'p', provider_id: FS, resources: [{ type: 'fs.directory', id }] },
    });
  const plans = async () => ((await call(member, 'GET', '/v1/b/plans')).body.plans as unknown[]).length;
  const restore = (checkpointId: string, target: string) =>
    call(member, 'POST', '/v1/b/restores', {
      restore: { checkpoint_id: checkpointId, parameters: { 'fs.directory': { target_path: target } } },
    });
  const ended = (path: string, key: string, busy: string) =>
    waitFor(`${path} to end`, async () => {
      const r = (await call(member, 'GET', path)).body[key] as { status: string };
      return r.status === busy ? null : r;
    });

  before(async () => {
    for (const d of [aData, bData, bRestore, outside]) mkdirSync(d);
    writeFileSync(join(aData, 'secret.txt'), "project A's data");
    writeFileSync(join(bData, 'mine.txt'), "project B's data");
    symlinkSync(aData, join(bData, 'to-a'));
    symlinkSync(outside, join(bRestore, 'to-outside'));
    writeScopes({ b: { 'fs.directory': { protect: [bData], restore: [bRestore] } } });
    h = await openApiApp(home.path);
    member = await h.token('b');
    admin = await h.token('ops', 'admin');
    stranger = await h.token('c');
  });
  after(async () => {
    await h?.close();
    home.cleanup();
    work.cleanup();
  });

  it('lists only the instances in the scope', async () => {
    const r = await call(
      member,
      'GET',
      `/v1/b/protectables/fs.directory/instances?parameters=${encodeURIComponent(JSON.stringify({ path: W }))}`,
    );
    expect(r.status).to.equal(200);
    expect((r.body.instances as Array<{ id: string }>).map((i) => i.id)).to.deep.equal([bData]);
    denied(await call(member, 'GET', `/v1/b/protectables/fs.directory/instances/${encodeURIComponent(aData)}`));
  });

  it('refuses a plan outside the scope, through .. or a symlink, and stores nothing', async () => {
    for (const id of [aData, join(bData, '..', 'a-data'), join(bData, 'to-a'), W]) denied(await plan(member, id));
    expect(await plans()).to.equal(0);
  });

  it('a project without a scope may use nothing, and is told so', async () => {
    const r = await plan(stranger, bData, 'c');
    denied(r, 'c');
    expect(r.body.message).to.contain('has no resource scope');
  });

  it('plans, protects, verifies and restores inside the scope; refuses restores outside it, writing nothing', async () => {
    const p = await plan(member, bData);
    expect(p.status, JSON.stringify(p.body)).to.equal(200);
    const planId = (p.body.plan as { id: string }).id;
    const cp = await call(member, 'POST', `/v1/b/providers/${FS}/checkpoints`, { checkpoint: { plan_id: planId } });
    expect(cp.status).to.equal(202);
    const checkpointId = (cp.body.checkpoint as { id: string }).id;
    expect((await ended(`/v1/b/providers/${FS}/checkpoints/${checkpointId}`, 'checkpoint', 'protecting')).status).to.equal('available');
    const v = await call(member, 'POST', '/v1/b/verifications', { verification: { checkpoint_id: checkpointId } });
    expect(v.status, JSON.stringify(v.body)).to.equal(202);

    for (const target of [join(outside, 'x'), join(bRestore, 'to-outside', 'x'), join(bRestore, '..', 'outside', 'y'), aData])
      denied(await restore(checkpointId, target), 'b', bData);
    expect(readdirSync(outside)).to.deep.equal([]);
    expect(readdirSync(aData)).to.deep.equal(['secret.txt']);

    const ok = await restore(checkpointId, join(bRestore, 'back'));
    expect(ok.status, JSON.stringify(ok.body)).to.equal(202);
    const restoreId = (ok.body.restore as { id: string }).id;
    expect((await ended(`/v1/b/restores/${restoreId}`, 'restore', 'in_progress')).status).to.equal('success');
    expect(existsSync(join(bRestore, 'back', 'mine.txt'))).to.equal(true);
  });

  it("checks a member's restore scope again when it writes: a link another resource of the restore planted is not followed", async () => {
    const planter = join(bData, 'a-planter'); // refs sort: the planter's task runs first
    const payload = join(bData, 'b-payload');
    mkdirSync(planter);
    mkdirSync(payload);
    symlinkSync(outside, join(planter, 'l'));
    writeFileSync(join(payload, 'p.txt'), 'payload');
    const resources = [planter, payload].map((id) => ({ type: 'fs.directory', id }));
    const p = await call(member, 'POST', '/v1/b/plans', { plan: { name: 'race', provider_id: FS, resources } });
    expect(p.status, JSON.stringify(p.body)).to.equal(200);
    const cp = await call(member, 'POST', `/v1/b/providers/${FS}/checkpoints`, {
      checkpoint: { plan_id: (p.body.plan as { id: string }).id },
    });
    const checkpointId = (cp.body.checkpoint as { id: string }).id;
    expect((await ended(`/v1/b/providers/${FS}/checkpoints/${checkpointId}`, 'checkpoint', 'protecting')).status).to.equal('available');
    // Both targets are inside the restore scope when the request arrives (bRestore/race/l does not exist yet).
    const parameters = {
      [`fs.directory#${planter}`]: { target_path: join(bRestore, 'race') },
      [`fs.directory#${payload}`]: { target_path: join(bRestore, 'race', 'l', 'pwn') },
    };
    const r = await call(member, 'POST', '/v1/b/restores', { restore: { checkpoint_id: checkpointId, parameters } });
    expect(r.status, JSON.stringify(r.body)).to.equal(202);
    const done = (await ended(`/v1/b/restores/${(r.body.restore as { id: string }).id}`, 'restore', 'in_progress')) as unknown as {
      status: string;
      resources_reason: Record<string, string>;
    };
    expect(done.status).to.equal('fail');
    expect(done.resources_reason[`fs.directory#${payload}`]).to.match(/^BWK_ERR_RESTORE_TARGET_DENIED: .*not under an allowed target path/);
    expect(readdirSync(outside)).to.deep.equal([]);
  });

  it('a scope tightened after the plan was made denies the next protect (reloaded without a restart)', async () => {
    const planId = ((await call(member, 'GET', '/v1/b/plans')).body.plans as Array<{ id: string }>)[0]!.id;
    writeScopes({ b: { 'fs.directory': { protect: [join(W, 'elsewhere')], restore: [bRestore] } } });
    h.app.scopes.reload(home.path);
    const before = ((await call(member, 'GET', `/v1/b/providers/${FS}/checkpoints`)).body.checkpoints as unknown[]).length;
    denied(await call(member, 'POST', `/v1/b/providers/${FS}/checkpoints`, { checkpoint: { plan_id: planId } }));
    expect(((await call(member, 'GET', `/v1/b/providers/${FS}/checkpoints`)).body.checkpoints as unknown[]).length).to.equal(before);
  });

  it('a member may not restore a checkpoint of resources outside its scope, though an admin put it in the project', async () => {
    const p = await plan(admin, aData);
    expect(p.status, JSON.stringify(p.body)).to.equal(200);
    const cp = await call(admin, 'POST', `/v1/b/providers/${FS}/checkpoints`, {
      checkpoint: { plan_id: (p.body.plan as { id: string }).id },
    });
    const checkpointId = (cp.body.checkpoint as { id: string }).id;
    expect((await ended(`/v1/b/providers/${FS}/checkpoints/${checkpointId}`, 'checkpoint', 'protecting')).status).to.equal('available');
    denied(await restore(checkpointId, join(bRestore, 'copied-out')), 'b', bData);
    denied(await call(member, 'POST', '/v1/b/verifications', { verification: { checkpoint_id: checkpointId } }), 'b', bData);
    expect(existsSync(join(bRestore, 'copied-out'))).to.equal(false);
  });

  it('admin tokens are not scoped (the restore policy still applies)', async () => {
    const r = await plan(admin, aData);
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
  });
});
