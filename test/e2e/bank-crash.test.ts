/**
 * A protect SIGKILLed while it writes packs: once its lease expires the bank still checks clean (the
 * killed writer's unindexed packs are reported, not failed), the next protect reuses every chunk the
 * killed one had committed, restores are exact, and gc then removes the leftovers.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliJson, runCli, spawnCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/paths.js';
import { waitFor } from '../helpers/wait.js';
import { expectTreeMatches, snapshotTree, treeBytes } from '../helpers/tree.js';
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
  resources_reason: Record<string, string>;
}

const MiB = 1024 * 1024;

/** The fs bank writes every object as `.tmp-<uuid>` beside its key, then renames it. */
const isTemp = (name: string): boolean => name.startsWith('.tmp-');
/** Object names in one bank directory (temp files are not objects). */
const objects = (dir: string): string[] => readdirSync(dir).filter((n) => !isTemp(n));

/** Files below `dir` (relative paths), temp files included. */
function listFiles(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(dir, rel))) {
    const r = rel ? `${rel}/${name}` : name;
    if (lstatSync(join(dir, r)).isDirectory()) out.push(...listFiles(dir, r));
    else out.push(r);
  }
  return out;
}

async function check(home: string, readData: boolean): Promise<CheckReport> {
  const r = await runCli(home, ['bank', 'check', ...(readData ? ['--read-data'] : [])]);
  expect(r.code, `bank check${readData ? ' --read-data' : ''}: ${r.stdout} ${r.stderr}`).to.equal(0);
  const report = r.json<CheckReport>();
  expect(report.ok).to.equal(true);
  expect(report.missing_chunks).to.equal(0);
  expect(report.corrupt_chunks).to.equal(0);
  expect(report.damaged_packs).to.deep.equal([]);
  expect(report.unreadable).to.deep.equal([]);
  if (readData) expect(report.packs_read).to.equal(report.packs);
  return report;
}

describe('e2e: a protect killed mid-write leaves a bank that checks clean, and its chunks are reused', function () {
  this.timeout(180_000);
  const home = tempDir('home');
  const work = tempDir('work');
  const source = join(work.path, 'src');
  const bank = join(home.path, 'bank');
  const packs = join(bank, 'chunks', 'packs');
  const indexes = join(bank, 'chunks', 'index');
  const FILES = 10;
  const FILE_BYTES = 15 * MiB;
  const total = FILES * FILE_BYTES;
  let planId = '';
  let killedId = '';
  /** Bytes of the packs that had an index when the protect died: chunks the next protect can reuse. */
  let storedAtKill = 0;
  let indexedAtKill = 0;
  let tempAtKill: string[] = [];
  let checkpointId = '';

  before(() => {
    // A lease this short expires soon after the kill (renewed every 0.5 s while the owner lives).
    writeFileSync(join(home.path, 'bulwark.yaml'), 'lease:\n  ttl_ms: 2000\n  renew_interval_ms: 500\n');
    mkdirSync(source);
    for (let i = 0; i < FILES; i++) writeFileSync(join(source, `part-${String(i).padStart(2, '0')}.bin`), randomBytes(FILE_BYTES));
  });
  after(() => {
    home.cleanup();
    work.cleanup();
  });

  it('kills the protect once two pack indexes are stored', async () => {
    planId = (
      await cliJson<{ id: string }>(home.path, [
        'plan',
        'create',
        '--name',
        'killed',
        '--provider',
        'fs-directory',
        '--resource',
        `fs.directory=${source}`,
      ])
    ).id;
    const child = spawnCli(home.path, ['checkpoint', 'create', '--plan', planId]);
    child.stdout.resume();
    child.stderr.resume();
    const exited = new Promise((resolve) => child.on('close', resolve));
    // Two packs committed, and the next one being written (the fs bank writes it as a temp file first).
    await waitFor(
      'two pack indexes and a pack being written',
      () => (existsSync(indexes) && objects(indexes).length >= 2 && readdirSync(packs).some(isTemp) ? true : undefined),
      60_000,
      2,
    );
    child.kill('SIGKILL');
    await exited;
    tempAtKill = listFiles(bank).filter((f) => isTemp(f.split('/').pop()!));
    const indexed = objects(indexes);
    indexedAtKill = indexed.length;
    storedAtKill = indexed.reduce((n, p) => n + lstatSync(join(packs, p)).size, 0);
    // The kill came well before the end: most of the data was not stored yet.
    expect(storedAtKill).to.be.below(total * 0.8);
    // Read from the bank, not with the CLI: a CLI started after the lease expired would already recover it.
    const ids = readdirSync(join(bank, 'checkpoints'));
    expect(ids).to.have.length(1);
    killedId = ids[0]!;
  });

  it('after the lease expires the checkpoint is error, and bank check (and --read-data) passes', async () => {
    const failed = await waitFor(
      'recovery to mark the checkpoint error',
      async () => {
        const c = await cliJson<Checkpoint>(home.path, ['checkpoint', 'show', killedId]);
        return c.status === 'error' ? c : undefined;
      },
      60_000,
      250,
    );
    expect(failed.extra_info.reason).to.match(/BWK_ERR_OPERATION_ABANDONED/);
    const quick = await check(home.path, false);
    expect(quick.packs).to.equal(indexedAtKill);
    const full = await check(home.path, true);
    expect(full.packs).to.equal(indexedAtKill);
  });

  it('the next protect succeeds and stores only what the killed one had not committed', async () => {
    const before = treeBytes(bank);
    const c = await cliJson<Checkpoint>(home.path, ['checkpoint', 'create', '--plan', planId]);
    expect(c.status).to.equal('available');
    checkpointId = c.id;
    const growth = treeBytes(bank) - before;
    const bound = total - storedAtKill + total * 0.1;
    expect(growth, `grew ${growth} bytes; ${total} in the source, ${storedAtKill} stored in indexed packs at the kill`).to.be.at.most(
      bound,
    );
    // And it did store the rest: dedup did not skip data it did not have.
    expect(growth).to.be.at.least(total - storedAtKill - total * 0.1);
  });

  it('restores equal to the source', async () => {
    const target = join(work.path, 'restored');
    const r = await runCli(home.path, [
      'restore',
      'create',
      '--checkpoint',
      checkpointId,
      '--parameters',
      JSON.stringify({ 'fs.directory': { target_path: target } }),
    ]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.json<OpRecord>().status).to.equal('success');
    expectTreeMatches(target, snapshotTree(source));
  });

  it("gc --clock-skew 0 removes the killed writer's leftovers; check --read-data passes", async () => {
    const orphansBefore = (await check(home.path, false)).orphan_packs;
    const report = await cliJson<GcReport>(home.path, ['bank', 'gc', '--clock-skew', '0']);
    expect(report.orphan_packs_deleted, JSON.stringify(report)).to.equal(orphansBefore);
    expect(report.fossils_waiting).to.equal(0);
    const after = await check(home.path, true);
    expect(after.orphan_packs).to.equal(0);
    expect((await cliJson<Checkpoint>(home.path, ['checkpoint', 'show', checkpointId])).status).to.equal('available');
  });

  it('no temp file of the killed writer is left in the bank after gc', () => {
    expect(tempAtKill, 'precondition: the kill interrupted a pack write').not.to.deep.equal([]);
    const leftovers = listFiles(bank).filter((f) => isTemp(f.split('/').pop()!));
    expect(leftovers, `partial objects of the killed protect, never collected (at the kill: ${tempAtKill.join(', ')})`).to.deep.equal([]);
  });
});
