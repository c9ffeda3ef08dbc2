/**
 * `bulwark bank gc` through the built CLI against a real fs bank: it frees what deleted checkpoints
 * alone used, and never takes a chunk from a protect that runs meanwhile — whether that protect has
 * already recorded its chunk list (a slow second resource keeps its operation alive) or is still
 * writing it (its process frozen mid-write with SIGSTOP, which makes the race deterministic).
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliJson, runCli, spawnCli } from '../helpers/cli.js';
import { RECORDER_PLUGIN, tempDir } from '../helpers/paths.js';
import { waitFor } from '../helpers/wait.js';
import { expectTreeMatches, snapshotTree, treeBytes } from '../helpers/tree.js';
import type { EntrySnapshot } from '../helpers/tree.js';
import type { GcReport } from '../../src/bank/chunks/gc.js';
import type { CheckReport } from '../../src/bank/chunks/check.js';

interface Checkpoint {
  id: string;
  status: string;
  extra_info: { reason?: string };
}
interface OpRecord {
  id: string;
  status: string;
  resources_status: Record<string, string>;
  resources_reason: Record<string, string>;
}

const KiB = 1024;
const MiB = 1024 * KiB;

let restores = 0;
/** Restores a checkpoint into a fresh directory of `work`; returns the restore record and where it went. */
async function restoreInto(
  home: string,
  work: string,
  checkpointId: string,
): Promise<{ record: OpRecord; target: string; stderr: string }> {
  const target = join(work, `restored-${++restores}`);
  const r = await runCli(home, [
    'restore',
    'create',
    '--checkpoint',
    checkpointId,
    '--parameters',
    JSON.stringify({ 'fs.directory': { target_path: target } }),
  ]);
  return { record: r.json<OpRecord>(), target, stderr: r.stderr };
}

async function checkBank(home: string, args: string[] = []): Promise<CheckReport> {
  const r = await runCli(home, ['bank', 'check', '--read-data', ...args]);
  expect(r.code, `bank check --read-data: ${r.stdout} ${r.stderr}`).to.equal(0);
  const report = r.json<CheckReport>();
  expect(report.ok).to.equal(true);
  expect(report.missing_chunks).to.equal(0);
  expect(report.corrupt_chunks).to.equal(0);
  return report;
}

async function gc(home: string, args: string[] = []): Promise<GcReport> {
  return cliJson<GcReport>(home, ['bank', 'gc', '--clock-skew', '0', ...args]);
}

/** Small text files (one chunk each) so a checkpoint has many chunks, not only big ones. */
function smallFiles(dir: string, n: number, tag: string): void {
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < n; i++)
    writeFileSync(join(dir, `note-${i}.txt`), `${tag} note ${i}\n${'lorem ipsum dolor sit amet '.repeat(40 + i)}\n`);
}

/** A child CLI process with its output collected and its exit awaited. */
function background(child: ChildProcess): { exited: Promise<number | null>; stdout(): string; stderr(): string } {
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { exited, stdout: () => out, stderr: () => err };
}

/** The checkpoint ids the bank holds records for. */
const bankCheckpoints = (bank: string): string[] => (existsSync(join(bank, 'checkpoints')) ? readdirSync(join(bank, 'checkpoints')) : []);

/** The single resource directory key of type `type` in a checkpoint of the bank, if written yet. */
function resourceObject(bank: string, checkpointId: string, type: string, name: string): string | undefined {
  const dir = join(bank, 'checkpoints', checkpointId, 'resources');
  if (!existsSync(dir)) return undefined;
  const key = readdirSync(dir).find((k) => k.startsWith(`${type}_`));
  return key === undefined ? undefined : join(dir, key, name);
}

describe('e2e: bank gc frees what deleted checkpoints alone used', function () {
  this.timeout(180_000);
  const home = tempDir('home');
  const work = tempDir('work');
  const source = join(work.path, 'src');
  const bank = join(home.path, 'bank');
  const ids: string[] = [];
  let kept: Map<string, EntrySnapshot>;

  before(async () => {
    mkdirSync(source);
    writeFileSync(join(source, 'stable.bin'), randomBytes(4 * MiB));
    writeFileSync(join(source, 'changing-1.bin'), randomBytes(6 * MiB));
    writeFileSync(join(source, 'changing-2.bin'), randomBytes(6 * MiB));
    smallFiles(join(source, 'notes'), 40, 'v1');
  });
  after(() => {
    home.cleanup();
    work.cleanup();
  });

  it('protects three states of a changing directory', async () => {
    const plan = await cliJson<{ id: string }>(home.path, [
      'plan',
      'create',
      '--name',
      'gc',
      '--provider',
      'fs-directory',
      '--resource',
      `fs.directory=${source}`,
    ]);
    ids.push((await cliJson<Checkpoint>(home.path, ['checkpoint', 'create', '--plan', plan.id])).id);
    writeFileSync(join(source, 'changing-1.bin'), randomBytes(6 * MiB));
    smallFiles(join(source, 'notes'), 10, 'v2');
    ids.push((await cliJson<Checkpoint>(home.path, ['checkpoint', 'create', '--plan', plan.id])).id);
    kept = snapshotTree(source);
    writeFileSync(join(source, 'changing-2.bin'), randomBytes(6 * MiB));
    writeFileSync(join(source, 'changing-1.bin'), randomBytes(6 * MiB));
    smallFiles(join(source, 'notes'), 40, 'v3');
    ids.push((await cliJson<Checkpoint>(home.path, ['checkpoint', 'create', '--plan', plan.id])).id);
    for (const id of ids) expect((await cliJson<Checkpoint>(home.path, ['checkpoint', 'show', id])).status).to.equal('available');
  });

  it('deletes the first and the last; gc frees their bytes; check --read-data passes; the middle one restores intact', async () => {
    await cliJson(home.path, ['checkpoint', 'delete', ids[0]!]);
    await cliJson(home.path, ['checkpoint', 'delete', ids[2]!]);
    const before = treeBytes(bank);
    const report = await gc(home.path);
    const after = treeBytes(bank);
    // changing-1 v1, v3 and changing-2 v2 (18 MiB of random data) were only in deleted checkpoints.
    expect(report.bytes_freed, JSON.stringify(report)).to.be.at.least(16 * MiB);
    expect(before - after, `bank went from ${before} to ${after} bytes`).to.be.at.least(16 * MiB);
    expect(report.fossils_waiting).to.equal(0);
    const check = await checkBank(home.path);
    expect(check.fossils).to.equal(0);
    expect(check.packs_read).to.equal(check.packs);
    expect((await cliJson<Checkpoint[]>(home.path, ['checkpoint', 'list'])).map((c) => c.id)).to.deep.equal([ids[1]]);
    const { record, target, stderr } = await restoreInto(home.path, work.path, ids[1]!);
    expect(record.status, stderr).to.equal('success');
    expectTreeMatches(target, kept);
  });

  it('a second gc finds nothing more to free', async () => {
    const before = treeBytes(bank);
    const report = await gc(home.path);
    expect(report.packs_fossilized + report.fossils_deleted + report.orphan_packs_deleted, JSON.stringify(report)).to.equal(0);
    expect(treeBytes(bank)).to.equal(before);
    await checkBank(home.path);
  });
});

describe('e2e: bank gc racing a running protect loses nothing', function () {
  this.timeout(180_000);
  const PROVIDER_ID = '5e7e57e5-0000-4000-8000-00000000ec01';

  /** A home whose provider protects fs.directory and the slow test.recorder into <home>/bank. */
  function setUp(home: string, log: string): void {
    mkdirSync(join(home, 'providers'), { recursive: true });
    writeFileSync(
      join(home, 'providers', 'mixed.yaml'),
      [
        `id: ${PROVIDER_ID}`,
        'name: mixed',
        'plugins:',
        '  - name: fs.directory',
        '  - name: test.recorder',
        `    module: ${JSON.stringify(RECORDER_PLUGIN)}`,
        `    options: ${JSON.stringify({ log_file: log, log_end: true })}`,
        'bank:',
        '  type: fs',
        '  options: {path: bank}',
        '',
      ].join('\n'),
    );
  }

  describe('while its directory is recorded and a slow resource still runs', () => {
    const home = tempDir('home');
    const work = tempDir('work');
    const source = join(work.path, 'src');
    const bank = join(home.path, 'bank');
    const log = join(work.path, 'hooks.log');
    let planId = '';
    let cp1 = '';
    let cp2 = '';
    let sourceAtCp2: Map<string, EntrySnapshot>;

    before(() => {
      setUp(home.path, log);
      mkdirSync(source);
      writeFileSync(join(source, 'keep.bin'), randomBytes(3 * MiB));
      writeFileSync(join(source, 'replaced.bin'), randomBytes(8 * MiB));
      smallFiles(join(source, 'notes'), 30, 'v1');
    });
    after(() => {
      home.cleanup();
      work.cleanup();
    });

    it('protects cp1, then runs gc while cp2 is still running: nothing cp2 needs goes', async () => {
      const plan = await cliJson<{ id: string }>(home.path, [
        'plan',
        'create',
        '--name',
        'race',
        '--provider',
        PROVIDER_ID,
        '--resource',
        `fs.directory=${source}`,
        '--resource',
        'test.recorder=slow',
      ]);
      planId = plan.id;
      cp1 = (await cliJson<Checkpoint>(home.path, ['checkpoint', 'create', '--plan', planId])).id;
      // cp2: the recorder sleeps in its main hook, keeping the operation (and its lease) alive.
      await cliJson(home.path, ['plan', 'update', planId, '--parameters', JSON.stringify({ 'test.recorder': { delay_ms: 2000 } })]);
      writeFileSync(join(source, 'replaced.bin'), randomBytes(8 * MiB));
      smallFiles(join(source, 'notes'), 5, 'v2');
      sourceAtCp2 = snapshotTree(source);
      writeFileSync(log, '');
      const child = spawnCli(home.path, ['checkpoint', 'create', '--plan', planId]);
      const run = background(child);
      try {
        // The recorder's main has begun and the directory's data is recorded (its saved_info is written last).
        cp2 = await waitFor(
          'cp2 to record its directory while the recorder sleeps',
          () => {
            const id = bankCheckpoints(bank).find((c) => c !== cp1);
            if (id === undefined || !readFileSync(log, 'utf8').includes(`protect slow main ${child.pid}`)) return undefined;
            return existsSync(join(bank, 'checkpoints', id, 'saved-info')) &&
              readdirSync(join(bank, 'checkpoints', id, 'saved-info')).some((n) => n.startsWith('fs.directory_'))
              ? id
              : undefined;
          },
          60_000,
          20,
        );
        // Freeze cp2 so gc surely runs while it is in flight (its 60 s lease outlives the pause).
        child.kill('SIGSTOP');
        expect(readFileSync(log, 'utf8')).not.to.include('protect slow main:end');
        await cliJson(home.path, ['checkpoint', 'delete', cp1]);
        const report = await gc(home.path, ['--provider', PROVIDER_ID]);
        // cp1's pack held replaced.bin v1 (unused now) and chunks cp2 reuses: those were copied out, the
        // pack became a fossil that waits for cp2; packs cp2 wrote are too new to judge.
        expect(report.fossils_deleted, JSON.stringify(report)).to.equal(0);
        expect(report.orphan_packs_deleted, JSON.stringify(report)).to.equal(0);
        expect(report.fossils_waiting, JSON.stringify(report)).to.be.at.least(1);
        expect(report.packs_too_new, JSON.stringify(report)).to.be.at.least(1);
      } finally {
        child.kill('SIGCONT');
      }
      expect(await run.exited, run.stderr()).to.equal(0);
      expect(JSON.parse(run.stdout()).status).to.equal('available');
      expect((await cliJson<Checkpoint>(home.path, ['checkpoint', 'show', cp2])).status).to.equal('available');
    });

    it('after cp2 finished: check --read-data passes and cp2 restores equal to its source', async () => {
      await checkBank(home.path, ['--provider', PROVIDER_ID]);
      const { record, target, stderr } = await restoreInto(home.path, work.path, cp2);
      expect(record.status, `${JSON.stringify(record.resources_reason)} ${stderr}`).to.equal('success');
      expectTreeMatches(join(target), sourceAtCp2);
    });

    it('a second gc (nothing running) deletes the fossil; check and restore still pass', async () => {
      const before = treeBytes(bank);
      const report = await gc(home.path, ['--provider', PROVIDER_ID]);
      expect(report.fossils_deleted + report.fossils_restored, JSON.stringify(report)).to.be.at.least(1);
      expect(report.fossils_waiting).to.equal(0);
      expect(treeBytes(bank)).to.be.below(before);
      const check = await checkBank(home.path, ['--provider', PROVIDER_ID]);
      expect(check.fossils).to.equal(0);
      const { record, target, stderr } = await restoreInto(home.path, work.path, cp2);
      expect(record.status, `${JSON.stringify(record.resources_reason)} ${stderr}`).to.equal('success');
      expectTreeMatches(target, sourceAtCp2);
    });
  });

  describe('while its directory is still being written (chunk list not yet recorded)', () => {
    const home = tempDir('home');
    const work = tempDir('work');
    const source = join(work.path, 'src');
    const bank = join(home.path, 'bank');
    const log = join(work.path, 'hooks.log');
    let cp1 = '';
    let cp2 = '';
    let sourceAtCp2: Map<string, EntrySnapshot>;

    before(() => {
      setUp(home.path, log);
      mkdirSync(source);
      // Walked in name order: a-old is reused from cp1 before z-new (big, new) is chunked.
      writeFileSync(join(source, 'a-old.bin'), randomBytes(6 * MiB));
      smallFiles(join(source, 'b-notes'), 20, 'v1');
    });
    after(() => {
      home.cleanup();
      work.cleanup();
    });

    it('protects cp1; freezes cp2 mid-write; deletes cp1 and runs gc; cp2 still completes available', async () => {
      const plan = await cliJson<{ id: string }>(home.path, [
        'plan',
        'create',
        '--name',
        'race-mid-write',
        '--provider',
        PROVIDER_ID,
        '--resource',
        `fs.directory=${source}`,
      ]);
      cp1 = (await cliJson<Checkpoint>(home.path, ['checkpoint', 'create', '--plan', plan.id])).id;
      writeFileSync(join(source, 'z-new.bin'), randomBytes(128 * MiB));
      sourceAtCp2 = snapshotTree(source);
      const indexes = join(bank, 'chunks', 'index');
      const packsBefore = new Set(readdirSync(indexes));
      const child = spawnCli(home.path, ['checkpoint', 'create', '--plan', plan.id]);
      const run = background(child);
      try {
        cp2 = await waitFor(
          'cp2 to store a pack of z-new.bin',
          () => {
            const id = bankCheckpoints(bank).find((c) => c !== cp1);
            if (id === undefined || !readdirSync(indexes).some((p) => !packsBefore.has(p))) return undefined;
            return id;
          },
          60_000,
          5,
        );
        child.kill('SIGSTOP');
        const data = resourceObject(bank, cp2, 'fs.directory', 'data');
        expect(data !== undefined && existsSync(data), 'precondition: cp2 frozen before recording its chunk list').to.equal(false);
        await cliJson(home.path, ['checkpoint', 'delete', cp1]);
        const report = await gc(home.path, ['--provider', PROVIDER_ID]);
        // cp1's chunks are referenced by no recorded list now, but cp2 (running) counts on them.
        expect(report.fossils_deleted, JSON.stringify(report)).to.equal(0);
        expect(report.orphan_packs_deleted, JSON.stringify(report)).to.equal(0);
        expect(report.fossils_waiting, JSON.stringify(report)).to.be.at.least(1);
      } finally {
        child.kill('SIGCONT');
      }
      expect(await run.exited, run.stderr()).to.equal(0);
      expect(JSON.parse(run.stdout()).status).to.equal('available');
    });

    it('check --read-data passes and cp2 restores equal to its source, before any further gc', async () => {
      await checkBank(home.path, ['--provider', PROVIDER_ID]);
      const { record, target, stderr } = await restoreInto(home.path, work.path, cp2);
      expect(record.status, `${JSON.stringify(record.resources_reason)} ${stderr}`).to.equal('success');
      expectTreeMatches(target, sourceAtCp2);
    });

    const secondGc =
      'cp2 put back the fossil it depended on when it recorded its list: a second gc restores none, frees only what nothing references';
    it(secondGc, async () => {
      const report = await gc(home.path, ['--provider', PROVIDER_ID]);
      expect(report.fossils_restored, JSON.stringify(report)).to.equal(0);
      expect(report.fossils_waiting, JSON.stringify(report)).to.equal(0);
      await checkBank(home.path, ['--provider', PROVIDER_ID]);
      const { record, target, stderr } = await restoreInto(home.path, work.path, cp2);
      expect(record.status, `${JSON.stringify(record.resources_reason)} ${stderr}`).to.equal('success');
      expectTreeMatches(target, sourceAtCp2);
    });
  });
});
