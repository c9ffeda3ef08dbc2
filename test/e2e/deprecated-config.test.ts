import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/paths.js';

/** A bulwark.yaml written for an earlier build keeps working, and the CLI says what to rename. */
describe('e2e: a deprecated configuration key', function () {
  this.timeout(60_000);
  const home = tempDir('deprecated');
  after(() => home.cleanup());

  it('local_engine still sets how tasks run; the CLI warns once on stderr and keeps stdout JSON', async () => {
    writeFileSync(join(home.path, 'bulwark.yaml'), 'local_engine:\n  max_parallel: 2\n');
    const r = await runCli(home.path, ['plan', 'list']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.json()).to.deep.equal([]);
    const warnings = r.stderr.split('\n').filter((l) => l.includes('DeprecationWarning'));
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.contain('bulwark.yaml:1: local_engine is deprecated: rename it to tasks');
  });
});
