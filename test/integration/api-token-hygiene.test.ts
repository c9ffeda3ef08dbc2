import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { tokenVerifier } from '../../src/api/listen.js';
import { buildApi } from '../../src/api/server.js';
import { createLogger } from '../../src/common/logging.js';
import { openBulwark, type BulwarkApp } from '../../src/processes/app.js';
import { tempDir } from '../helpers/paths.js';
import { allowAll } from '../helpers/scopes.js';
import { waitFor } from '../helpers/wait.js';

const NOOP = 'b766f37c-d011-4026-8228-28730d734a3f';
const ATTACKER = '203.0.113.9';

/** Issue 15, tokens: expiry, last use, slowing guessers without locking out owners, attribution. */
describe('REST API token hygiene', function () {
  this.timeout(60_000);
  const home = tempDir('api-tokens');
  const lines: string[] = [];
  let app: BulwarkApp;
  let api: FastifyInstance;
  let token = '';
  let tokenId = '';

  const call = async (secret: string | null, method: 'GET' | 'POST', url: string, payload?: object, remoteAddress = '127.0.0.1') => {
    const r = await api.inject({
      method,
      url,
      remoteAddress,
      headers: secret === null ? {} : { 'x-auth-token': secret },
      ...(payload !== undefined ? { payload } : {}),
    });
    return { status: r.statusCode, headers: r.headers, body: (r.body ? JSON.parse(r.body) : {}) as Record<string, unknown> };
  };
  const logged = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);

  before(async () => {
    allowAll(home.path, ['proj-a']);
    app = await openBulwark(home.path);
    api = await buildApi({
      service: app.manager,
      scheduling: app.scheduling,
      quotas: app.quotas,
      services: app.services,
      // Every use written at once (interval 0), so the test need not wait a minute for last_used_at.
      tokens: tokenVerifier(app.store.tokens, { useIntervalMs: 0 }),
      events: app.events,
      logger: createLogger((line) => lines.push(line), 'info'),
      bodyLimit: 64 * 1024,
      authFailures: { max_failures: 20, window_ms: 3_600_000, max_addresses: 100 },
      version: 'test',
    });
    const created = await app.store.tokens.createToken({ project_id: 'proj-a', role: 'member' });
    token = created.token;
    tokenId = created.record.id;
  });
  after(async () => {
    await api?.close();
    await app?.close();
    home.cleanup();
  });

  it('refuses an expired token with 401 BWK_ERR_TOKEN_EXPIRED, naming no token', async () => {
    const expired = await app.store.tokens.createToken({ project_id: 'proj-a', role: 'member', expires_at: '2020-01-01T00:00:00.000Z' });
    const r = await call(expired.token, 'GET', '/v1/proj-a/plans');
    expect(r.status).to.equal(401);
    expect(r.body).to.include({ code: 'BWK_ERR_TOKEN_EXPIRED' });
    expect(r.body.message).to.match(/expired/);
    expect(JSON.stringify(r.body)).to.not.include(expired.record.id);
    const future = await app.store.tokens.createToken({ project_id: 'proj-a', role: 'member', expires_at: '2999-01-01T00:00:00.000Z' });
    expect((await call(future.token, 'GET', '/v1/proj-a/plans')).status).to.equal(200);
  });

  it('answers 429 with Retry-After after repeated failures from one address, while a valid token from it still works', async () => {
    const statuses: number[] = [];
    let last: Awaited<ReturnType<typeof call>> | undefined;
    for (let i = 0; i < 200; i++) {
      last = await call(i % 2 ? `bwk_guess-${i}` : null, 'GET', '/v1/proj-a/plans', undefined, ATTACKER);
      statuses.push(last.status);
    }
    expect(statuses.slice(0, 20)).to.deep.equal(Array(20).fill(401));
    expect(statuses.slice(20)).to.deep.equal(Array(180).fill(429));
    expect(last!.body).to.include({ code: 'BWK_ERR_TOO_MANY_ATTEMPTS' });
    expect(last!.body.message).to.be.a('string');
    expect(Number(last!.headers['retry-after'])).to.be.within(1, 3600);
    expect((await call(token, 'GET', '/v1/proj-a/plans', undefined, ATTACKER)).status).to.equal(200);
    expect((await call('bwk_guess-other-address', 'GET', '/v1/proj-a/plans', undefined, '198.51.100.4')).status).to.equal(401);
  });

  it('shows last_used_at once a token authenticated a request', async () => {
    const fresh = await app.store.tokens.createToken({ project_id: 'proj-a', role: 'member' });
    expect(fresh.record.last_used_at).to.equal(null);
    expect((await call(fresh.token, 'GET', '/v1/identity')).status).to.equal(200);
    const listed = await waitFor('last_used_at to be written', async () => {
      const t = (await app.store.tokens.listTokens('proj-a')).find((x) => x.id === fresh.record.id);
      return t?.last_used_at ?? undefined;
    });
    expect(Date.parse(listed)).to.be.at.least(Date.parse(fresh.record.created_at));
  });

  it("logs each mutating request with the token's id and the client address, never its secret", async () => {
    const r = await call(
      token,
      'POST',
      '/v1/proj-a/plans',
      { plan: { name: 'logged', provider_id: NOOP, resources: [{ id: 'demo', type: 'noop' }] } },
      '192.0.2.33',
    );
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    const line = logged().find((l) => l.msg === 'API request' && l.method === 'POST' && l.client_address === '192.0.2.33');
    expect(line, lines.join('\n')).to.include({ token_id: tokenId, route: '/v1/:project_id/plans', status: 200, project_id: 'proj-a' });
    expect(lines.join('\n')).to.not.include(token.slice(4));
    expect(logged().filter((l) => l.msg === 'API request' && l.method === 'GET')).to.deep.equal([]);
  });

  it('names the token and the address in the operation logs of a protect and a restore started through REST', async () => {
    const plan = await call(token, 'POST', '/v1/proj-a/plans', {
      plan: { name: 'p', provider_id: NOOP, resources: [{ id: 'demo', type: 'noop' }] },
    });
    const planId = (plan.body.plan as { id: string }).id;
    const cp = await call(token, 'POST', `/v1/proj-a/providers/${NOOP}/checkpoints`, { checkpoint: { plan_id: planId } }, '192.0.2.44');
    const checkpointId = (cp.body.checkpoint as { id: string }).id;
    await waitFor('the checkpoint', async () => {
      const c = await call(token, 'GET', `/v1/proj-a/providers/${NOOP}/checkpoints/${checkpointId}`);
      return (c.body.checkpoint as { status: string }).status === 'available' ? true : undefined;
    });
    const restore = await call(
      token,
      'POST',
      '/v1/proj-a/restores',
      { restore: { checkpoint_id: checkpointId, parameters: {} } },
      '192.0.2.55',
    );
    expect(restore.status, JSON.stringify(restore.body)).to.equal(202);
    const restoreId = (restore.body.restore as { id: string }).id;
    const logs = (await call(token, 'GET', '/v1/proj-a/operation_logs')).body.operation_logs as Array<Record<string, unknown>>;
    expect(logs.find((l) => l.id === restoreId)).to.include({ operation_type: 'restore', token_id: tokenId, client_address: '192.0.2.55' });
    expect(logs.find((l) => l.id === checkpointId)).to.include({
      operation_type: 'protect',
      token_id: tokenId,
      client_address: '192.0.2.44',
    });
    expect(JSON.stringify(logs)).to.not.include(token.slice(4));
  });
});
