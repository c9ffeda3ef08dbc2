import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { chmodSync, lutimesSync, mkdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliJson, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/paths.js';
import { expectTreeMatches, snapshotTree } from '../helpers/tree.js';

interface Checkpoint {
  id: string;
  status: string;
  protection_plan: { id: string; name: string };
  project_id: string;
  provider_id: string;
  resource_graph: unknown;
  created_at: string;
  extra_info: unknown;
}
interface OpRecord {
  id: string;
  status: string;
  checkpoint_id: string;
  resources_status: Record<string, string>;
  resources_reason: Record<string, string>;
  project_id: string;
  provider_id: string;
  parameters: unknown;
}

/** Builds the tree the issue names: nested dirs, a symlink, an empty dir, binary, non-ASCII name, 50 MB file. */
function buildTree(root: string): void {
  mkdirSync(join(root, 'nested/deeper/deepest'), { recursive: true });
  mkdirSync(join(root, 'empty-dir'));
  mkdirSync(join(root, 'été'));
  writeFileSync(join(root, 'nested/deeper/deepest/notes.txt'), 'deep text\n');
  writeFileSync(join(root, 'été/ファイル.txt'), 'non-ASCII name\n');
  writeFileSync(join(root, 'binary.bin'), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)));
  writeFileSync(join(root, 'big.dat'), randomBytes(50 * 1024 * 1024));
  writeFileSync(join(root, 'secret.key'), 'private\n');
  chmodSync(join(root, 'secret.key'), 0o600);
  writeFileSync(join(root, 'run.sh'), '#!/bin/sh\necho hi\n');
  chmodSync(join(root, 'run.sh'), 0o755);
  symlinkSync('nested/deeper/deepest/notes.txt', join(root, 'link-to-notes'));
  symlinkSync('does/not/exist', join(root, 'dangling'));
  const past = new Date('2021-03-04T05:06:07.123Z');
  utimesSync(join(root, 'binary.bin'), past, past);
  lutimesSync(join(root, 'link-to-notes'), past, past);
  utimesSync(join(root, 'nested/deeper'), past, past);
}

describe('e2e: protect, restore and verify a directory through the built CLI', function () {
  this.timeout(180_000);
  const home = tempDir('home');
  const work = tempDir('work');
  const source = join(work.path, 'source');
  const target = join(work.path, 'restored');
  let planId = '';
  let checkpoint: Checkpoint;

  before(async () => {
    mkdirSync(source);
    buildTree(source);
  });
  after(() => {
    home.cleanup();
    work.cleanup();
  });

  it('creates a plan with the built-in provider', async () => {
    const plan = await cliJson<{ id: string; resources: Array<{ id: string; type: string }>; provider_id: string }>(home.path, [
      'plan',
      'create',
      '--name',
      'e2e',
      '--provider',
      'fs-directory',
      '--resource',
      `fs.directory=${source}`,
    ]);
    expect(plan.resources).to.deep.equal([{ type: 'fs.directory', id: source, name: 'source' }]);
    expect(plan.provider_id).to.equal('cf56bd3e-97a7-4078-b6d5-f36246333fd9');
    planId = plan.id;
  });

  it('protects it into an available checkpoint with Karbor field names', async () => {
    checkpoint = await cliJson<Checkpoint>(home.path, ['checkpoint', 'create', '--plan', planId]);
    expect(checkpoint.status).to.equal('available');
    expect(checkpoint).to.include.keys(
      'id',
      'project_id',
      'provider_id',
      'status',
      'protection_plan',
      'resource_graph',
      'created_at',
      'extra_info',
    );
    expect(checkpoint.protection_plan.id).to.equal(planId);
    expect(checkpoint.project_id).to.equal('default');
  });

  it('lists the checkpoint as exactly one JSON document', async () => {
    const r = await runCli(home.path, ['checkpoint', 'list', '--plan', planId]);
    expect(r.code).to.equal(0);
    const list = r.json<Checkpoint[]>();
    expect(list.map((c) => c.id)).to.deep.equal([checkpoint.id]);
  });

  it('restores elsewhere with every byte and every piece of metadata equal', async () => {
    const restore = await cliJson<OpRecord>(home.path, [
      'restore',
      'create',
      '--checkpoint',
      checkpoint.id,
      '--parameters',
      JSON.stringify({ 'fs.directory': { target_path: target } }),
    ]);
    expect(restore.status).to.equal('success');
    expect(restore.resources_status).to.deep.equal({ [`fs.directory#${source}`]: 'success' });
    expect(restore).to.include.keys(
      'id',
      'project_id',
      'provider_id',
      'checkpoint_id',
      'parameters',
      'status',
      'resources_status',
      'resources_reason',
    );
    expectTreeMatches(target, snapshotTree(source));
    const shown = await cliJson<OpRecord>(home.path, ['restore', 'show', restore.id]);
    expect(shown.status).to.equal('success');
  });

  it('verifies the checkpoint by reading it back', async () => {
    const v = await cliJson<OpRecord>(home.path, ['verification', 'create', '--checkpoint', checkpoint.id]);
    expect(v.status).to.equal('success');
    expect(v.resources_status).to.deep.equal({ [`fs.directory#${source}`]: 'success' });
    const list = await cliJson<OpRecord[]>(home.path, ['verification', 'list']);
    expect(list.map((x) => x.id)).to.include(v.id);
  });

  it('refuses to restore over existing files by default, changing nothing', async () => {
    const before = snapshotTree(target);
    const r = await runCli(home.path, [
      'restore',
      'create',
      '--checkpoint',
      checkpoint.id,
      '--parameters',
      JSON.stringify({ 'fs.directory': { target_path: target } }),
    ]);
    expect(r.code).to.equal(1);
    const restore = r.json<OpRecord>();
    expect(restore.status).to.equal('fail');
    expect(restore.resources_reason[`fs.directory#${source}`]).to.match(/BWK_ERR_RESTORE_CONFLICT/);
    expect(r.error().code).to.equal('BWK_ERR_RESTORE_CONFLICT');
    expect(snapshotTree(target)).to.deep.equal(before);
  });

  it('deletes the checkpoint and its data', async () => {
    await cliJson(home.path, ['checkpoint', 'delete', checkpoint.id]);
    const r = await runCli(home.path, ['checkpoint', 'show', checkpoint.id]);
    expect(r.code).to.equal(1);
    expect(r.error().code).to.equal('BWK_ERR_CHECKPOINT_NOT_FOUND');
    expect(await cliJson<Checkpoint[]>(home.path, ['checkpoint', 'list'])).to.deep.equal([]);
  });
});
