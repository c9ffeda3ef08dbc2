import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { FsBank } from '../../src/bank/adapters/fs.js';
import { PrefixedBankSection } from '../../src/bank/section.js';
import { ChunkStore } from '../../src/bank/chunks/store.js';
import { checkDump, dumpToTempFile, runToolOnDump } from '../../src/plugins/db/bank-to-tool.js';
import { loadDumpMeta } from '../../src/plugins/db/dump-meta.js';
import { dumpToBank } from '../../src/plugins/db/dump-to-bank.js';
import { STDERR_TAIL_BYTES, describeExit, runTool, runToolCollect } from '../../src/plugins/db/run-tool.js';
import { readPassword, toolEnv } from '../../src/plugins/db/server-config.js';
import type { DbServer } from '../../src/plugins/db/server-config.js';
import { flipChunkByte } from '../helpers/bank-files.js';
import { tempDir } from '../helpers/paths.js';

/**
 * The shared toolkit of dump-based plugins (src/plugins/db), with real child processes (sh, seq,
 * env, head, wc) and a real filesystem bank: what postgres uses now and mariadb will reuse.
 */
describe('db plugin toolkit', function () {
  this.timeout(60_000);
  const dir = tempDir('db-toolkit');
  const bank = new FsBank(join(dir.path, 'bank'));
  const env = toolEnv('PGPASSWORD', undefined);
  const never = new AbortController().signal;
  after(() => dir.cleanup());

  const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
  const rejection = (p: Promise<unknown>) =>
    p.then(
      () => null,
      (e: { code?: string; message: string }) => e,
    );

  describe('runTool', () => {
    it('streams stdout, reports the exit code and keeps only the scrubbed tail of stderr', async () => {
      const script = 'i=0; while [ $i -lt 3000 ]; do echo "line $i hunter2" >&2; i=$((i+1)); done; printf result; exit 3';
      const { stdout, exit } = await runToolCollect('sh', ['-c', script], { env, signal: never, secrets: ['hunter2'] });
      expect(stdout.toString()).to.equal('result');
      expect(exit.code).to.equal(3);
      expect(describeExit(exit)).to.equal('exit code 3');
      expect(Buffer.byteLength(exit.stderr)).to.be.at.most(STDERR_TAIL_BYTES);
      expect(exit.stderr).to.match(/line 2999 \[redacted\]$/);
      expect(exit.stderr, 'the cut, partial first line is dropped').to.match(/^line \d+ \[redacted\]\n/);
      expect(exit.stderr).to.not.include('hunter2');
    });

    it('never shows the visible end of a secret the stderr tail cut through', async () => {
      // 100 + 7 + 8188 bytes on one line: the last 8 KiB begin inside "hunter2".
      const script = 'head -c 100 /dev/zero | tr "\\0" A >&2; printf hunter2 >&2; head -c 8188 /dev/zero | tr "\\0" B >&2; exit 1';
      const { exit } = await runToolCollect('sh', ['-c', script], { env, signal: never, secrets: ['hunter2'] });
      expect(exit.stderr).to.match(/^…B+$/);
      expect(exit.stderr).to.not.include('ter2');
    });

    it('gives the tool exactly the environment passed, nothing of ours', async () => {
      process.env.BWK_TOOLKIT_SENTINEL = 'leak';
      try {
        const { stdout } = await runToolCollect('env', [], { env: { ...env, PGPASSWORD: 'pw' }, signal: never });
        const names = stdout
          .toString()
          .trim()
          .split('\n')
          .map((l) => l.slice(0, l.indexOf('=')))
          .sort();
        expect(names).to.deep.equal(['LANG', 'PATH', 'PGPASSWORD']);
      } finally {
        delete process.env.BWK_TOOLKIT_SENTINEL;
      }
    });

    it('kills the tool when the signal aborts and says it was cancelled', async () => {
      const ac = new AbortController();
      const tool = runTool('sleep', ['600'], { env, signal: ac.signal });
      expect(tool.pid).to.be.a('number');
      ac.abort(new Error('stop'));
      const exit = await tool.exited;
      expect(exit).to.include({ aborted: true, code: null, signal: 'SIGTERM' });
      expect(describeExit(exit)).to.equal('cancelled');
    });

    it('reports a tool that cannot be started instead of throwing', async () => {
      const { exit } = await runToolCollect('bwk-no-such-tool', [], { env, signal: never });
      expect(exit.spawnError).to.match(/ENOENT/);
      expect(describeExit(exit)).to.match(/^could not be started: .*ENOENT/);
    });

    it('a tool that stops reading its stdin early is fine; a failing stdin source kills it and is reported', async () => {
      const early = await runToolCollect('head', ['-c', '10'], {
        env,
        signal: never,
        stdin: Readable.from([Buffer.alloc(8 * 1024 * 1024)]),
      });
      expect(early.exit.code).to.equal(0);
      expect(early.exit.inputError).to.equal(undefined);
      async function* broken(): AsyncGenerator<Buffer> {
        yield Buffer.from('some');
        throw new Error('source broke');
      }
      const failed = await runToolCollect('cat', [], { env, signal: never, stdin: broken() });
      expect((failed.exit.inputError as Error).message).to.equal('source broke');
    });
  });

  describe('dumpToBank and reading back', () => {
    const store = new ChunkStore(bank, {}, 'test');
    const section = new PrefixedBankSection(store, 'cp/db/', 'test.db#one');
    after(() => store.close());
    const spec = (script: string) => ({
      bank: section,
      signal: never,
      label: 'test.db#one',
      object: 'dump',
      command: 'sh',
      args: ['-c', script],
      env,
      secrets: ['s3cr3t'],
      toolVersion: 'sh',
      source: { database: 'one' },
    });

    it('stores the output with size and SHA-256, meta.json written last', async () => {
      const { size, sha256 } = await dumpToBank(spec('seq 1 300000'));
      const stored = await section.get('dump');
      expect(stored.length).to.equal(size);
      expect(sha(stored)).to.equal(sha256);
      expect(stored.toString().split('\n')[299_999]).to.equal('300000');
      const meta = await loadDumpMeta(section, 'test.db#one');
      expect(meta).to.include({ object: 'dump', size, sha256, tool: 'sh' });
      expect(meta.source).to.deep.equal({ database: 'one' });
    });

    it("a tool failing after output leaves neither dump nor meta.json (not even an earlier attempt's) and reports its stderr", async () => {
      const err = await rejection(dumpToBank(spec('seq 1 200000; echo "lost connection s3cr3t" >&2; exit 2')));
      expect(err?.code).to.equal('BWK_ERR_DUMP_FAILED');
      expect(err?.message).to.include('test.db#one: sh failed (exit code 2)');
      expect(err?.message).to.include('lost connection [redacted]');
      expect(await section.list()).to.deep.equal([]);
    });

    it('a cancelled dump throws the cancellation and stores nothing', async () => {
      const ac = new AbortController();
      const running = dumpToBank({ ...spec('seq 1 100; sleep 600; echo never'), signal: ac.signal });
      // Abort once the shell has started its `sleep` child (which inherits stdout): the case that used to hang.
      setTimeout(() => ac.abort(Object.assign(new Error('operation cancelled'), { code: 'BWK_ERR_OPERATION_CANCELLED' })), 300);
      const err = await rejection(running);
      expect(err?.code).to.equal('BWK_ERR_OPERATION_CANCELLED');
      expect(await section.list()).to.deep.equal([]);
    });

    it('checks the hash on every read path and names the resource when it does not match', async () => {
      await dumpToBank(spec('seq 1 200000'));
      const meta = await loadDumpMeta(section, 'test.db#one');
      const stored = { bank: section, meta, label: 'test.db#one', signal: never };
      await checkDump(stored);
      const counted = await runToolOnDump(stored, 'wc', ['-c'], { env });
      expect(counted.stdout.toString().trim()).to.equal(String(meta.size));
      const file = await dumpToTempFile(stored);
      expect(statSync(file.path).mode & 0o777).to.equal(0o600);
      expect(sha(readFileSync(file.path))).to.equal(meta.sha256);
      await file.dispose();
      expect(existsSync(file.path)).to.equal(false);

      // A well-formed dump object (its chunks check out) whose bytes are not the ones meta.json vouches for.
      const good = await section.get('dump');
      const altered = Buffer.from(good);
      const mid = Math.floor(altered.length / 2);
      altered[mid] = altered[mid]! ^ 0x01;
      await section.putStream('dump', Readable.from([altered]));
      // One read path at a time: a rejection must have its handler before it settles.
      for (const attempt of [() => checkDump(stored), () => runToolOnDump(stored, 'wc', ['-c'], { env }), () => dumpToTempFile(stored)]) {
        const err = await rejection(attempt());
        expect(err?.code).to.equal('BWK_ERR_DATA_CORRUPT');
        expect(err?.message).to.include('test.db#one: stored data is corrupt: dump does not match the SHA-256');
      }
      // One byte flipped where the dump's bytes are stored (a chunk in its pack): caught on every read path too.
      await section.putStream('dump', Readable.from([good]));
      await checkDump(stored);
      const spot = await flipChunkByte(bank, 'cp/db/', 'dump');
      for (const attempt of [() => checkDump(stored), () => runToolOnDump(stored, 'wc', ['-c'], { env }), () => dumpToTempFile(stored)]) {
        const err = await rejection(attempt());
        expect(err?.code).to.equal('BWK_ERR_DATA_CORRUPT');
        expect(err?.message).to.include('test.db#one: stored data is corrupt').and.to.include(spot.id);
      }
      await section.delete('meta.json');
      expect((await rejection(loadDumpMeta(section, 'test.db#one')))?.message).to.include('meta.json is missing: the dump never completed');
    });
  });

  describe('passwords', () => {
    const server = (extra: Partial<DbServer>): DbServer => ({ name: 'main', host: 'h', port: 1, user: 'u', connect_timeout: 10, ...extra });

    it('are read at use time from the named variable or file, and errors never show them', async () => {
      expect(await readPassword(server({}))).to.equal(undefined);
      process.env.BWK_TOOLKIT_PW = 'from-env';
      expect(await readPassword(server({ password_env: 'BWK_TOOLKIT_PW' }))).to.equal('from-env');
      delete process.env.BWK_TOOLKIT_PW;
      const unset = await rejection(readPassword(server({ password_env: 'BWK_TOOLKIT_PW' })));
      expect(unset?.code).to.equal('BWK_ERR_CONFIG_INVALID');
      expect(unset?.message).to.include('BWK_TOOLKIT_PW, which is not set');
      const file = join(dir.path, 'pw');
      writeFileSync(file, 'from-file\n', { mode: 0o600 });
      expect(await readPassword(server({ password_file: file }))).to.equal('from-file');
      writeFileSync(file, 'rotated\n');
      expect(await readPassword(server({ password_file: file }))).to.equal('rotated');
      const missing = await rejection(readPassword(server({ password_file: join(dir.path, 'none') })));
      expect(missing?.message).to.match(/password_file .*none cannot be read \(ENOENT\)/);
      expect(toolEnv('MYSQL_PWD', 'x')).to.deep.include({ MYSQL_PWD: 'x' });
    });
  });
});
