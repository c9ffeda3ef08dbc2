import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BulwarkApp } from '../../src/processes/app.js';
import { openApiApp } from '../helpers/api-app.js';
import { tempDir } from '../helpers/paths.js';
import { allowAll } from '../helpers/scopes.js';

const FS = 'cf56bd3e-97a7-4078-b6d5-f36246333fd9';
const deepArray = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

/** Hostile or mistaken requests: each is a coded 400 and creates nothing. */
describe('REST API bad input', function () {
  this.timeout(30_000);
  const home = tempDir('api-bad');
  const data = join(home.path, 'data');
  let app: BulwarkApp;
  let api: FastifyInstance;
  let token = '';

  const post = async (url: string, payload: string | object, contentType = 'application/json') => {
    const r = await api.inject({
      method: 'POST',
      url,
      headers: { 'x-auth-token': token, 'content-type': contentType },
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    });
    return { status: r.statusCode, body: JSON.parse(r.body) as { code: string; message: string } };
  };
  const plans = async () =>
    (JSON.parse((await api.inject({ method: 'GET', url: '/v1/p/plans', headers: { 'x-auth-token': token } })).body) as { plans: unknown[] })
      .plans;
  const good = () => ({ plan: { name: 'ok', provider_id: FS, resources: [{ id: data, type: 'fs.directory' }] } });

  before(async () => {
    mkdirSync(data);
    allowAll(home.path, ['p']);
    ({ app, api } = await openApiApp(home.path));
    token = (await app.store.tokens.createToken({ project_id: 'p', role: 'member' })).token;
  });
  after(async () => {
    await api?.close();
    await app?.close();
    home.cleanup();
  });

  const cases: Array<[string, () => Promise<{ status: number; body: { code: string; message: string } }>, string, RegExp]> = [
    ['malformed JSON', () => post('/v1/p/plans', '{"plan": {"name": '), 'BWK_ERR_INVALID_INPUT', /not valid JSON/],
    ['unknown top-level field', () => post('/v1/p/plans', { ...good(), extra: 1 }), 'BWK_ERR_INVALID_INPUT', /unknown field "extra"/],
    [
      'unknown nested field',
      () => post('/v1/p/plans', { plan: { ...good().plan, colour: 'blue' } }),
      'BWK_ERR_INVALID_INPUT',
      /unknown field "colour"/,
    ],
    [
      'wrong type',
      () => post('/v1/p/plans', { plan: { ...good().plan, name: 42 } }),
      'BWK_ERR_INVALID_INPUT',
      /plan\.name: must be string/,
    ],
    [
      'number as a string is not coerced',
      () => post('/v1/p/plans', { plan: { ...good().plan, resources: 'fs.directory' } }),
      'BWK_ERR_INVALID_INPUT',
      /resources: must be array/,
    ],
    [
      'oversized body',
      () => post('/v1/p/plans', { plan: { ...good().plan, description: 'x'.repeat(20_000) } }),
      'BWK_ERR_BODY_TOO_LARGE',
      /larger than 16384 bytes/,
    ],
    [
      'unknown provider',
      () => post('/v1/p/plans', { plan: { ...good().plan, provider_id: '0f0f0f0f-0000-4000-8000-000000000000' } }),
      'BWK_ERR_PROVIDER_UNKNOWN',
      /known providers/,
    ],
    [
      'provider id that is not a UUID',
      () => post('/v1/p/plans', { plan: { ...good().plan, provider_id: 'fs-directory' } }),
      'BWK_ERR_INVALID_INPUT',
      /provider_id/,
    ],
    [
      'unknown resource type',
      () => post('/v1/p/plans', { plan: { ...good().plan, resources: [{ id: data, type: 'fs.dir' }] } }),
      'BWK_ERR_RESOURCE_TYPE_UNKNOWN',
      /fs\.dir/,
    ],
    [
      'parameters violating the plugin schema',
      () => post('/v1/p/plans', { plan: { ...good().plan, parameters: { 'fs.directory': { exclude: 'x' } } } }),
      'BWK_ERR_PARAMETERS_INVALID',
      /exclude/,
    ],
    [
      // Issue 14: parsed, then walked recursively until the stack overflowed, answering a raw 500.
      '5,000-deep JSON in a plan body',
      () => post('/v1/p/plans', `{"plan": {"name": "ok", "parameters": {"fs.directory": {"exclude": ${deepArray(5000)}}}}}`),
      'BWK_ERR_JSON_TOO_DEEP',
      /more than 64 levels deep/,
    ],
    [
      '5,000-deep JSON in a restore body',
      () =>
        post('/v1/p/restores', `{"restore": {"checkpoint_id": "0f0f0f0f-0000-4000-8000-000000000000", "parameters": ${deepArray(5000)}}}`),
      'BWK_ERR_JSON_TOO_DEEP',
      /more than 64 levels deep/,
    ],
    ['not JSON at all', () => post('/v1/p/plans', 'name=ok', 'application/x-www-form-urlencoded'), 'BWK_ERR_INVALID_INPUT', /JSON/],
    [
      'credentials in a restore body',
      () => post('/v1/p/restores', { restore: { checkpoint_id: '0f0f0f0f-0000-4000-8000-000000000000', restore_auth: { password: 'x' } } }),
      'BWK_ERR_INVALID_INPUT',
      /restore_auth/,
    ],
  ];
  for (const [what, send, code, message] of cases) {
    it(`${what} → 400 ${code}, nothing created`, async () => {
      const r = await send();
      expect(r.status, JSON.stringify(r.body)).to.equal(400);
      expect(r.body.code).to.equal(code);
      expect(r.body.message).to.match(message);
      expect(await plans()).to.deep.equal([]);
    });
  }

  it('refuses deep JSON in the listing parameters of a query with a coded 400 too', async () => {
    const parameters = encodeURIComponent(`{"path": ${deepArray(2000)}}`);
    const r = await api.inject({
      method: 'GET',
      url: `/v1/p/protectables/fs.directory/instances?parameters=${parameters}`,
      headers: { 'x-auth-token': token },
    });
    expect(r.statusCode, r.body).to.equal(400);
    expect((JSON.parse(r.body) as { code: string }).code).to.equal('BWK_ERR_JSON_TOO_DEEP');
  });

  it('accepts JSON nested up to the limit, and brackets inside strings do not count', async () => {
    // The body, plan, parameters and fs.directory objects are 4 levels: 60 arrays inside make exactly 64.
    const exclude = `${'['.repeat(60)}"[[[[{{{{\\"["${']'.repeat(60)}`;
    const resources = JSON.stringify([{ id: data, type: 'fs.directory' }]);
    const parameters = `{"fs.directory": {"exclude": ${exclude}}}`;
    const body = `{"plan": {"name": "deep-ok", "provider_id": "${FS}", "resources": ${resources}, "parameters": ${parameters}}}`;
    const r = await post('/v1/p/plans', body);
    expect(r.body.code, 'not refused for its depth').to.not.equal('BWK_ERR_JSON_TOO_DEEP');
    expect(r.status, 'the plugin schema refuses nested arrays: a coded 400 from validation, not from the depth limit').to.equal(400);
    expect(r.body.code).to.equal('BWK_ERR_PARAMETERS_INVALID');
    const one = await post(
      '/v1/p/plans',
      body.replace(`${'['.repeat(60)}`, `${'['.repeat(61)}`).replace(`${']'.repeat(60)}`, `${']'.repeat(61)}`),
    );
    expect(one.body.code).to.equal('BWK_ERR_JSON_TOO_DEEP');
    expect(await plans()).to.deep.equal([]);
  });

  it('a valid plan is accepted (the cases above differ from it in one thing each)', async () => {
    expect((await post('/v1/p/plans', good())).status).to.equal(200);
    expect(await plans()).to.have.length(1);
  });

  it('serves Karbor shapes for protectables, an id with slashes in the path, and the OpenAPI reference', async () => {
    const get = async (url: string) =>
      JSON.parse((await api.inject({ method: 'GET', url, headers: { 'x-auth-token': token } })).body) as Record<string, unknown>;
    expect((await get('/v1/p/protectables')).protectable_type).to.include('fs.directory');
    expect(((await get('/v1/p/protectables/fs.directory')).protectable_type as { name: string }).name).to.equal('fs.directory');
    expect(((await get(`/v1/p/protectables/fs.directory/instances/${data}`)).instance as { id: string }).id).to.equal(data);
    const doc = JSON.parse((await api.inject({ method: 'GET', url: '/openapi.json' })).body) as { paths: Record<string, unknown> };
    expect(doc.paths).to.include.keys(
      '/v1/{project_id}/plans',
      '/v1/{project_id}/providers/{provider_id}/checkpoints',
      '/v1/{project_id}/protectables/{type}/instances/{resource_id}',
    );
    const html = (await api.inject({ method: 'GET', url: '/docs' })).body;
    expect(html).to.include('POST /v1/{project_id}/restores');
  });
});
