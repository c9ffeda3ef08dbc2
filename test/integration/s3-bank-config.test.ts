/**
 * How the s3 bank is configured and when it refuses to start: bad options and inline secrets are
 * refused before any request; a server that ignores conditional writes, a missing bucket and wrong
 * credentials are refused at open() with coded errors, before the bank is used.
 */
import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Bank } from '../../src/bank/adapters/s3.js';
import { parseS3Options } from '../../src/bank/adapters/s3-options.js';
import { createBank } from '../../src/bank/factory.js';
import { rejectsWith } from '../contracts/bank.contract.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/paths.js';
import { ensureTestBucket, freshPrefix, requireS3, s3BankOptions } from '../helpers/s3.js';

const build = (options: Record<string, unknown>) => (async () => createBank({ type: 's3', options }, '/srv/home'))();

describe('s3 bank configuration', () => {
  it('reads bucket, prefix, endpoint, path style, region, credentials file (relative to the home) and part size', () => {
    const o = parseS3Options(
      { bucket: 'my-bank', prefix: 'team/a', endpoint: 'http://10.0.0.5:9000', force_path_style: true, credentials_file: 'aws/creds' },
      '/srv/home',
    );
    expect(o).to.deep.include({ bucket: 'my-bank', prefix: 'team/a/', endpoint: 'http://10.0.0.5:9000', forcePathStyle: true });
    expect(o).to.deep.include({ credentialsFile: '/srv/home/aws/creds', profile: 'default', partSize: 8 * 1024 * 1024 });
    expect(parseS3Options({ bucket: 'b-1' }, '/h')).to.deep.include({ prefix: '', forcePathStyle: false });
  });

  it('refuses secrets in the options, naming where they go instead', async () => {
    for (const key of ['access_key_id', 'secret_access_key', 'session_token', 'aws_secret_access_key', 'password']) {
      const err = await rejectsWith(build({ bucket: 'b-1', [key]: 'AKIA...' }), 'BWK_ERR_INVALID_INPUT');
      expect(err.message).to.contain(key).and.contain('credentials_file');
      expect(err.message).to.not.contain('AKIA');
    }
  });

  it('refuses bad options with BWK_ERR_INVALID_INPUT', async () => {
    const bad: Record<string, unknown>[] = [
      {},
      { bucket: 'Bad_Bucket' },
      { bucket: 'b-1', prefix: '/abs' },
      { bucket: 'b-1', prefix: 'a/../b' },
      { bucket: 'b-1', endpoint: 'ftp://x' },
      { bucket: 'b-1', endpoint: 'not a url' },
      { bucket: 'b-1', endpoint: 'http://user:pw@host:9000' },
      { bucket: 'b-1', force_path_style: 'yes' },
      { bucket: 'b-1', part_size: 1024 },
      { bucket: 'b-1', profile: 'x' },
      { bucket: 'b-1', colour: 'blue' },
    ];
    for (const options of bad) await rejectsWith(build(options), 'BWK_ERR_INVALID_INPUT');
    const err = await rejectsWith((async () => createBank({ type: 's4' }, '/tmp'))(), 'BWK_ERR_INVALID_INPUT');
    expect(err.message).to.contain('s3');
  });
});

/**
 * An S3 endpoint that stores nothing and ignores conditional headers, as a server without conditional
 * writes answers: every PUT succeeds. Only the refusal path needs it; everything else runs on MinIO.
 */
function serverWithoutConditionalWrites(): Promise<{ server: Server; url: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    req.resume();
    req.on('end', () => {
      if (req.method === 'PUT') {
        res.writeHead(200, { ETag: '"0123456789abcdef0123456789abcdef"' }).end();
      } else if (req.method === 'DELETE') {
        res.writeHead(204).end();
      } else {
        res.writeHead(404, { 'content-type': 'application/xml' }).end('<Error><Code>NoSuchKey</Code><Message>no</Message></Error>');
      }
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests })),
  );
}

describe('s3 bank: refusing to start', function () {
  this.timeout(60_000);
  const credentials = (): string => {
    const file = join(mkdtempSync(join(tmpdir(), 'bwk-s3-')), 'credentials');
    writeFileSync(file, '[default]\naws_access_key_id = nobody\naws_secret_access_key = wrong-secret\n', { mode: 0o600 });
    return file;
  };

  it('a server that ignores If-None-Match is refused with BWK_ERR_BANK_CONDITIONAL_WRITES_UNSUPPORTED; no object is written', async () => {
    const { server, url, requests } = await serverWithoutConditionalWrites();
    try {
      const bank = new S3Bank(
        parseS3Options({ bucket: 'b-1', endpoint: url, force_path_style: true, credentials_file: credentials() }, '/'),
      );
      const err = await rejectsWith(bank.open(), 'BWK_ERR_BANK_CONDITIONAL_WRITES_UNSUPPORTED');
      expect(err.message).to.contain('If-None-Match');
      // Every other method waits for the same check: nothing reaches the server but the probe.
      const before = requests.length;
      await rejectsWith(bank.putObject('checkpoints/x', 'data'), 'BWK_ERR_BANK_CONDITIONAL_WRITES_UNSUPPORTED');
      await rejectsWith(bank.acquireLease('op', 60_000), 'BWK_ERR_BANK_CONDITIONAL_WRITES_UNSUPPORTED');
      expect(requests.slice(before).filter((r) => !r.includes('.tmp-probe-'))).to.deep.equal([]);
      await bank.close();
    } finally {
      server.close();
    }
  });

  it('bulwark refuses to start on such a server, and on a provider file holding a secret, without echoing it', async () => {
    const { server, url } = await serverWithoutConditionalWrites();
    const home = tempDir('s3-refuse');
    try {
      mkdirSync(join(home.path, 'providers'));
      const provider = (options: Record<string, unknown>) =>
        writeFileSync(
          join(home.path, 'providers', 's3.yaml'),
          [
            'id: 5e7e57e5-0000-4000-8000-0000000053b5',
            'name: s3',
            'plugins: [{name: fs.directory}]',
            `bank: ${JSON.stringify({ type: 's3', options })}`,
            '',
          ].join('\n'),
        );
      provider({ bucket: 'b-1', endpoint: url, force_path_style: true, credentials_file: credentials() });
      const refused = await runCli(home.path, ['provider', 'list']);
      expect(refused.code).to.equal(1);
      expect(refused.error().code).to.equal('BWK_ERR_BANK_CONDITIONAL_WRITES_UNSUPPORTED');
      provider({ bucket: 'b-1', endpoint: url, secret_access_key: 'hunter2-secret' });
      const secret = await runCli(home.path, ['provider', 'list']);
      expect(secret.code).to.equal(1);
      expect(secret.error().code).to.equal('BWK_ERR_PROVIDER_INVALID');
      expect(secret.stdout + secret.stderr).to.not.contain('hunter2-secret');
    } finally {
      server.close();
      home.cleanup();
    }
  });

  describe('on MinIO', () => {
    before(async function () {
      requireS3(this);
      await ensureTestBucket();
    });

    it('wrong credentials are refused at open with BWK_ERR_BANK_ACCESS, not retried as an I/O error', async () => {
      const options = { ...s3BankOptions(freshPrefix('auth')), credentials_file: credentials() };
      const bank = new S3Bank(parseS3Options(options, '/'));
      const err = await rejectsWith(bank.open(), 'BWK_ERR_BANK_ACCESS');
      expect(err.message).to.not.contain('wrong-secret');
      await bank.close();
    });

    it('a bucket that does not exist is refused at open with BWK_ERR_BANK_ACCESS', async () => {
      const bank = new S3Bank(parseS3Options({ ...s3BankOptions(freshPrefix('nob')), bucket: 'bulwark-no-such-bucket' }, '/'));
      const err = await rejectsWith(bank.open(), 'BWK_ERR_BANK_ACCESS');
      expect(err.message).to.contain('NoSuchBucket');
      await bank.close();
    });
  });
});
