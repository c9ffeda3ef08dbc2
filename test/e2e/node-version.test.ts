import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { CLI, REPO_ROOT, tempDir } from '../helpers/paths.js';

const OLD_NODE = '20.20.2';
const DEMO = join(REPO_ROOT, 'dist', 'scripts', 'demo.js');

/** Runs an entry point as if on Node 20 (bin/node-check.js's test-only override). */
function asOnOldNode(script: string, args: string[], home: string) {
  return spawnSync(process.execPath, [script, ...args], {
    encoding: 'utf8',
    // serve and worker would otherwise run until killed: a missed refusal fails here, not hangs.
    timeout: 30_000,
    env: { ...process.env, BULWARK_HOME: home, BULWARK_TEST_NODE_VERSION: OLD_NODE },
  });
}

function expectRefused(r: ReturnType<typeof asOnOldNode>): void {
  expect(r.error, 'exited by itself').to.equal(undefined);
  expect(r.status, r.stderr).to.equal(2);
  expect(r.stdout).to.equal('');
  expect(r.stderr).to.match(
    new RegExp(
      `^bulwark: found Node ${OLD_NODE.replace(/\./g, '\\.')}, but Bulwark needs Node >=\\d[^\\n]*see README\\.md, 'Two commands'\\.\\n$`,
    ),
  );
}

describe('e2e: on an unsupported Node every entry point stops with one clear line', function () {
  this.timeout(120_000);
  const home = tempDir('home');
  after(() => home.cleanup());

  for (const args of [['plan', 'list'], ['serve'], ['worker'], ['--help']]) {
    it(`bulwark ${args.join(' ')} exits 2`, () => {
      expectRefused(asOnOldNode(CLI, args, home.path));
    });
  }

  it('npm run demo (node dist/scripts/demo.js) exits 2 before doing anything', () => {
    expectRefused(asOnOldNode(DEMO, [], home.path));
  });

  it('the same command runs on the Node running the tests', () => {
    const r = spawnSync(process.execPath, [CLI, '--home', home.path, '-o', 'json', 'plan', 'list'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).to.equal(0);
    expect(JSON.parse(r.stdout)).to.deep.equal([]);
  });
});
