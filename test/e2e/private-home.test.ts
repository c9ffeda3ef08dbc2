import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, tempDir } from '../helpers/paths.js';
import { waitFor } from '../helpers/wait.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The built CLI started by a shell that first sets `umask 022` (the usual one: files 0644, directories 0755). */
function underUmask022(home: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawn('/bin/sh', ['-c', 'umask 022 && exec "$@"', 'sh', process.execPath, CLI, '--home', home, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function run(home: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const child = underUmask022(home, args, env);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function ok(home: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Record<string, unknown>> {
  const r = await run(home, ['-o', 'json', ...args], env);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).to.equal(0);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

/** Every directory and file under `root` (and root itself) with its permission bits. */
function modesUnder(root: string): Array<{ path: string; dir: boolean; mode: number }> {
  const out = [{ path: root, dir: true, mode: statSync(root).mode & 0o777 }];
  for (const name of readdirSync(root, { recursive: true, encoding: 'utf8' })) {
    const st = lstatSync(join(root, name));
    out.push({ path: name, dir: st.isDirectory(), mode: st.mode & 0o777 });
  }
  return out;
}

/** Asserts 0700 on every directory and 0600 on every file; returns the relative file paths, to check what was walked. */
function expectPrivate(root: string): string[] {
  const loose = modesUnder(root)
    .filter((e) => e.mode !== (e.dir ? 0o700 : 0o600))
    .map((e) => `${e.mode.toString(8)} ${e.path}`);
  expect(loose, 'entries not 0700 (directories) or 0600 (files)').to.deep.equal([]);
  return modesUnder(root)
    .filter((e) => !e.dir)
    .map((e) => e.path);
}

/** Issue 14 (6): what Bulwark keeps is readable by its user only, whatever the umask. */
describe('e2e: the Bulwark home is private under umask 022', function () {
  this.timeout(180_000);
  const base = tempDir('private');
  const source = join(base.path, 'data');

  before(() => {
    mkdirSync(source);
    // A 0600 source file: its text ends up in a pack, which must be no more readable than the file.
    writeFileSync(join(source, 'secret.txt'), 'the text of a private file\n', { mode: 0o600 });
    writeFileSync(join(source, 'public.txt'), 'x'.repeat(100_000));
  });
  after(() => base.cleanup());

  it('a fresh home after plan create, a protect and a verify: directories 0700, files 0600', async () => {
    const home = join(base.path, 'fresh');
    const plan = await ok(home, ['plan', 'create', '--name', 'p', '--provider', 'fs-directory', '--resource', `fs.directory=${source}`]);
    const checkpoint = await ok(home, ['checkpoint', 'create', '--plan', String(plan.id)]);
    expect(checkpoint.status).to.equal('available');
    await ok(home, ['verification', 'create', '--checkpoint', String(checkpoint.id)]);
    const files = expectPrivate(home);
    expect(files).to.include.members(['catalog.db', join('logs', 'bulwark.log')]);
    expect(files.filter((f) => f.startsWith(`bank/`)).length, 'bank objects walked').to.be.greaterThan(5);
    expect(
      files.some((f) => /pack/.test(f)),
      `a pack among ${files.join(', ')}`,
    ).to.equal(true);
  });

  it('serve: while it runs (catalog -wal and -shm open) and after a protect through it, everything is private', async () => {
    const home = join(base.path, 'served');
    const serve = underUmask022(home, ['-o', 'json', 'serve', '--port', '0']);
    let out = '';
    serve.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise((resolve) => serve.on('exit', resolve));
    try {
      await waitFor('the ready line of serve', () => (/"url"/.test(out) ? true : undefined));
      const { url } = JSON.parse(out.split('\n')[0]!) as { url: string };
      const { token } = (await ok(home, ['token', 'create', '--project', 'p', '--role', 'admin'])) as { token: string };
      const remote = { BULWARK_URL: url, BULWARK_TOKEN: token };
      const plan = await ok(
        home,
        ['plan', 'create', '--name', 'p', '--provider', 'fs-directory', '--resource', `fs.directory=${source}`],
        remote,
      );
      await ok(home, ['checkpoint', 'create', '--plan', String(plan.id)], remote);
      const files = expectPrivate(home);
      expect(files).to.include.members(['catalog.db', 'catalog.db-wal', 'catalog.db-shm']);
    } finally {
      serve.kill('SIGTERM');
      await exited;
    }
    expectPrivate(home);
  });

  it('tightens a catalog and a log an earlier version left 0644', async () => {
    const home = join(base.path, 'older');
    mkdirSync(join(home, 'logs'), { recursive: true, mode: 0o700 });
    writeFileSync(join(home, 'logs', 'bulwark.log'), '{"msg": "an earlier line"}\n', { mode: 0o644 });
    await ok(home, ['plan', 'list']);
    chmodSync(join(home, 'catalog.db'), 0o644);
    await ok(home, ['plan', 'list']);
    for (const f of ['catalog.db', join('logs', 'bulwark.log')]) expect(statSync(join(home, f)).mode & 0o777, f).to.equal(0o600);
  });

  it('warns, naming the fix, about an existing home open to other users, and still works', async () => {
    const home = join(base.path, 'loose');
    mkdirSync(home);
    chmodSync(home, 0o755);
    const r = await run(home, ['plan', 'list']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.contain(`warning: Bulwark home ${home} is mode 0755`).and.contain(`run: chmod 700 ${home}`);
    const json = await run(home, ['-o', 'json', 'plan', 'list']);
    expect(json.code).to.equal(0);
    expect(json.stderr, '-o json keeps stderr for errors').to.equal('');
    const log = readFileSync(join(home, 'logs', 'bulwark.log'), 'utf8');
    expect(log).to.contain('directory open to other users').and.contain(`chmod 700 ${home}`);
    expect(statSync(home).mode & 0o777, 'a warning, not a change').to.equal(0o755);
    chmodSync(home, 0o700);
    expect((await run(home, ['plan', 'list'])).stderr).not.to.contain('warning');
    expect(existsSync(join(home, 'catalog.db'))).to.equal(true);
  });
});
