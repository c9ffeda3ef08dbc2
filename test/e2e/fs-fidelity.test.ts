/**
 * Issue 23's fidelity tree, protected and restored through the built CLI on both engines, each entry
 * checked after the restore by the system's own tools (stat, getfattr, getcap, getfacl). The protect
 * runs as root without CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH (setpriv), so a mode-000 file is really
 * unreadable to it, as to any backup user, and must be named in the checkpoint's report.
 */
import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, closeSync, existsSync, linkSync, mkdirSync, openSync, readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { CliResult } from '../helpers/cli.js';
import { cliJson, runCli } from '../helpers/cli.js';
import { CLI, tempDir } from '../helpers/paths.js';
import type { Daemon } from '../helpers/processes.js';
import { requirePrerequisite, requireService, temporalAddress } from '../helpers/services.js';

const DROP_DAC = ['--inh-caps=-dac_override,-dac_read_search', '--bounding-set=-dac_override,-dac_read_search', '--'];
const SPARSE_SIZE = 100 * 1024 * 1024;
const sh = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8' }).trim();

/** The built CLI, run as root minus the capabilities that let root read any file. */
function runCliWithoutDac(home: string, args: string[], json = true): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('setpriv', [...DROP_DAC, process.execPath, CLI, '--home', home, ...(json ? ['-o', 'json'] : []), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({
        code,
        signal,
        stdout,
        stderr,
        json: <T>() => JSON.parse(stdout) as T,
        error: () => JSON.parse(stderr.trim().split('\n').pop() ?? '{}') as { code: string; message: string },
      }),
    );
  });
}

/** A worker (`bulwark worker`) without DAC override, resolved once it serves its task queue. */
async function startWorkerWithoutDac(home: string): Promise<Daemon> {
  const child = spawn('setpriv', [...DROP_DAC, process.execPath, CLI, '--home', home, 'worker'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker not ready: ${text}`)), 60_000);
    const onData = (d: Buffer): void => {
      text += d.toString();
      if (/serving task queue/.test(text)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited ${code}: ${text}`));
    });
  });
  return {
    child,
    pid: child.pid!,
    output: () => text,
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Whether this directory's filesystem keeps every attribute the tree uses (ext4 and tmpfs do). */
function keepsAttributes(dir: string): boolean {
  const probe = join(dir, 'probe');
  writeFileSync(probe, 'x');
  try {
    sh('setfattr', ['-n', 'user.p', '-v', '1', probe]);
    sh('setfattr', ['-n', 'trusted.p', '-v', '1', probe]);
    sh('setfacl', ['-m', 'u:nobody:r', probe]);
    sh('setcap', ['cap_net_bind_service+ep', probe]);
    return true;
  } catch {
    return false;
  } finally {
    execFileSync('rm', ['-f', probe]);
  }
}

/** Builds the tree; returns the paths the checks need. */
function buildTree(src: string): void {
  const p = (rel: string): string => join(src, rel);
  mkdirSync(p('links'), { recursive: true });
  writeFileSync(p('links/first'), 'one inode, two names\n');
  linkSync(p('links/first'), p('links/second'));
  writeFileSync(p('note.txt'), 'has a note\n');
  sh('setfattr', ['-n', 'user.note', '-v', 'kept by bulwark', p('note.txt')]);
  mkdirSync(p('bin'));
  writeFileSync(p('bin/server'), '#!/bin/sh\nexec true\n');
  chmodSync(p('bin/server'), 0o755);
  sh('setcap', ['cap_net_bind_service+ep', p('bin/server')]);
  writeFileSync(p('acl.txt'), 'nobody may read\n');
  sh('setfacl', ['-m', 'u:nobody:r', p('acl.txt')]);
  mkdirSync(p('shared'));
  sh('setfacl', ['-d', '-m', 'u:nobody:rx', p('shared')]);
  writeFileSync(p('trusted.txt'), 'root-only attribute\n');
  sh('setfattr', ['-n', 'trusted.origin', '-v', 'lab', p('trusted.txt')]);
  sh('mkfifo', [p('pipe')]);
  sh('mknod', [p('null-device'), 'c', '1', '3']);
  // 100 MB with one byte written in the middle: the rest is a hole.
  const fd = openSync(p('sparse.img'), 'w');
  writeSync(fd, Buffer.from('!'), 0, 1, SPARSE_SIZE / 2);
  closeSync(fd);
  execFileSync('truncate', ['-s', String(SPARSE_SIZE), p('sparse.img')]);
  mkdirSync(p('secret'));
  writeFileSync(p('secret/unreadable.txt'), 'nobody reads this\n');
  chmodSync(p('secret/unreadable.txt'), 0o000);
  // A unix socket: bound, and left behind when the binding process exits.
  sh('python3', ['-c', `import socket; socket.socket(socket.AF_UNIX).bind(${JSON.stringify(p('listening.sock'))})`]);
}

interface Checkpoint {
  id: string;
  status: string;
  extra_info: {
    resources_not_captured?: Record<string, number>;
    resources_not_captured_report?: Record<string, { not_captured: number; entries: { path: string; kind: string; reason?: string }[] }>;
  };
}
interface OpRecord {
  id: string;
  status: string;
  resources_reason: Record<string, string>;
}

for (const engine of ['local', 'temporal'] as const) {
  describe(`e2e: filesystem fidelity through the CLI (${engine} engine)`, function () {
    this.timeout(240_000);
    const home = tempDir(`fidelity-${engine}`);
    const work = tempDir(`fidelity-data-${engine}`);
    let root = work.path;
    let loop = false;
    let worker: Daemon | undefined;
    let source = '';
    let target = '';
    let checkpoint: Checkpoint;
    const ref = (): string => `fs.directory#${source}`;
    let planId = '';
    const protectCli = (args: string[], json = true): Promise<CliResult> =>
      engine === 'local' ? runCliWithoutDac(home.path, args, json) : runCli(home.path, args, { json });

    before(async function () {
      if (process.getuid?.() !== 0) requirePrerequisite(this, 'root (devices, trusted.* attributes, capabilities)', undefined);
      for (const tool of ['setpriv', 'setfattr', 'getfattr', 'setfacl', 'getfacl', 'setcap', 'getcap', 'mknod', 'python3']) {
        requirePrerequisite(
          this,
          `the ${tool} command`,
          existsSync(`/usr/bin/${tool}`) || existsSync(`/usr/sbin/${tool}`) ? tool : undefined,
        );
      }
      if (!keepsAttributes(work.path)) {
        // A private ext4 image, loop-mounted: the machine's temp filesystem lacks some attribute support.
        root = join(work.path, 'mnt');
        mkdirSync(root);
        sh('truncate', ['-s', '256M', join(work.path, 'fs.img')]);
        sh('mkfs.ext4', ['-q', join(work.path, 'fs.img')]);
        sh('mount', ['-o', 'loop', join(work.path, 'fs.img'), root]);
        loop = true;
      }
      source = join(root, 'source');
      target = join(root, 'restored');
      mkdirSync(source);
      buildTree(source);
      if (engine === 'temporal') {
        const address = requireService(this, 'Temporal (TEMPORAL_ADDRESS)', temporalAddress());
        writeFileSync(
          join(home.path, 'bulwark.yaml'),
          ['engine: temporal', 'temporal:', `  address: ${address}`, `  task_queue: bulwark-fidelity-${randomUUID().slice(0, 8)}`, ''].join(
            '\n',
          ),
        );
        // The worker runs the hooks: it is the process that must lack the right to read every file.
        worker = await startWorkerWithoutDac(home.path);
      }
    });
    after(async () => {
      await worker?.kill().catch(() => undefined);
      if (loop) execFileSync('umount', [root]);
      home.cleanup();
      work.cleanup();
    });

    it('protects what it can read, and names the unreadable file in the checkpoint and the CLI output', async () => {
      const plan = await cliJson<{ id: string }>(home.path, [
        'plan',
        'create',
        '--name',
        `fidelity-${engine}`,
        '--provider',
        'fs-directory',
        '--resource',
        `fs.directory=${source}`,
      ]);
      planId = plan.id;
      const r = await protectCli(['checkpoint', 'create', '--plan', plan.id]);
      expect(r.code, r.stderr).to.equal(0);
      checkpoint = r.json<Checkpoint>();
      expect(checkpoint.status).to.equal('available');
      expect(checkpoint.extra_info.resources_not_captured).to.deep.equal({ [ref()]: 1 });
      const shown = await cliJson<Checkpoint>(home.path, ['checkpoint', 'show', checkpoint.id]);
      expect(shown.extra_info.resources_not_captured_report?.[ref()]).to.deep.equal({
        not_captured: 1,
        entries: [{ path: 'secret/unreadable.txt', kind: 'unreadable', reason: 'EACCES' }],
      });
    });

    it('restores hard links, attributes, ACLs, capabilities, special files and sparseness', async () => {
      const restored = await cliJson<OpRecord>(home.path, [
        'restore',
        'create',
        '--checkpoint',
        checkpoint.id,
        '--parameters',
        JSON.stringify({ 'fs.directory': { target_path: target } }),
      ]);
      expect(restored.status, JSON.stringify(restored.resources_reason)).to.equal('success');
      const t = (rel: string): string => join(target, rel);

      // Two names, one inode, link count 2.
      const [inoA, linksA] = sh('stat', ['-c', '%i %h', t('links/first')]).split(' ');
      const [inoB] = sh('stat', ['-c', '%i %h', t('links/second')]).split(' ');
      expect(inoA).to.equal(inoB);
      expect(linksA).to.equal('2');
      expect(readFileSync(t('links/second'), 'utf8')).to.equal('one inode, two names\n');

      expect(sh('getfattr', ['--absolute-names', '--only-values', '-n', 'user.note', t('note.txt')])).to.equal('kept by bulwark');
      expect(sh('getfattr', ['--absolute-names', '--only-values', '-n', 'trusted.origin', t('trusted.txt')])).to.equal('lab');
      expect(sh('getcap', [t('bin/server')])).to.match(/cap_net_bind_service[=+]ep/);
      expect(sh('getfacl', ['-p', '-c', t('acl.txt')])).to.match(/^user:nobody:r--$/m);
      expect(sh('getfacl', ['-p', '-c', t('shared')])).to.match(/^default:user:nobody:r-x$/m);

      expect(sh('stat', ['-c', '%F', t('pipe')])).to.equal('fifo');
      expect(sh('stat', ['-c', '%F %t:%T', t('null-device')])).to.equal('character special file 1:3');

      expect(sh('stat', ['-c', '%s', t('sparse.img')])).to.equal(String(SPARSE_SIZE));
      const allocated = Number(sh('stat', ['-c', '%b', t('sparse.img')])) * 512;
      expect(allocated, 'bytes allocated to the 100 MB sparse file').to.be.at.most(1024 * 1024);
      const fd = openSync(t('sparse.img'), 'r');
      const one = Buffer.alloc(1);
      expect(readSync(fd, one, 0, 1, SPARSE_SIZE / 2)).to.equal(1);
      closeSync(fd);
      expect(one.toString()).to.equal('!');

      // Not captured, so not restored; the socket is not recreated (the next test shows it is reported).
      expect(existsSync(t('secret/unreadable.txt'))).to.equal(false);
      expect(existsSync(t('listening.sock'))).to.equal(false);
    });

    it('a re-protect (unchanged files reused from the format-3 checkpoint) says the count in the table output too', async () => {
      const r = await protectCli(['checkpoint', 'create', '--plan', planId], false);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stderr).to.contain(`${ref()}: 1 entry not captured (listed by: bulwark checkpoint show`);
    });

    it('reports the socket it did not recreate: on_not_restored "fail" names it', async () => {
      const r = await runCli(home.path, [
        'restore',
        'create',
        '--checkpoint',
        checkpoint.id,
        '--parameters',
        JSON.stringify({ 'fs.directory': { target_path: join(root, 'strict'), on_not_restored: 'fail' } }),
      ]);
      const rec = r.json<OpRecord>();
      expect(rec.status).to.not.equal('success');
      expect(rec.resources_reason[ref()]).to.contain('BWK_ERR_ENTRIES_NOT_RESTORED').and.contain('listening.sock');
    });

    it('on_unreadable "fail" stores nothing and names the unreadable file', async () => {
      const plan = await cliJson<{ id: string }>(home.path, [
        'plan',
        'create',
        '--name',
        `fidelity-strict-${engine}`,
        '--provider',
        'fs-directory',
        '--resource',
        `fs.directory=${source}`,
        '--parameters',
        JSON.stringify({ 'fs.directory': { on_unreadable: 'fail' } }),
      ]);
      const r = await protectCli(['checkpoint', 'create', '--plan', plan.id]);
      expect(r.code).to.not.equal(0);
      expect(r.stderr).to.contain('BWK_ERR_ENTRIES_NOT_CAPTURED').and.contain('secret/unreadable.txt');
    });
  });
}
