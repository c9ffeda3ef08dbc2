import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BulwarkApp } from '../../src/processes/app.js';
import { openApiApp } from '../helpers/api-app.js';
import { tempDir } from '../helpers/paths.js';
import { allowAll } from '../helpers/scopes.js';
import { waitFor } from '../helpers/wait.js';

const FS = 'cf56bd3e-97a7-4078-b6d5-f36246333fd9';

/**
 * Karbor's restore_target (another cloud to restore into) has no meaning here: a target is per
 * resource, in the restore parameters. A non-empty one is refused instead of silently ignored.
 */
describe('REST API restore_target', function () {
  this.timeout(60_000);
  const home = tempDir('api-restore-target');
  const work = tempDir('api-restore-target-work');
  let app: BulwarkApp;
  let api: FastifyInstance;
  let token = '';
  let checkpointId = '';

  const restore = async (body: Record<string, unknown>) => {
    const r = await api.inject({
      method: 'POST',
      url: '/v1/p/restores',
      headers: { 'x-auth-token': token, 'content-type': 'application/json' },
      payload: JSON.stringify({ restore: { checkpoint_id: checkpointId, ...body } }),
    });
    return { status: r.statusCode, body: JSON.parse(r.body) as Record<string, unknown> };
  };
  const restores = async () =>
    (
      JSON.parse((await api.inject({ method: 'GET', url: '/v1/p/restores', headers: { 'x-auth-token': token } })).body) as {
        restores: unknown[];
      }
    ).restores;

  before(async () => {
    const data = join(work.path, 'data');
    mkdirSync(data);
    writeFileSync(join(data, 'a.txt'), 'kept');
    allowAll(home.path, ['p']);
    ({ app, api } = await openApiApp(home.path));
    token = (await app.store.tokens.createToken({ project_id: 'p', role: 'member' })).token;
    const ctx = { projectId: 'p', admin: false };
    const plan = await app.manager.createPlan(ctx, { name: 'rt', provider_id: FS, resources: [{ id: data, type: 'fs.directory' }] });
    checkpointId = (await (await app.manager.protect(ctx, plan.id)).done).record.id;
  });
  after(async () => {
    await api?.close();
    await app?.close();
    home.cleanup();
    work.cleanup();
  });

  it('refuses a non-empty restore_target with a coded 400 that points at the restore parameters, and starts nothing', async () => {
    const r = await restore({ restore_target: 'http://other-cloud:5000/v3' });
    expect(r.status, JSON.stringify(r.body)).to.equal(400);
    expect(r.body.code).to.equal('BWK_ERR_RESTORE_TARGET_UNSUPPORTED');
    expect(r.body.message).to.contain('target_path').and.contain('http://other-cloud:5000/v3');
    expect(await restores()).to.deep.equal([]);
  });

  for (const unset of [null, '']) {
    it(`accepts restore_target ${JSON.stringify(unset)} (Karbor's client, when not given), restoring per the parameters`, async () => {
      const target = join(work.path, `restored-${unset === null ? 'null' : 'empty'}`);
      const r = await restore({ restore_target: unset, parameters: { 'fs.directory': { target_path: target } } });
      expect(r.status, JSON.stringify(r.body)).to.equal(202);
      const id = (r.body.restore as { id: string }).id;
      await waitFor('the restore to finish', async () => {
        const show = await api.inject({ method: 'GET', url: `/v1/p/restores/${id}`, headers: { 'x-auth-token': token } });
        const status = (JSON.parse(show.body) as { restore: { status: string } }).restore.status;
        return status === 'in_progress' ? undefined : status;
      });
      expect(existsSync(join(target, 'a.txt')) && readFileSync(join(target, 'a.txt'), 'utf8')).to.equal('kept');
    });
  }
});
