import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, REPO_ROOT, tempDir } from '../helpers/paths.js';
import { makeTestCa } from '../helpers/test-ca.js';

/** Runs docs/examples/service-walkthrough.sh (shown verbatim in the README) with `env` added; its output. */
async function runWalkthrough(home: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const script = join(REPO_ROOT, 'docs', 'examples', 'service-walkthrough.sh');
  const full: NodeJS.ProcessEnv = { ...process.env, BULWARK_HOME: home, BULWARK_BIN: CLI, ...env };
  delete full.BULWARK_URL;
  delete full.BULWARK_TOKEN;
  return new Promise((resolve) => {
    const child = spawn('bash', [script], { env: full, cwd: REPO_ROOT });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (c) => resolve({ code: c, stdout: out, stderr: err }));
  });
}

function expectWalkedThrough(r: { code: number | null; stdout: string; stderr: string }): void {
  expect(r.code, `${r.stdout}\n${r.stderr}`).to.equal(0);
  expect(r.stdout).to.include('curl: restored tree is identical');
  expect(r.stdout).to.include('cli: restored tree is identical');
  expect(r.stdout.split('\n').filter((l) => l === 'success')).to.have.length(2);
  expect(r.stdout).to.match(/available\s+site/);
}

/** The README's service walkthrough runs as written: over plain http, and unchanged over TLS. */
describe('e2e: the README service walkthrough (serve, token, curl, CLI --url)', function () {
  this.timeout(180_000);

  it('runs to the end: both restores identical, restore and verification success', async () => {
    const home = tempDir('walk');
    try {
      expectWalkedThrough(await runWalkthrough(home.path));
    } finally {
      home.cleanup();
    }
  });

  it('runs unchanged over TLS: serve with api.tls, curl and the CLI trusting the test CA', async () => {
    const home = tempDir('walk-tls');
    const ca = makeTestCa();
    try {
      const pair = ca.issue('server', '0a11');
      writeFileSync(join(home.path, 'bulwark.yaml'), `api:\n  tls:\n    cert_file: ${pair.certFile}\n    key_file: ${pair.keyFile}\n`, {
        mode: 0o600,
      });
      const r = await runWalkthrough(home.path, { CURL_CA_BUNDLE: ca.caFile, BULWARK_CA_FILE: ca.caFile });
      expectWalkedThrough(r);
    } finally {
      ca.cleanup();
      home.cleanup();
    }
  });
});
