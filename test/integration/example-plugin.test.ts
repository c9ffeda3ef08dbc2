import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openBulwark } from '../../src/processes/app.js';
import type { BulwarkApp } from '../../src/processes/app.js';
import { REPO_ROOT, tempDir } from '../helpers/paths.js';

/** The plugin shown in docs/plugin-authoring.md works as documented, loaded by path from a provider file. */
describe('docs example plugin (examples/plugins/single-file.mjs)', function () {
  this.timeout(30_000);
  const home = tempDir('example');
  const ctx = { projectId: 'default', admin: false };
  const file = join(home.path, 'data', 'db.dump');
  let app: BulwarkApp;

  before(async () => {
    mkdirSync(join(home.path, 'providers'));
    mkdirSync(join(home.path, 'data'));
    writeFileSync(file, randomBytes(300_000));
    writeFileSync(
      join(home.path, 'providers', 'files.yaml'),
      [
        'id: 0e8a1b52-5d2c-4d8e-9a55-3f1c2b7e9d10',
        'name: files',
        'plugins:',
        '  - name: example.file',
        `    module: ${JSON.stringify(join(REPO_ROOT, 'examples', 'plugins', 'single-file.mjs'))}`,
        'bank:',
        '  type: fs',
        '',
      ].join('\n'),
    );
    app = await openBulwark(home.path);
  });
  after(async () => {
    await app.close();
    if (!process.env.KEEP) home.cleanup();
    else console.log(home.path);
  });

  it('lists, protects, verifies and restores a file', async () => {
    const listed = await app.manager.protectables.instances(ctx, 'example.file', { directory: join(home.path, 'data') });
    expect(listed.map((r) => r.id)).to.deep.equal([file]);
    const plan = await app.manager.createPlan(ctx, {
      name: 'files',
      provider_id: '0e8a1b52-5d2c-4d8e-9a55-3f1c2b7e9d10',
      resources: [{ type: 'example.file', id: file }],
    });
    const cp = (await (await app.manager.protect(ctx, plan.id)).done).record;
    expect(cp.status).to.equal('available');
    expect((await (await app.manager.verify(ctx, { checkpoint_id: cp.id })).done).record.status).to.equal('success');
    const target = join(home.path, 'data', 'restored.dump');
    const restore = (
      await (
        await app.manager.restore(ctx, { checkpoint_id: cp.id, parameters: { 'example.file': { target_path: target } } })
      ).done
    ).record;
    expect(restore.status).to.equal('success');
    expect(readFileSync(target).equals(readFileSync(file))).to.equal(true);
    const again = (
      await (
        await app.manager.restore(ctx, { checkpoint_id: cp.id, parameters: { 'example.file': { target_path: target } } })
      ).done
    ).record;
    expect(again.status).to.equal('fail');
    expect(Object.values(again.resources_reason).join()).to.match(/BWK_ERR_RESTORE_CONFLICT/);
  });

  it('exposes its schemas in the provider extended_info_schema and enforces them', async () => {
    const schema = (await app.manager.showProvider(ctx, '0e8a1b52-5d2c-4d8e-9a55-3f1c2b7e9d10')).extended_info_schema;
    expect(Object.keys(schema.restore_schema)).to.deep.equal(['example.file']);
    expect(Object.keys(schema.saved_info_schema)).to.deep.equal(['example.file']);
    const [cp] = await app.manager.listCheckpoints(ctx, {});
    const err = await app.manager.restore(ctx, { checkpoint_id: cp!.id, parameters: { 'example.file': { overwrite: 'yes' } } }).then(
      () => null,
      (e: { code: string }) => e.code,
    );
    expect(err).to.equal('BWK_ERR_PARAMETERS_INVALID');
  });
});
