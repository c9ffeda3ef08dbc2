import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import type { BulwarkApp } from '../../src/processes/app.js';
import { openApiApp } from '../helpers/api-app.js';
import { tempDir } from '../helpers/paths.js';
import { allowAll } from '../helpers/scopes.js';

const UUID = '0f0f0f0f-0000-4000-8000-000000000000';
/** A value for each path parameter other than the project: well-formed, so only the project id is wrong. */
const VALUES: Record<string, string> = { id: UUID, provider_id: UUID, type: 'fs.directory', resource_id: '/srv' };

/**
 * The project id's format is checked on every /v1/{project_id} route — all routes the API registers,
 * read from its own OpenAPI document — with an admin token, which may otherwise name any project.
 */
describe('REST API project id format on every route', function () {
  this.timeout(60_000);
  const home = tempDir('api-project-id');
  let app: BulwarkApp;
  let api: FastifyInstance;
  let admin = '';

  before(async () => {
    allowAll(home.path, ['ops']);
    ({ app, api } = await openApiApp(home.path));
    admin = (await app.store.tokens.createToken({ project_id: 'ops', role: 'admin' })).token;
  });
  after(async () => {
    await api?.close();
    await app?.close();
    home.cleanup();
  });

  it('refuses a malformed project id with a coded 400 on each route, and lists them all', async () => {
    const doc = JSON.parse((await api.inject({ method: 'GET', url: '/openapi.json' })).body) as { paths: Record<string, object> };
    const routes = Object.entries(doc.paths)
      .filter(([path]) => path.startsWith('/v1/{project_id}/'))
      .flatMap(([path, methods]) => Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path })));
    expect(routes.length, 'routes found').to.be.greaterThan(20);
    const accepted: string[] = [];
    for (const { method, path } of routes) {
      const url = path
        .replace('{project_id}', encodeURIComponent('bad$project!'))
        .replace(/\{([a-z_]+)\}/g, (_, name: string) => VALUES[name] ?? 'x');
      const r = await api.inject({
        method: method as 'GET',
        url,
        headers: { 'x-auth-token': admin, 'content-type': 'application/json' },
        ...(method === 'POST' || method === 'PUT' ? { payload: '{}' } : {}),
      });
      const body = JSON.parse(r.body === '' ? '{}' : r.body) as { code?: string; message?: string };
      if (r.statusCode !== 400 || body.code !== 'BWK_ERR_INVALID_INPUT' || !/project_id/.test(body.message ?? ''))
        accepted.push(`${method} ${path} → ${r.statusCode} ${r.body.slice(0, 120)}`);
    }
    expect(accepted, 'routes that did not refuse the project id').to.deep.equal([]);
  });
});
