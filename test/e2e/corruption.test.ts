import { expect } from 'chai';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { cliJson, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/paths.js';
import { flipChunkByte, homeBank, resourceSectionPrefix } from '../helpers/bank-files.js';

interface OpRecord {
  id: string;
  status: string;
  resources_status: Record<string, string>;
  resources_reason: Record<string, string>;
}

describe('e2e: a byte changed in the bank is caught by verify and restore', function () {
  this.timeout(120_000);
  const home = tempDir('home');
  const work = tempDir('work');
  const source = join(work.path, 'src');
  let checkpointId = '';

  before(async () => {
    mkdirSync(source);
    writeFileSync(join(source, 'a.txt'), 'alpha\n');
    writeFileSync(join(source, 'payload.bin'), randomBytes(256 * 1024));
    writeFileSync(join(source, 'z.txt'), 'zulu\n');
    const plan = await cliJson<{ id: string }>(home.path, [
      'plan',
      'create',
      '--name',
      'rot',
      '--provider',
      'fs-directory',
      '--resource',
      `fs.directory=${source}`,
    ]);
    checkpointId = (await cliJson<{ id: string }>(home.path, ['checkpoint', 'create', '--plan', plan.id])).id;
    // payload.bin follows a.txt (6 bytes) in the data object: flip a stored byte of its chunk in its pack.
    await flipChunkByte(homeBank(home.path), resourceSectionPrefix(home.path, checkpointId), 'data', 6 + 1000);
  });
  after(() => {
    home.cleanup();
    work.cleanup();
  });

  it('verification ends fail, naming the resource and the file', async () => {
    const r = await runCli(home.path, ['verification', 'create', '--checkpoint', checkpointId]);
    expect(r.code).to.equal(1);
    const v = r.json<OpRecord>();
    expect(v.status).to.equal('fail');
    const ref = `fs.directory#${source}`;
    expect(v.resources_status[ref]).to.equal('fail');
    expect(v.resources_reason[ref])
      .to.match(/BWK_ERR_DATA_CORRUPT/)
      .and.to.include(ref)
      .and.to.include('payload.bin');
    const why = r.error();
    expect(why.code).to.equal('BWK_ERR_DATA_CORRUPT');
    expect(why.message).to.include(`verification ${v.id} ended fail`).and.to.include('payload.bin');
  });

  it('restore reports fail and never lands the corrupted file', async () => {
    const target = join(work.path, 'restored');
    const r = await runCli(home.path, [
      'restore',
      'create',
      '--checkpoint',
      checkpointId,
      '--parameters',
      JSON.stringify({ 'fs.directory': { target_path: target } }),
    ]);
    expect(r.code).to.equal(1);
    const restore = r.json<OpRecord>();
    expect(restore.status).to.equal('fail');
    expect(restore.resources_reason[`fs.directory#${source}`])
      .to.match(/BWK_ERR_DATA_CORRUPT/)
      .and.to.include('payload.bin');
    expect(existsSync(join(target, 'payload.bin'))).to.equal(false);
    const leftovers = existsSync(target) ? readdirSync(target).filter((n) => n !== 'a.txt') : [];
    expect(leftovers, 'no temp files left behind').to.deep.equal([]);
  });
});
