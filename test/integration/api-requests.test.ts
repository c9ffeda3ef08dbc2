import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BulwarkApp } from '../../src/processes/app.js';
import { openApiApp } from '../helpers/api-app.js';
import { tempDir } from '../helpers/paths.js';
import { allowAll } from '../helpers/scopes.js';

const FS = 'cf56bd3e-97a7-4078-b6d5-f36246333fd9';
const NOOP = 'b766f37c-d011-4026-8228-28730d734a3f';
const UNKNOWN = '0f0f0f0f-0000-4000-8000-000000000000';

/** Requests real clients send that the API got wrong: bodiless JSON requests, a stale marker, a protect under another provider. */
describe('REST API requests', function () {
  this.timeout(60_000);
  const home = tempDir('api-req');
  const data = join(home.path, 'data');
  let app: BulwarkApp;
  let api: FastifyInstance;
  let token = '';

  const send = async (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: string) => {
    const r = await api.inject({
      method,
      url,
      headers: { 'x-auth-token': token, 'content-type': 'application/json' },
      ...(payload === undefined ? {} : { payload }),
    });
    return { status: r.statusCode, body: r.body === '' ? {} : (JSON.parse(r.body) as Record<string, unknown>) };
  };
  const plan = async (name: string) =>
    (
      await send(
        'POST',
        '/v1/p/plans',
        JSON.stringify({ plan: { name, provider_id: FS, resources: [{ id: data, type: 'fs.directory' }] } }),
      )
    ).body.plan as { id: string };
  const checkpoints = async () =>
    (await send('GET', `/v1/p/providers/${FS}/checkpoints`)).body.checkpoints as Array<{ id: string; status: string }>;

  before(async () => {
    mkdirSync(data);
    writeFileSync(join(data, 'a.txt'), 'a');
    allowAll(home.path, ['p']);
    ({ app, api } = await openApiApp(home.path));
    token = (await app.store.tokens.createToken({ project_id: 'p', role: 'member' })).token;
  });
  after(async () => {
    await api?.close();
    await app?.close();
    home.cleanup();
  });

  describe('Content-Type: application/json with an empty body', () => {
    it('deletes a checkpoint (the README walkthrough sends its JSON header on DELETE)', async () => {
      const p = await plan('bodiless-delete');
      const { record } = await (await app.manager.protect({ projectId: 'p', admin: false }, p.id)).done;
      expect(record.status).to.equal('available');
      const r = await send('DELETE', `/v1/p/providers/${FS}/checkpoints/${record.id}`, '');
      expect(r.status, JSON.stringify(r.body)).to.equal(202);
      expect((await checkpoints()).map((c) => c.id)).to.not.include(record.id);
    });

    it('deletes a plan and cancels an operation with no body at all', async () => {
      const p = await plan('bodiless-plan');
      expect((await send('DELETE', `/v1/p/plans/${p.id}`)).status).to.equal(202);
      const cancel = await send('POST', `/v1/p/operations/${UNKNOWN}/cancel`);
      expect(cancel.body.code, 'the body is not what is wrong: the operation is unknown').to.equal('BWK_ERR_OPERATION_NOT_FOUND');
    });

    it('still refuses a malformed non-empty body with 400, and deletes nothing', async () => {
      const p = await plan('malformed');
      const r = await send('DELETE', `/v1/p/plans/${p.id}`, '{"oops": ');
      expect(r.status).to.equal(400);
      expect(r.body.code).to.equal('BWK_ERR_INVALID_INPUT');
      expect((await send('GET', `/v1/p/plans/${p.id}`)).status).to.equal(200);
    });

    it("refuses an empty body where one is required, with the schema's reason", async () => {
      const r = await send('POST', '/v1/p/plans', '');
      expect(r.status).to.equal(400);
      expect(r.body.code).to.equal('BWK_ERR_INVALID_INPUT');
      expect(r.body.message).to.match(/body/);
    });
  });

  it('answers 400 for an operation_logs marker it does not know, like every other list', async () => {
    const r = await send('GET', `/v1/p/operation_logs?marker=${UNKNOWN}`);
    expect(r.status, JSON.stringify(r.body)).to.equal(400);
    expect(r.body.code).to.equal('BWK_ERR_INVALID_INPUT');
    expect(r.body.message).to.contain(UNKNOWN);
  });

  it("refuses a protect under a provider that is not the plan's, and creates no checkpoint", async () => {
    const p = await plan('wrong-provider');
    const before = (await checkpoints()).length;
    const other = await send('POST', `/v1/p/providers/${NOOP}/checkpoints`, JSON.stringify({ checkpoint: { plan_id: p.id } }));
    expect(other.status, JSON.stringify(other.body)).to.equal(400);
    expect(other.body.code).to.equal('BWK_ERR_PROVIDER_MISMATCH');
    expect(other.body.message).to.contain(FS).and.to.contain(NOOP);
    const unknown = await send('POST', `/v1/p/providers/${UNKNOWN}/checkpoints`, JSON.stringify({ checkpoint: { plan_id: p.id } }));
    expect(unknown.body.code).to.equal('BWK_ERR_PROVIDER_NOT_FOUND');
    expect((await checkpoints()).length).to.equal(before);
    const noopList = (await send('GET', `/v1/p/providers/${NOOP}/checkpoints`)).body.checkpoints as unknown[];
    expect(noopList).to.deep.equal([]);
  });
});
