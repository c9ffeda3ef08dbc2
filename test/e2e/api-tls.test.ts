import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import { runCli, cliJson } from '../helpers/cli.js';
import { tempDir } from '../helpers/paths.js';
import { allowAll } from '../helpers/scopes.js';
import { startDaemon, type Daemon } from '../helpers/processes.js';
import { requirePrerequisite } from '../helpers/services.js';
import { makeTestCa, type TestCa } from '../helpers/test-ca.js';
import { waitFor } from '../helpers/wait.js';

const FS = 'cf56bd3e-97a7-4078-b6d5-f36246333fd9';
const readyUrl = (d: Daemon) => (JSON.parse(/\{"url".*\}/.exec(d.output())![0]) as { url: string }).url;

/** The serial number of the certificate a new TLS connection to `port` is served, verified against `ca`. */
const servedSerial = (port: number, ca: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ca: readFileSync(ca), servername: 'localhost' }, () => {
      resolve(s.getPeerCertificate().serialNumber);
      s.end();
    });
    s.on('error', reject);
  });

/** GET over https trusting only `ca`, with a token: the parsed JSON body. */
const httpsGetJson = (url: string, ca: string, token: string): Promise<unknown> =>
  new Promise((resolve, reject) => {
    httpsGet(url, { ca: readFileSync(ca), headers: { 'x-auth-token': token } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(JSON.parse(body)));
    }).on('error', reject);
  });

/** Sends `GET / HTTP/1.1` in plain text over a bare socket; resolves with everything received until the close. */
const plainHttp = (port: number): Promise<string> =>
  new Promise((resolve) => {
    const s = netConnect({ host: '127.0.0.1', port }, () => s.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'));
    let data = '';
    s.on('data', (d: Buffer) => (data += d.toString('latin1')));
    s.on('error', () => undefined);
    s.on('close', () => resolve(data));
  });

describe('e2e: bulwark serve over TLS (issue 15)', function () {
  this.timeout(180_000);
  const home = tempDir('tls');
  const work = tempDir('tls-data');
  let ca: TestCa;
  let serve: Daemon;
  let url: string;
  let port: number;
  let token: string;
  // The files api.tls names, in the home (relative paths): replaced in place to test the reload.
  const certFile = join(home.path, 'tls', 'api.pem');
  const keyFile = join(home.path, 'tls', 'api.key');

  before(async () => {
    ca = makeTestCa();
    const first = ca.issue('first', '0a01');
    mkdirSync(join(home.path, 'tls'), { recursive: true });
    copyFileSync(first.certFile, certFile);
    copyFileSync(first.keyFile, keyFile);
    chmodSync(keyFile, 0o600);
    writeFileSync(join(home.path, 'bulwark.yaml'), 'api:\n  tls:\n    cert_file: tls/api.pem\n    key_file: tls/api.key\n');
    allowAll(home.path, ['tp']);
    serve = await startDaemon(home.path, ['serve', '--port', '0'], /"url":"[^"]+"/);
    url = readyUrl(serve);
    port = Number(new URL(url).port);
    ({ token } = await cliJson<{ token: string }>(home.path, ['token', 'create', '--project', 'tp', '--role', 'member']));
  });
  after(async () => {
    await serve?.stop();
    ca?.cleanup();
    home.cleanup();
    work.cleanup();
  });

  const remote = (args: string[], env: NodeJS.ProcessEnv = {}) => runCli(work.path, args, { env: { BULWARK_TOKEN: token, ...env } });

  it('prints an https URL and no plain-http warning', () => {
    expect(url).to.match(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(serve.output()).to.not.include('without TLS');
  });

  it('the CLI with --url https://… and --ca-file creates a plan, protects it and lists its checkpoint', async () => {
    const data = join(work.path, 'site');
    mkdirSync(data);
    writeFileSync(join(data, 'index.html'), '<h1>tls</h1>\n');
    const tls = ['--url', url, '--ca-file', ca.caFile];
    const plan = await remote([...tls, 'plan', 'create', '--name', 'site', '--provider', FS, '--resource', `fs.directory=${data}`]);
    expect(plan.code, plan.stderr).to.equal(0);
    const planId = plan.json<{ id: string }>().id;
    const checkpoint = await remote([...tls, 'checkpoint', 'create', '--plan', planId]);
    expect(checkpoint.code, checkpoint.stderr).to.equal(0);
    expect(checkpoint.json<{ status: string }>().status).to.equal('available');
    // BULWARK_CA_FILE does the same as --ca-file.
    const list = await remote(['--url', url, 'checkpoint', 'list', '--plan', planId], { BULWARK_CA_FILE: ca.caFile });
    expect(list.code, list.stderr).to.equal(0);
    expect(list.json<Array<{ id: string }>>().map((c) => c.id)).to.deep.equal([checkpoint.json<{ id: string }>().id]);
  });

  it('a CLI without the CA gets BWK_ERR_TLS_UNTRUSTED naming --ca-file, not a stack trace', async () => {
    const r = await remote(['--url', url, 'plan', 'list'], { BULWARK_CA_FILE: '' });
    expect(r.code).to.equal(1);
    expect(r.error().code).to.equal('BWK_ERR_TLS_UNTRUSTED');
    expect(r.error().message).to.include('--ca-file');
    expect(r.stderr).to.not.match(/\n\s+at /);
  });

  it("Karbor's client lists plans and checkpoints over https with the test CA in its trust store", function () {
    const bin = requirePrerequisite(this, 'karbor client (apt-get install python3-karborclient)', karborBinary());
    // With --os-no-client-auth the client verifies against the system bundle and ignores --os-cacert
    // (karborclient/common/http.py): the CA goes in the system store, here only for this process (a mount namespace).
    const bundle = join(work.path, 'ca-bundle.crt');
    writeFileSync(bundle, Buffer.concat([readFileSync('/etc/ssl/certs/ca-certificates.crt'), readFileSync(ca.caFile)]));
    const probe = spawnSync('unshare', ['-rm', 'true']);
    requirePrerequisite(this, 'a private mount namespace (unshare -rm)', probe.status === 0 ? 'yes' : undefined);
    const karbor = (...args: string[]) => {
      const cmd = [bin, '--os-no-client-auth', '--os-auth-token', token, '--os-project-id', 'tp', '--karbor-url', `${url}/v1/tp`, ...args];
      const script = `mount --bind "$0" /etc/ssl/certs/ca-certificates.crt && exec "$@"`;
      const r = spawnSync('unshare', ['-rm', 'sh', '-c', script, bundle, ...cmd], { encoding: 'utf8' });
      return { code: r.status, out: `${r.stdout}${r.stderr}` };
    };
    const plans = karbor('plan-list');
    expect(plans.code, plans.out).to.equal(0);
    expect(plans.out).to.include('site');
    const checkpoints = karbor('checkpoint-list', FS);
    expect(checkpoints.code, checkpoints.out).to.equal(0);
    expect(checkpoints.out).to.include('available');
  });

  it('plain HTTP to the TLS port gets a coded 400 and the connection is closed; https still works after', async () => {
    const answer = await plainHttp(port);
    expect(answer).to.match(/^HTTP\/1\.1 400 /);
    expect(answer).to.include('BWK_ERR_HTTPS_REQUIRED');
    const r = await remote(['--url', url, '--ca-file', ca.caFile, 'plan', 'list']);
    expect(r.code, r.stderr).to.equal(0);
  });

  it('SIGHUP with a replaced certificate: new connections get the new one and the process keeps serving', async () => {
    expect(await servedSerial(port, ca.caFile)).to.equal('0A01');
    const second = ca.issue('second', '0b02');
    copyFileSync(second.certFile, certFile);
    copyFileSync(second.keyFile, keyFile);
    serve.child.kill('SIGHUP');
    await waitFor('the reload note', () => (serve.output().includes('serial 0B02') ? true : undefined), 30_000);
    expect(await servedSerial(port, ca.caFile)).to.equal('0B02');
    expect(serve.child.exitCode).to.equal(null);
    const r = await remote(['--url', url, '--ca-file', ca.caFile, 'plan', 'list']);
    expect(r.code, r.stderr).to.equal(0);
  });

  it('a SIGHUP with a key readable by every user is refused, and the certificate in use stays', async () => {
    const served = await servedSerial(port, ca.caFile);
    const third = ca.issue('third', '0c03');
    copyFileSync(third.certFile, certFile);
    copyFileSync(third.keyFile, keyFile);
    chmodSync(keyFile, 0o644);
    serve.child.kill('SIGHUP');
    await waitFor('the refusal', () => (serve.output().includes('BWK_ERR_TLS_KEY_EXPOSED') ? true : undefined), 30_000);
    expect(await servedSerial(port, ca.caFile)).to.equal(served);
    expect(serve.output()).to.not.include(readFileSync(keyFile, 'utf8').split('\n')[1]!);
    chmodSync(keyFile, 0o600);
  });
});

const karborBinary = (): string | undefined => {
  const r = spawnSync('sh', ['-c', 'command -v karbor'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
};

describe('e2e: API start-up checks (issue 15)', function () {
  this.timeout(120_000);

  it('refuses to start with a TLS key readable by every user, without showing the key', async () => {
    const home = tempDir('tls-exposed');
    const ca = makeTestCa();
    try {
      const pair = ca.issue('server', '0d04');
      chmodSync(pair.keyFile, 0o644);
      writeFileSync(join(home.path, 'bulwark.yaml'), `api:\n  tls:\n    cert_file: ${pair.certFile}\n    key_file: ${pair.keyFile}\n`);
      const r = await runCli(home.path, ['serve', '--port', '0']);
      expect(r.code).to.equal(1);
      expect(r.error().code).to.equal('BWK_ERR_TLS_KEY_EXPOSED');
      expect(r.error().message).to.include('chmod o-rwx');
      expect(`${r.stdout}${r.stderr}`).to.not.include(readFileSync(pair.keyFile, 'utf8').split('\n')[1]!);
    } finally {
      ca.cleanup();
      home.cleanup();
    }
  });

  it('bulwark api serves https from api.tls too: a client trusting the CA reads its identity', async () => {
    const home = tempDir('tls-api');
    const ca = makeTestCa();
    try {
      const pair = ca.issue('server', '0e05');
      writeFileSync(join(home.path, 'bulwark.yaml'), `api:\n  tls:\n    cert_file: ${pair.certFile}\n    key_file: ${pair.keyFile}\n`);
      const api = await startDaemon(home.path, ['api', '--port', '0'], /"url":"[^"]+"/);
      try {
        const apiUrl = readyUrl(api);
        expect(apiUrl).to.match(/^https:/);
        expect(await servedSerial(Number(new URL(apiUrl).port), ca.caFile)).to.equal('0E05');
        const { token } = await cliJson<{ token: string }>(home.path, ['token', 'create', '--project', 'ap', '--role', 'member']);
        const identity = await httpsGetJson(`${apiUrl}/v1/identity`, ca.caFile, token);
        expect(identity).to.deep.equal({ project_id: 'ap', role: 'member' });
      } finally {
        await api.stop();
      }
    } finally {
      ca.cleanup();
      home.cleanup();
    }
  });

  it('warns, in its note and its log, when serving on 0.0.0.0 without TLS', async () => {
    const home = tempDir('tls-open');
    writeFileSync(join(home.path, 'bulwark.yaml'), 'api:\n  host: 0.0.0.0\n');
    const serve = await startDaemon(home.path, ['serve', '--port', '0'], /"url":"[^"]+"/);
    try {
      expect(serve.output()).to.match(/warning: the API listens on 0\.0\.0\.0, beyond this machine, without TLS/);
      expect(readFileSync(join(home.path, 'logs', 'bulwark.log'), 'utf8')).to.include('API without TLS beyond loopback');
    } finally {
      await serve.stop();
      home.cleanup();
    }
  });
});
