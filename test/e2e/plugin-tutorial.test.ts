import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, REPO_ROOT, tempDir } from '../helpers/paths.js';

/** The commands of docs/plugin-authoring.md's walk-through, exactly as the page shows them. */
function tutorialScript(): string {
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'plugin-authoring.md'), 'utf8');
  const block = /<!-- tutorial:begin -->\n```sh\n([\s\S]*?)```\n<!-- tutorial:end -->/.exec(doc);
  if (block === null) throw new Error('docs/plugin-authoring.md has no tutorial block');
  return block[1]!;
}

/**
 * The plugin tutorial runs as written: `bulwark plugin new` writes a package whose `npm install` and
 * `npm test` pass out of the box (the conformance suite against its trivial fixture), and a provider
 * using it protects, verifies and restores a file through the CLI. npm runs offline: the scaffold's
 * lock pins its tools to versions in Bulwark's own lock, which npm's cache holds.
 */
describe('docs/plugin-authoring.md walk-through', function () {
  this.timeout(600_000);

  it('runs as written, from plugin new to a restore through a provider using the plugin', () => {
    const work = tempDir('plugin-tutorial');
    try {
      // `bulwark` on PATH is this build, as `npm link` would make it.
      const bin = join(work.path, 'bin');
      mkdirSync(bin);
      writeFileSync(join(bin, 'bulwark'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} "$@"\n`);
      chmodSync(join(bin, 'bulwark'), 0o755);
      writeFileSync(join(work.path, 'tutorial.sh'), tutorialScript());
      const run = spawnSync('bash', ['-euo', 'pipefail', join(work.path, 'tutorial.sh')], {
        cwd: work.path,
        encoding: 'utf8',
        env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, npm_config_offline: 'true', BULWARK_HOME: '' },
      });
      expect(run.status, `${run.stdout}\n${run.stderr}`).to.equal(0);
      expect(run.stdout).to.include('plugin conformance: acme.note');
      expect(run.stdout).to.match(/\b8 passing\b/);
      expect(run.stdout).to.not.match(/failing/);
      expect(readFileSync(join(work.path, 'acme-note', 'notes', 'restored.txt'), 'utf8')).to.equal('remember the milk\n');
    } finally {
      work.cleanup();
    }
  });
});
