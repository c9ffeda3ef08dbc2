/**
 * `key create|show` and `checkpoint export|import` through the built CLI, as an operator moves a
 * checkpoint from one deployment (home) to another: the private key stays in a 0600 file and out of
 * every output, the passphrase comes from the environment only, and the receiver restores the files.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/paths.js';
import { expectTreeMatches, snapshotTree } from '../helpers/tree.js';

const FS = 'cf56bd3e-97a7-4078-b6d5-f36246333fd9';

describe('checkpoint export and import (e2e)', function () {
  this.timeout(300_000);
  const a = tempDir('bwk-xcli-a');
  const b = tempDir('bwk-xcli-b');
  const work = tempDir('bwk-xcli-work');
  const env = { BULWARK_EXPORT_PASSPHRASE: 'moving day passphrase' };
  after(() => {
    a.cleanup();
    b.cleanup();
    work.cleanup();
  });

  it('moves a checkpoint to another deployment that restores it byte-identical', async () => {
    const data = join(work.path, 'data');
    mkdirSync(data);
    writeFileSync(join(data, 'a.bin'), randomBytes(300_000));
    writeFileSync(join(data, 'b.txt'), 'text\n'.repeat(1000));

    const missing = await runCli(a.path, ['key', 'show']);
    expect(missing.code).to.equal(1);
    expect(missing.error().code).to.equal('BWK_ERR_DEPLOYMENT_KEY_MISSING');
    const created = await runCli(a.path, ['key', 'create']);
    expect(created.code, created.stderr).to.equal(0);
    const { public_key, file } = created.json<{ public_key: string; file: string }>();
    expect(public_key).to.match(/^ed25519:[A-Za-z0-9_-]{43}$/);
    expect(statSync(file).mode & 0o777).to.equal(0o600);
    const pem = readFileSync(file, 'utf8');
    expect(created.stdout + created.stderr).not.to.include(pem.split('\n')[1]);
    expect((await runCli(a.path, ['key', 'show'])).json<{ public_key: string }>().public_key).to.equal(public_key);
    const again = await runCli(a.path, ['key', 'create']);
    expect(again.error().code).to.equal('BWK_ERR_DEPLOYMENT_KEY_EXISTS');
    expect(readFileSync(file, 'utf8')).to.equal(pem);

    const plan = (await runCli(a.path, ['plan', 'create', '--name', 'site', '--provider', FS, '--resource', `fs.directory=${data}`])).json<{
      id: string;
    }>();
    const checkpoint = (await runCli(a.path, ['checkpoint', 'create', '--plan', plan.id])).json<{ id: string; status: string }>();
    expect(checkpoint.status).to.equal('available');
    const archive = join(work.path, 'site.bwkx');
    const noPass = await runCli(a.path, ['checkpoint', 'export', checkpoint.id, '--out', archive]);
    expect(noPass.error().code).to.equal('BWK_ERR_EXPORT_PASSPHRASE_REQUIRED');
    const exported = await runCli(a.path, ['checkpoint', 'export', checkpoint.id, '--out', archive], { env });
    expect(exported.code, exported.stderr).to.equal(0);
    expect(exported.json<{ public_key: string; bytes: number }>()).to.include({ public_key, bytes: statSync(archive).size });

    const untrusted = await runCli(b.path, ['checkpoint', 'import', archive, '--provider', 'fs-directory'], { env });
    expect(untrusted.code).to.equal(1);
    expect(untrusted.error().code).to.equal('BWK_ERR_ARCHIVE_UNTRUSTED');
    const imported = await runCli(b.path, ['checkpoint', 'import', archive, '--provider', 'fs-directory', '--trust-key', public_key], {
      env,
    });
    expect(imported.code, imported.stderr).to.equal(0);
    const report = imported.json<{
      checkpoint: { id: string; status: string; extra_info: { imported_from: { checkpoint_id: string } } };
    }>();
    expect(report.checkpoint.status).to.equal('available');
    expect(report.checkpoint.extra_info.imported_from.checkpoint_id).to.equal(checkpoint.id);
    const target = join(work.path, 'restored');
    const restore = await runCli(b.path, [
      'restore',
      'create',
      '--checkpoint',
      report.checkpoint.id,
      '--parameters',
      JSON.stringify({ 'fs.directory': { target_path: target } }),
    ]);
    expect(restore.code, restore.stderr).to.equal(0);
    expectTreeMatches(target, snapshotTree(data));
  });
});
