import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import type { BulwarkApp } from '../../src/processes/app.js';
import { openApiApp } from '../helpers/api-app.js';
import { tempDir } from '../helpers/paths.js';
import { allowAll } from '../helpers/scopes.js';
import { waitFor } from '../helpers/wait.js';

const NOOP = 'b766f37c-d011-4026-8228-28730d734a3f';

/** Karbor's fix: a project's token cannot see or act on another project's objects — every route answers 404. */
describe('REST API tenancy', function () {
  this.timeout(60_000);
  const home = tempDir('api');
  let app: BulwarkApp;
  let api: FastifyInstance;
  let tokenA = '';
  let tokenB = '';
  let planId = '';
  let checkpointId = '';
  let restoreId = '';
  let verificationId = '';

  const call = async (token: string, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown) => {
    const r = await api.inject({
      method,
      url,
      headers: { 'x-auth-token': token },
      ...(payload !== undefined ? { payload: payload as object } : {}),
    });
    return { status: r.statusCode, body: r.body ? (JSON.parse(r.body) as Record<string, unknown>) : {} };
  };
  const waitDone = (url: string, key: string) =>
    waitFor(
      `${key} ${url} to finish`,
      async () => {
        const r = await call(tokenA, 'GET', url);
        const status = (r.body[key] as { status: string }).status;
        return ['protecting', 'in_progress'].includes(status) ? undefined : status;
      },
      60_000,
      50,
    );

  before(async () => {
    allowAll(home.path, ['proj-a', 'proj-b']);
    ({ app, api } = await openApiApp(home.path, { bodyLimit: 64 * 1024 }));
    tokenA = (await app.store.tokens.createToken({ project_id: 'proj-a', role: 'member' })).token;
    tokenB = (await app.store.tokens.createToken({ project_id: 'proj-b', role: 'member' })).token;
    const plan = await call(tokenA, 'POST', '/v1/proj-a/plans', {
      plan: { name: 'a-plan', provider_id: NOOP, resources: [{ id: 'demo', type: 'noop' }] },
    });
    expect(plan.status, JSON.stringify(plan.body)).to.equal(200);
    planId = (plan.body.plan as { id: string }).id;
    const cp = await call(tokenA, 'POST', `/v1/proj-a/providers/${NOOP}/checkpoints`, { checkpoint: { plan_id: planId } });
    expect(cp.status, JSON.stringify(cp.body)).to.equal(202);
    checkpointId = (cp.body.checkpoint as { id: string }).id;
    expect(await waitDone(`/v1/proj-a/providers/${NOOP}/checkpoints/${checkpointId}`, 'checkpoint')).to.equal('available');
    const restore = await call(tokenA, 'POST', '/v1/proj-a/restores', {
      restore: { provider_id: NOOP, checkpoint_id: checkpointId, parameters: {} },
    });
    expect(restore.status, JSON.stringify(restore.body)).to.equal(202);
    restoreId = (restore.body.restore as { id: string }).id;
    expect(await waitDone(`/v1/proj-a/restores/${restoreId}`, 'restore')).to.equal('success');
    const verification = await call(tokenA, 'POST', '/v1/proj-a/verifications', { verification: { checkpoint_id: checkpointId } });
    verificationId = (verification.body.verification as { id: string }).id;
    expect(await waitDone(`/v1/proj-a/verifications/${verificationId}`, 'verification')).to.equal('success');
  });
  after(async () => {
    await api?.close();
    await app?.close();
    home.cleanup();
  });

  it('without a valid token every route answers 401', async () => {
    expect((await api.inject({ method: 'GET', url: '/v1/proj-a/plans' })).statusCode).to.equal(401);
    const bad = await call('bwk_not-a-real-token', 'GET', '/v1/proj-a/plans');
    expect(bad.status).to.equal(401);
    expect(bad.body.code).to.equal('BWK_ERR_UNAUTHORIZED');
  });

  it("project B's token gets 404 on every route touching project A's objects, and A's objects are unchanged", async () => {
    const attempts: Array<[string, 'GET' | 'POST' | 'PUT' | 'DELETE', string, unknown?]> = [];
    for (const project of ['proj-b', 'proj-a']) {
      attempts.push(
        ['show plan', 'GET', `/v1/${project}/plans/${planId}`],
        ['update plan', 'PUT', `/v1/${project}/plans/${planId}`, { plan: { name: 'stolen' } }],
        ['delete plan', 'DELETE', `/v1/${project}/plans/${planId}`],
        ['protect plan', 'POST', `/v1/${project}/providers/${NOOP}/checkpoints`, { checkpoint: { plan_id: planId } }],
        ['show checkpoint', 'GET', `/v1/${project}/providers/${NOOP}/checkpoints/${checkpointId}`],
        ['delete checkpoint', 'DELETE', `/v1/${project}/providers/${NOOP}/checkpoints/${checkpointId}`],
        ['restore checkpoint', 'POST', `/v1/${project}/restores`, { restore: { checkpoint_id: checkpointId } }],
        ['verify checkpoint', 'POST', `/v1/${project}/verifications`, { verification: { checkpoint_id: checkpointId } }],
        ['show restore', 'GET', `/v1/${project}/restores/${restoreId}`],
        ['show verification', 'GET', `/v1/${project}/verifications/${verificationId}`],
        ['show operation', 'GET', `/v1/${project}/operations/${checkpointId}`],
        ['operation events', 'GET', `/v1/${project}/operations/${checkpointId}/events`],
        ['cancel operation', 'POST', `/v1/${project}/operations/${restoreId}/cancel`],
      );
    }
    for (const [what, method, url, body] of attempts) {
      const r = await call(tokenB, method, url, body);
      expect(r.status, `${what} ${url}: ${JSON.stringify(r.body)}`).to.equal(404);
      expect(r.body.code, what).to.match(/^BWK_ERR_[A-Z_]+_NOT_FOUND$/);
    }
    for (const url of [
      '/v1/proj-b/plans',
      `/v1/proj-b/providers/${NOOP}/checkpoints`,
      '/v1/proj-b/restores',
      '/v1/proj-b/verifications',
      '/v1/proj-b/operation_logs',
    ]) {
      const r = await call(tokenB, 'GET', url);
      expect(r.status, url).to.equal(200);
      expect(Object.values(r.body)[0], url).to.deep.equal([]);
    }
    const mine = await call(tokenA, 'GET', `/v1/proj-a/plans/${planId}`);
    expect((mine.body.plan as { name: string }).name).to.equal('a-plan');
    expect((await call(tokenA, 'GET', `/v1/proj-a/providers/${NOOP}/checkpoints`)).body.checkpoints).to.have.length(1);
    const logs = (await call(tokenA, 'GET', '/v1/proj-a/operation_logs')).body.operation_logs as Array<{
      operation_type: string;
      status: string;
      checkpoint_id: string;
    }>;
    expect(logs.map((l) => l.operation_type).sort()).to.deep.equal(['protect', 'restore', 'verify']);
    expect(logs.every((l) => l.status === 'success' && l.checkpoint_id === checkpointId)).to.equal(true);
  });

  it('a member cannot list across tenants; an admin can', async () => {
    expect((await call(tokenB, 'GET', '/v1/proj-b/plans?all_tenants=1')).status).to.equal(403);
    const admin = (await app.store.tokens.createToken({ project_id: 'ops', role: 'admin' })).token;
    const all = await call(admin, 'GET', '/v1/ops/plans?all_tenants=1');
    expect((all.body.plans as Array<{ id: string }>).map((p) => p.id)).to.include(planId);
    expect((await call(admin, 'GET', `/v1/proj-a/plans/${planId}`)).status).to.equal(200);
  });
});
