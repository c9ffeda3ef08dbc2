import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { silentLogger } from '../../src/common/logging.js';
import type { Resource } from '../../src/plugins/api.js';
import { resolveParameters, validateParameters } from '../../src/providers/parameters.js';
import type { ParameterKind } from '../../src/providers/parameters.js';
import { ProviderRegistry } from '../../src/providers/registry.js';
import type { Provider } from '../../src/providers/registry.js';
import { RECORDER_PLUGIN } from '../helpers/paths.js';

const PROVIDER_ID = '7a7a7a7a-0000-4000-8000-000000000001';

/** A plugin with a nested default and only an options schema: what the recorder and fs.directory lack. */
const NESTED_PLUGIN = `export default {
  apiVersion: 1,
  name: 'test.nested',
  create: () => ({ protection: {
    supportedResourceTypes: () => ['test.nested'],
    schemas: () => ({ options: { type: 'object', additionalProperties: false, properties: {
      compression: { type: 'object', additionalProperties: false, properties: { level: { type: 'integer', default: 6 } } },
    } } }),
    getProtectOperation: () => ({}), getRestoreOperation: () => ({}), getVerifyOperation: () => ({}), getDeleteOperation: () => ({}),
  } }),
};
`;

const rec = (id: string): Resource => ({ type: 'test.recorder', id, name: id });
const dir = (path: string): Resource => ({ type: 'fs.directory', id: path, name: path });

function thrown(fn: () => unknown): { code?: string; message: string; details?: Record<string, unknown> } {
  try {
    fn();
  } catch (err) {
    return err as { code?: string; message: string; details?: Record<string, unknown> };
  }
  throw new Error('expected an error');
}

describe('plan, restore and verify parameters', () => {
  let root: string;
  let registry: ProviderRegistry;
  let provider: Provider;

  before(async () => {
    root = fs.mkdtempSync(join(os.tmpdir(), 'bwk-'));
    fs.mkdirSync(join(root, 'providers'));
    fs.writeFileSync(join(root, 'providers', 'nested.mjs'), NESTED_PLUGIN);
    fs.writeFileSync(
      join(root, 'providers', 'p.yaml'),
      [
        `id: ${PROVIDER_ID}`,
        'name: params',
        'plugins:',
        '  - name: test.recorder',
        `    module: ${JSON.stringify(RECORDER_PLUGIN)}`,
        '  - name: fs.directory',
        '  - name: test.nested',
        '    module: ./nested.mjs',
        'bank: {type: memory}',
        '',
      ].join('\n'),
    );
    registry = await ProviderRegistry.load({ home: root, logger: silentLogger, directories: [join(root, 'providers')] });
    provider = registry.get(PROVIDER_ID);
  });
  after(async () => {
    await registry.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  const invalid = (kind: ParameterKind, resources: Resource[], parameters: unknown) =>
    thrown(() => validateParameters(kind, provider, resources, parameters));

  it('merges type-level and resource-specific parameters, the resource-specific ones winning', () => {
    const params = { 'test.recorder': { delay_ms: 5, retryable: false }, 'test.recorder#b': { retryable: true, fail_times: 1 } };
    validateParameters('plan', provider, [rec('a'), rec('b')], params);
    expect(resolveParameters('plan', provider, rec('a'), params)).to.deep.equal({ delay_ms: 5, retryable: false });
    expect(resolveParameters('plan', provider, rec('b'), params)).to.deep.equal({ delay_ms: 5, retryable: true, fail_times: 1 });
    expect(resolveParameters('plan', provider, rec('c'), {})).to.deep.equal({});
  });

  it('fills schema defaults into what a hook receives', () => {
    const params = { 'fs.directory': { conflict: 'skip' }, 'fs.directory#/srv/b': { target_path: '/restore/b' } };
    expect(resolveParameters('restore', provider, dir('/srv/a'), params)).to.deep.equal({
      conflict: 'skip',
      restore_owner: true,
      on_not_restored: 'warn',
    });
    expect(resolveParameters('restore', provider, dir('/srv/b'), params)).to.deep.equal({
      conflict: 'skip',
      restore_owner: true,
      on_not_restored: 'warn',
      target_path: '/restore/b',
    });
  });

  it('refuses a value outside an enum, naming the key and the field', () => {
    const err = invalid('plan', [rec('a')], { 'test.recorder#a': { fail_hook: 'mian' } });
    expect(err.code).to.equal('BWK_ERR_PARAMETERS_INVALID');
    expect(err.message).to.contain('plan parameters for "test.recorder#a"').and.to.contain('fail_hook: must be one of "prepare_begin"');
  });

  it('refuses a value of the wrong type, naming the key and the field', () => {
    const err = invalid('restore', [dir('/srv')], { 'fs.directory': { restore_owner: 'yes' } });
    expect(err.code).to.equal('BWK_ERR_PARAMETERS_INVALID');
    expect(err.message).to.contain('restore parameters for "fs.directory"').and.to.contain('restore_owner: must be boolean');
    const recorder = invalid('verify', [rec('a')], { 'test.recorder': { delay_ms: '5' } });
    expect(recorder.message).to.contain('"test.recorder"').and.to.contain('delay_ms: must be integer');
  });

  it('refuses an unknown field, naming the key and the field', () => {
    const err = invalid('plan', [rec('a')], { 'test.recorder': { delya_ms: 1 } });
    expect(err.code).to.equal('BWK_ERR_PARAMETERS_INVALID');
    expect(err.message).to.contain('"test.recorder"').and.to.contain('unknown field "delya_ms"');
  });

  it('validates a type-level key when the plan has no resource of that type yet', () => {
    const err = invalid('plan', [], { 'test.recorder': { delay_ms: -1 } });
    expect(err.code).to.equal('BWK_ERR_PARAMETERS_INVALID');
    expect(err.message).to.contain('delay_ms: must be >= 0');
  });

  it('validates a resource key even for a resource beyond the listed ones', () => {
    const err = invalid('plan', [rec('a')], { 'test.recorder#deep-child': { fail_times: 1.5 } });
    expect(err.code).to.equal('BWK_ERR_PARAMETERS_INVALID');
    expect(err.message).to.contain('"test.recorder#deep-child"').and.to.contain('fail_times: must be integer');
  });

  it('refuses a key for a type the provider does not protect, listing the expected types', () => {
    for (const key of ['fs.dirctory', 'postgres.database#db1']) {
      const err = invalid('plan', [rec('a')], { [key]: {} });
      expect(err.code, key).to.equal('BWK_ERR_PARAMETERS_KEY_UNKNOWN');
      expect(err.message).to.contain(`"${key}"`).and.to.contain('for: fs.directory, test.nested, test.recorder');
    }
  });

  it('refuses values that are not objects, and parameters that are not an object', () => {
    for (const params of [{ 'test.recorder': 5 }, { 'test.recorder#a': [1] }, { 'test.recorder': null }]) {
      const err = invalid('plan', [rec('a')], params);
      expect(err.code).to.equal('BWK_ERR_PARAMETERS_INVALID');
      expect(err.message).to.contain('must be a JSON object');
    }
    for (const params of [[], 'x', null]) {
      const err = invalid('plan', [rec('a')], params);
      expect(err.code).to.equal('BWK_ERR_PARAMETERS_INVALID');
      expect(err.message).to.contain('"(all)"');
    }
  });

  it('accepts only empty parameters where the plugin declares no schema for the kind', () => {
    expect(() =>
      validateParameters('restore', provider, [{ type: 'test.nested', id: 'n', name: 'n' }], { 'test.nested': {} }),
    ).not.to.throw();
    const err = invalid('restore', [{ type: 'test.nested', id: 'n', name: 'n' }], { 'test.nested': { compression: {} } });
    expect(err.code).to.equal('BWK_ERR_PARAMETERS_INVALID');
    expect(err.message).to.contain('declares no restore schema');
  });

  it("does not mutate its input; defaults land only in resolveParameters' copy", () => {
    const nested = { type: 'test.nested', id: 'n', name: 'n' };
    const params = { 'test.nested': { compression: {} }, 'fs.directory': {}, 'fs.directory#/srv': { target_path: '/r' } };
    const before = structuredClone(params);
    validateParameters('plan', provider, [nested], { 'test.nested': params['test.nested'] });
    validateParameters('restore', provider, [dir('/srv'), dir('/other')], {
      'fs.directory': params['fs.directory'],
      'fs.directory#/srv': params['fs.directory#/srv'],
    });
    validateParameters('restore', provider, [], { 'fs.directory': params['fs.directory'] });
    expect(params).to.deep.equal(before);

    expect(resolveParameters('plan', provider, nested, { 'test.nested': params['test.nested'] })).to.deep.equal({
      compression: { level: 6 },
    });
    expect(params).to.deep.equal(before);
  });
});
