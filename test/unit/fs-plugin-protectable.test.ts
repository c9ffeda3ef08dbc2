import * as fs from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { compileSchema } from '../../src/common/schema.js';
import { PLUGIN_API_VERSION } from '../../src/plugins/api.js';
import type { ProtectablePlugin, ProtectableContext, ProtectionPlugin } from '../../src/plugins/api.js';
import { fsDirectoryPlugin } from '../../src/plugins/fs/index.js';
import { TempDirs, dirResource, expectCode, loadPlugin } from './fs-plugin-helpers.js';

const ctx = (parameters: Record<string, unknown> = {}): ProtectableContext => ({ projectId: 'project-test', parameters });

describe('fs.directory plugin: definition and protectable', function () {
  const temps = new TempDirs();
  let protectable: ProtectablePlugin;
  let protection: ProtectionPlugin;
  let root: string;

  before(async () => {
    ({ protectable, protection } = await loadPlugin());
  });

  beforeEach(() => {
    root = temps.make();
    fs.mkdirSync(join(root, 'beta'));
    fs.mkdirSync(join(root, 'alpha'));
    fs.mkdirSync(join(root, 'été'));
    fs.writeFileSync(join(root, 'file.txt'), 'not a directory');
    fs.symlinkSync(join(root, 'alpha'), join(root, 'link-to-alpha'));
    fs.mkdirSync(Buffer.concat([Buffer.from(`${root}/`), Buffer.from([0xff, 0xfe])]));
  });

  afterEach(() => temps.cleanup());

  it('is a PluginDefinition of the current API version whose schemas compile and apply defaults', () => {
    expect(fsDirectoryPlugin).to.include({ name: 'fs.directory', apiVersion: PLUGIN_API_VERSION });
    expect(protection.supportedResourceTypes()).to.deep.equal(['fs.directory']);
    expect(protectable.resourceType()).to.equal('fs.directory');
    const schemas = protection.schemas('fs.directory');
    const params: Record<string, unknown> = { target_path: '/srv/x' };
    expect(compileSchema(schemas.restore!)(params)).to.equal(true);
    expect(params).to.deep.equal({ target_path: '/srv/x', conflict: 'fail', restore_owner: true, on_not_restored: 'warn' });
    expect(compileSchema(schemas.restore!)({ on_not_restored: 'ignore' })).to.equal(false);
    expect(compileSchema(schemas.restore!)({ xattrs: { skip_namespaces: ['trusted'] } })).to.equal(true);
    const options: Record<string, unknown> = {};
    expect(compileSchema(schemas.options!)(options)).to.equal(true);
    expect(options).to.deep.equal({ on_unreadable: 'warn' });
    expect(compileSchema(schemas.options!)({ on_unreadable: 'skip' })).to.equal(false);
    expect(compileSchema(schemas.options!)({ xattrs: { skip_namespaces: ['security', 'system'] } })).to.equal(true);
    expect(compileSchema(schemas.options!)({ xattrs: { skip_namespaces: ['bogus'] } })).to.equal(false);
    expect(compileSchema(schemas.restore!)({ target_path: 'relative' })).to.equal(false);
    expect(compileSchema(schemas.restore!)({ conflict: 'merge' })).to.equal(false);
    expect(compileSchema(schemas.options!)({ exclude: ['cache'] })).to.equal(true);
    expect(compileSchema(schemas.options!)({ include: ['cache'] })).to.equal(false);
    expect(compileSchema(schemas.verify!)({})).to.equal(true);
    expect(compileSchema(schemas.verify!)({ deep: true })).to.equal(false);
    expect(compileSchema(protectable.listParametersSchema!())({})).to.equal(false);
  });

  it('lists the directories directly under a path, sorted, leaving out files, symlinks and non-UTF-8 names', async () => {
    const listed = await protectable.listResources(ctx({ path: root }));
    expect(listed).to.deep.equal(['alpha', 'beta', 'été'].map((n) => dirResource(join(root, n))));
    expect(listed[0]).to.deep.equal({ type: 'fs.directory', id: join(root, 'alpha'), name: 'alpha' });
  });

  it('refuses to list a path that is missing, a file or relative', async () => {
    const missing = await expectCode(protectable.listResources(ctx({ path: join(root, 'nope') })), 'BWK_ERR_INVALID_INPUT');
    expect(missing.message).to.contain('does not exist');
    const file = await expectCode(protectable.listResources(ctx({ path: join(root, 'file.txt') })), 'BWK_ERR_INVALID_INPUT');
    expect(file.message).to.contain('not a directory');
    await expectCode(protectable.listResources(ctx({ path: 'relative/dir' })), 'BWK_ERR_INVALID_INPUT');
  });

  it('shows an existing directory by its absolute path', async () => {
    expect(await protectable.showResource(ctx(), join(root, 'été'))).to.deep.equal({
      type: 'fs.directory',
      id: join(root, 'été'),
      name: 'été',
    });
    expect(await protectable.showResource(ctx(), '/')).to.deep.equal({ type: 'fs.directory', id: '/', name: '/' });
  });

  it('answers BWK_ERR_RESOURCE_NOT_FOUND with the reason for ids that are not directories', async () => {
    const reasons: [string, string][] = [
      ['relative/path', 'absolute'],
      [`${root}/alpha/`, 'normalized'],
      [`${root}/beta/../alpha`, 'normalized'],
      [join(root, 'nope'), 'does not exist'],
      [join(root, 'file.txt', 'below'), 'does not exist'],
      [join(root, 'file.txt'), 'not a directory'],
    ];
    for (const [id, reason] of reasons) {
      const err = await expectCode(protectable.showResource(ctx(), id), 'BWK_ERR_RESOURCE_NOT_FOUND');
      expect(err.message).to.contain(id).and.contain(reason);
    }
  });

  it('has no parents and no dependents', async () => {
    expect(protectable.parentResourceTypes()).to.deep.equal([]);
    expect(await protectable.dependentResources(ctx(), dirResource(root))).to.deep.equal([]);
  });
});
