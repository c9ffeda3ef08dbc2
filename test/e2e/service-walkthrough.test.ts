import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { CLI, REPO_ROOT, tempDir } from '../helpers/paths.js';

/** The README's service walkthrough (docs/examples/service-walkthrough.sh, shown verbatim in the README) runs as written. */
describe('e2e: the README service walkthrough (serve, token, curl, CLI --url)', function () {
  this.timeout(120_000);
  const home = tempDir('walk');
  after(() => home.cleanup());

  it('runs to the end: both restores identical, restore and verification success', async () => {
    const script = join(REPO_ROOT, 'docs', 'examples', 'service-walkthrough.sh');
    const env: NodeJS.ProcessEnv = { ...process.env, BULWARK_HOME: home.path, BULWARK_BIN: CLI };
    delete env.BULWARK_URL;
    delete env.BULWARK_TOKEN;
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn('bash', [script], { env, cwd: REPO_ROOT });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
      });
      child.on('close', (c) => resolve({ code: c, stdout: out, stderr: err }));
    });
    expect(code, `${stdout}\n${stderr}`).to.equal(0);
    expect(stdout).to.include('curl: restored tree is identical');
    expect(stdout).to.include('cli: restored tree is identical');
    expect(stdout.split('\n').filter((l) => l === 'success')).to.have.length(2);
    expect(stdout).to.match(/available\s+site/);
  });
});
