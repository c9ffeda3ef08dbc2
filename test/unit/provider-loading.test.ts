import * as fs from 'node:fs';
import * as os from 'node:os';
import { dirname, join } from 'node:path';
import { expect } from 'chai';
import { silentLogger } from '../../src/common/logging.js';
import { ProviderRegistry } from '../../src/providers/registry.js';

const ID_A = '0a0a0a0a-1111-4222-8333-444444444444';
const ID_B = '0b0b0b0b-1111-4222-8333-444444444444';

/** Source of a plugin module written the way a third-party author would, against the public API only. */
function pluginSource(o: {
  name: string;
  apiVersion?: number;
  types?: string[];
  schema?: object;
  exportAs?: 'default' | 'plugin' | 'other';
}): string {
  const def = `{
  apiVersion: ${o.apiVersion ?? 1},
  name: ${JSON.stringify(o.name)},
  create(env) {
    const types = ${JSON.stringify(o.types ?? [])}.concat(env.options.extra_type ? [env.options.extra_type] : []);
    return { protection: {
      supportedResourceTypes: () => types,
      schemas: () => ({ options: ${JSON.stringify(o.schema ?? { type: 'object', properties: { level: { type: 'integer' } } })} }),
      getProtectOperation: () => ({}), getRestoreOperation: () => ({}),
      getVerifyOperation: () => ({}), getDeleteOperation: () => ({}),
    } };
  },
}`;
  const exportAs = o.exportAs ?? 'default';
  return exportAs === 'default' ? `export default ${def};\n` : `export const ${exportAs} = ${def};\n`;
}

/** A provider file; `plugins` are raw YAML lines so each test knows the line of what it breaks. */
const providerYaml = (plugins: string[], id = ID_A, name = 'test-provider'): string =>
  [`id: ${id}`, `name: ${name}`, 'plugins:', ...plugins, 'bank:', '  type: memory', ''].join('\n');

async function rejection(p: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await p;
  } catch (err) {
    return err as { code?: string; message: string };
  }
  throw new Error('expected a rejection');
}

describe('provider loading', () => {
  let root: string;
  const registries: ProviderRegistry[] = [];
  const put = (rel: string, text: string): string => {
    const file = join(root, rel);
    fs.mkdirSync(dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    return file;
  };
  const load = async (...dirs: string[]): Promise<ProviderRegistry> => {
    const reg = await ProviderRegistry.load({ home: root, logger: silentLogger, directories: dirs.map((d) => join(root, d)) });
    registries.push(reg);
    return reg;
  };

  beforeEach(() => {
    root = fs.mkdtempSync(join(os.tmpdir(), 'bwk-'));
  });
  afterEach(async () => {
    for (const r of registries.splice(0)) await r.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('loads a provider with a built-in plugin', async () => {
    put('providers/fs.yaml', providerYaml(['  - name: fs.directory'], ID_A.toUpperCase()));
    const reg = await load('providers', 'absent-dir');
    const p = reg.get(ID_A.toUpperCase());
    expect(p.id).to.equal(ID_A);
    expect(p.name).to.equal('test-provider');
    expect(p.description).to.equal('');
    expect([...p.protection.keys()]).to.deep.equal(['fs.directory']);
    expect(reg.protectable('fs.directory').resourceType()).to.equal('fs.directory');
    expect(reg.list().map((x) => x.id)).to.deep.equal([ID_A]);
    expect(() => reg.get(ID_B))
      .to.throw()
      .with.property('code', 'BWK_ERR_PROVIDER_NOT_FOUND');
  });

  it('loads a plugin from a file path relative to the provider file, passing its options', async () => {
    put('providers/plugins/hello.mjs', pluginSource({ name: 'hello', types: ['hello.world'] }));
    put('providers/p.yaml', providerYaml(['  - name: hello', '    module: ./plugins/hello.mjs', '    options: {extra_type: hello.extra}']));
    const p = (await load('providers')).get(ID_A);
    expect([...p.protection.keys()]).to.deep.equal(['hello.world', 'hello.extra']);
    expect(p.schemas('hello.world').options).to.deep.equal({ type: 'object', properties: { level: { type: 'integer' } } });
  });

  it('loads a plugin by npm package name from beside the provider file, and only from there', async () => {
    put(
      'a/node_modules/bulwark-plugin-hello/package.json',
      JSON.stringify({ name: 'bulwark-plugin-hello', type: 'module', main: './index.js', exports: './index.js' }),
    );
    put('a/node_modules/bulwark-plugin-hello/index.js', pluginSource({ name: 'hello', types: ['hello.pkg'], exportAs: 'plugin' }));
    put('a/p.yaml', providerYaml(['  - name: hello', '    module: bulwark-plugin-hello']));
    expect([...(await load('a')).get(ID_A).protection.keys()]).to.deep.equal(['hello.pkg']);

    const file = put('b/p.yaml', providerYaml(['  - name: hello', '    module: bulwark-plugin-hello']));
    const err = await rejection(load('b'));
    expect(err.code).to.equal('BWK_ERR_PLUGIN_LOAD_FAILED');
    expect(err.message).to.contain(`${file}:5`).and.to.contain('"bulwark-plugin-hello"');
  });

  describe('refuses, naming the file and line', () => {
    const expectRefusal = async (code: string, where: string, ...fragments: string[]): Promise<void> => {
      const err = await rejection(load('providers'));
      expect(err.code, err.message).to.equal(code);
      expect(err.message).to.contain(where);
      for (const f of fragments) expect(err.message).to.contain(f);
    };

    it('an unknown built-in plugin, listing the installed ones', async () => {
      const file = put('providers/p.yaml', providerYaml(['  - name: fs.directory', '  - name: fs.dirctory']));
      await expectRefusal('BWK_ERR_PLUGIN_NOT_INSTALLED', `${file}:5`, '"fs.dirctory" is not installed', 'installed: fs.directory, noop');
    });

    it('a plugin module that does not exist', async () => {
      const file = put('providers/p.yaml', providerYaml(['  - name: hello', '', '    module: ./nowhere.mjs']));
      await expectRefusal('BWK_ERR_PLUGIN_LOAD_FAILED', `${file}:6`, 'plugin module "./nowhere.mjs" could not be loaded');
    });

    it('a module that exports no plugin', async () => {
      put('providers/hello.mjs', pluginSource({ name: 'hello', exportAs: 'other' }));
      const file = put('providers/p.yaml', providerYaml(['  - name: hello', '    module: ./hello.mjs']));
      await expectRefusal('BWK_ERR_PLUGIN_LOAD_FAILED', `${file}:4`, 'exports no plugin');
    });

    it('a plugin written for another API version', async () => {
      put('providers/hello.mjs', pluginSource({ name: 'hello', apiVersion: 2 }));
      const file = put('providers/p.yaml', providerYaml(['  - name: fs.directory', '  - name: hello', '    module: ./hello.mjs']));
      await expectRefusal('BWK_ERR_PLUGIN_API_VERSION', `${file}:5`, 'has apiVersion 2, this Bulwark supports plugin API version 1');
    });

    it('a plugin that names no API version', async () => {
      put('providers/hello.mjs', pluginSource({ name: 'hello', apiVersion: 'undefined' as unknown as number }));
      const file = put('providers/p.yaml', providerYaml(['  - name: hello', '    module: ./hello.mjs']));
      await expectRefusal('BWK_ERR_PLUGIN_API_VERSION', `${file}:4`, 'has apiVersion null, this Bulwark supports plugin API version 1');
    });

    it('a plugin whose name differs from the provider entry', async () => {
      put('providers/hello.mjs', pluginSource({ name: 'hallo' }));
      const file = put('providers/p.yaml', providerYaml(['  - name: hello', '    module: ./hello.mjs']));
      await expectRefusal('BWK_ERR_PLUGIN_LOAD_FAILED', `${file}:4`, 'named "hallo", not "hello"');
    });

    it('a missing required field', async () => {
      const file = put('providers/p.yaml', providerYaml(['  - name: fs.directory', '  - module: ./x.mjs']));
      await expectRefusal('BWK_ERR_PROVIDER_INVALID', `${file}:5`, 'plugins[1]: missing required field "name"');
      put('providers/p.yaml', `id: ${ID_A}\nname: no-bank\nplugins:\n  - name: noop\n`);
      await expectRefusal('BWK_ERR_PROVIDER_INVALID', `${file}:1`, 'missing required field "bank"');
    });

    it('an unknown field', async () => {
      const file = put('providers/p.yaml', providerYaml(['  - name: fs.directory', '    option: {}']));
      await expectRefusal('BWK_ERR_PROVIDER_INVALID', `${file}:5`, 'plugins[0]: unknown field "option"');
    });

    it('an id that is not a UUID', async () => {
      const file = put('providers/p.yaml', `# comment\nname: x\nid: not-a-uuid\nplugins:\n  - name: noop\nbank: {type: memory}\n`);
      await expectRefusal('BWK_ERR_PROVIDER_INVALID', `${file}:3`, 'id: must match pattern');
    });

    it('a plugin listed twice', async () => {
      const file = put('providers/p.yaml', providerYaml(['  - name: noop', '  - name: fs.directory', '  - name: noop']));
      await expectRefusal('BWK_ERR_PROVIDER_INVALID', `${file}:6`, 'plugin "noop" is listed twice (first at plugins[0])');
    });

    it('two provider files with the same id, naming both', async () => {
      const first = put('providers/a.yaml', providerYaml(['  - name: noop'], ID_A, 'first'));
      const second = put('providers/b.yaml', providerYaml(['  - name: fs.directory'], ID_A.toUpperCase(), 'second'));
      await expectRefusal('BWK_ERR_PROVIDER_INVALID', `${second}:1`, `id ${ID_A} is already used by ${first}`);
    });

    it('two plugins protecting one resource type', async () => {
      put('providers/dup.mjs', pluginSource({ name: 'dup', types: ['other.type', 'fs.directory'] }));
      const file = put('providers/p.yaml', providerYaml(['  - name: fs.directory', '  - name: dup', '    module: ./dup.mjs']));
      await expectRefusal('BWK_ERR_PROVIDER_INVALID', `${file}:5`, 'two plugins protect resource type "fs.directory"');
    });

    it('a plugin whose schema does not compile', async () => {
      put(
        'providers/bad.mjs',
        pluginSource({ name: 'bad', types: ['bad.type'], schema: { type: 'object', properties: { level: { type: 'integr' } } } }),
      );
      put('providers/p.yaml', providerYaml(['  - name: bad', '    module: ./bad.mjs']));
      const err = await rejection(load('providers'));
      expect(err.code).to.equal('BWK_ERR_PLUGIN_INVALID');
      expect(err.message).to.contain('plugin bad: options schema of bad.type does not compile');
    });

    it('a YAML syntax error', async () => {
      const file = put('providers/p.yaml', `id: ${ID_A}\nname: x\nplugins:\n  - name: noop\n bank: {type: memory}\n`);
      await expectRefusal('BWK_ERR_PROVIDER_INVALID', `${file}:5`, 'YAML syntax');
    });
  });

  it('collects options, restore, saved_info and verify schemas per resource type', async () => {
    put('providers/hello.mjs', pluginSource({ name: 'hello', types: ['hello.world'] }));
    put('providers/p.yaml', providerYaml(['  - name: hello', '    module: ./hello.mjs', '  - name: fs.directory']));
    const info = (await load('providers')).get(ID_A).extendedInfoSchema();
    expect(Object.keys(info).sort()).to.deep.equal(['options_schema', 'restore_schema', 'saved_info_schema', 'verify_schema']);
    expect(Object.keys(info.options_schema)).to.deep.equal(['fs.directory', 'hello.world']);
    expect(Object.keys(info.restore_schema)).to.deep.equal(['fs.directory']);
    expect(Object.keys(info.saved_info_schema)).to.deep.equal(['fs.directory']);
    expect(Object.keys(info.verify_schema)).to.deep.equal(['fs.directory']);
    const restore = info.restore_schema['fs.directory'] as { properties: Record<string, { enum?: string[]; type?: string }> };
    expect(restore.properties['target_path']?.type).to.equal('string');
    expect(restore.properties['conflict']?.enum).to.deep.equal(['fail', 'skip', 'overwrite']);
  });
});
