import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliJson } from '../helpers/cli.js';
import { REPO_ROOT, tempDir } from '../helpers/paths.js';

const EXAMPLE = join(REPO_ROOT, 'examples', 'plugin-git-bundle');
/** npm in the example, offline: the example's lock pins its tools to versions in Bulwark's own lock, so npm's cache holds them. */
const npm = (...args: string[]) =>
  spawnSync('npm', [...args, '--offline', '--no-audit', '--no-fund'], {
    cwd: EXAMPLE,
    encoding: 'utf8',
    env: { ...process.env, npm_config_offline: 'true' },
  });

/**
 * The worked third-party plugin in examples/plugin-git-bundle is its own package: it installs, passes
 * the conformance suite with its own `npm test`, and a provider file loads its build.
 */
describe('example third-party plugin: examples/plugin-git-bundle (example.git)', function () {
  this.timeout(600_000);

  it('installs and passes the conformance suite with its own npm test', () => {
    // ci, not install: it never rewrites the committed lock file.
    const install = npm('ci');
    expect(install.status, install.stderr).to.equal(0);
    const test = npm('test');
    expect(test.status, test.stdout + test.stderr).to.equal(0);
    expect(test.stdout).to.include('plugin conformance: example.git');
    expect(test.stdout).to.match(/\b8 passing\b/);
    expect(test.stdout).to.not.match(/failing/);
  });

  it('is loaded by a provider file naming its build', async () => {
    const home = tempDir('example-git');
    try {
      mkdirSync(join(home.path, 'providers'));
      const provider = readFileSync(join(EXAMPLE, 'provider.yaml'), 'utf8').replace(
        /module: .*/,
        `module: ${JSON.stringify(join(EXAMPLE, 'dist', 'src', 'index.js'))}`,
      );
      writeFileSync(join(home.path, 'providers', 'example-git.yaml'), provider);
      const shown = await cliJson<{ extended_info_schema: { restore_schema: object } }>(home.path, ['provider', 'show', 'example-git']);
      expect(shown.extended_info_schema.restore_schema).to.have.key('example.git');
    } finally {
      home.cleanup();
    }
  });
});
