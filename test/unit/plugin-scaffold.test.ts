import { expect } from 'chai';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scaffoldPlugin } from '../../src/plugin-kit/scaffold.js';
import { expectCode } from './fs-plugin-helpers.js';

/**
 * `bulwark plugin new` refuses what it cannot use before writing anything. (That the package it
 * writes installs offline and passes its conformance test is test/e2e/plugin-tutorial.test.ts.)
 */
describe('plugin scaffold', () => {
  let root: string;
  beforeEach(() => (root = fs.mkdtempSync(join(tmpdir(), 'bwk-scaffold-'))));
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));
  const refused = (opts: Parameters<typeof scaffoldPlugin>[0]) =>
    expectCode(
      Promise.resolve().then(() => scaffoldPlugin(opts)),
      'BWK_ERR_INVALID_INPUT',
    );

  it('writes the package: plugin, schemas, provider file, conformance test, a lock of the tools', () => {
    const { dir, files } = scaffoldPlugin({ name: 'acme.note', dir: join(root, 'p') });
    expect(files).to.deep.equal([
      '.gitignore',
      '.mocharc.json',
      'README.md',
      'package-lock.json',
      'package.json',
      'provider.yaml',
      'src/index.ts',
      'test/conformance.test.ts',
      'tsconfig.json',
    ]);
    const pkg = JSON.parse(fs.readFileSync(join(dir, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    expect(pkg.devDependencies).to.have.keys('bulwark', 'typescript', 'mocha', '@types/mocha', '@types/node');
    expect(fs.readFileSync(join(dir, 'src', 'index.ts'), 'utf8')).to.include("export const TYPE = 'acme.note';");
    expect(fs.readFileSync(join(dir, 'provider.yaml'), 'utf8')).to.match(/- name: acme\.note\n {4}module: ".*\/p\/dist\/src\/index\.js"/);
    const lock = JSON.parse(fs.readFileSync(join(dir, 'package-lock.json'), 'utf8')) as { packages: Record<string, unknown> };
    expect(lock.packages).to.include.keys('node_modules/mocha', 'node_modules/typescript', 'node_modules/bulwark');
  });

  for (const [what, name] of [
    ['a path as name', '../evil'],
    ['uppercase', 'Acme.Note'],
    ['a control character', 'acme\u001bnote'],
    ['a built-in name', 'fs.directory'],
  ]) {
    it(`refuses ${what}, writing nothing`, async () => {
      await refused({ name: name!, dir: join(root, 'p') });
      expect(fs.readdirSync(root)).to.deep.equal([]);
    });
  }

  it('refuses a directory that is not empty, leaving it as it was', async () => {
    fs.writeFileSync(join(root, 'mine.txt'), 'keep');
    const err = await refused({ name: 'acme.note', dir: root });
    expect(err.message).to.include('is not empty');
    expect(fs.readdirSync(root)).to.deep.equal(['mine.txt']);
  });
});
