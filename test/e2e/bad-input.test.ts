import { expect } from 'chai';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliJson, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/paths.js';
import { addRootTreeEntry } from '../helpers/bank-files.js';

interface OpRecord {
  id: string;
  status: string;
  resources_reason: Record<string, string>;
}

/** Each bad input: non-zero exit, a coded JSON error on stderr, and nothing written. */
describe('e2e: bad input is refused with a clear, coded error and changes nothing', function () {
  this.timeout(120_000);
  const home = tempDir('home');
  const work = tempDir('work');
  const source = join(work.path, 'data');
  const allowed = join(work.path, 'allowed');
  let planId = '';
  let checkpointId = '';

  before(async () => {
    mkdirSync(source);
    mkdirSync(allowed);
    writeFileSync(join(source, 'f.txt'), 'content\n');
    writeFileSync(join(home.path, 'bulwark.yaml'), `restore:\n  allowed_target_paths: [${JSON.stringify(allowed)}]\n`);
    planId = (
      await cliJson<{ id: string }>(home.path, [
        'plan',
        'create',
        '--name',
        'ok',
        '--provider',
        'fs-directory',
        '--resource',
        `fs.directory=${source}`,
      ])
    ).id;
    checkpointId = (await cliJson<{ id: string }>(home.path, ['checkpoint', 'create', '--plan', planId])).id;
  });
  after(() => {
    home.cleanup();
    work.cleanup();
  });

  async function refused(args: string[], code: string, message?: RegExp) {
    const r = await runCli(home.path, args);
    expect(r.code, r.stderr).to.equal(1);
    expect(r.stdout).to.equal('');
    const err = r.error();
    expect(err.code).to.equal(code);
    if (message) expect(err.message).to.match(message);
    return err;
  }
  const planCount = async () => (await cliJson<unknown[]>(home.path, ['plan', 'list'])).length;
  const restoreCount = async () => (await cliJson<unknown[]>(home.path, ['restore', 'list'])).length;

  it('unknown resource type', async () => {
    await refused(
      ['plan', 'create', '--name', 'x', '--provider', 'fs-directory', '--resource', `fs.dirctory=${source}`],
      'BWK_ERR_RESOURCE_TYPE_UNKNOWN',
      /fs\.dirctory.*supported: fs\.directory/,
    );
    expect(await planCount()).to.equal(1);
  });

  it('an exclude that climbs out with ".." is refused when the plan is created, not at its first protect', async () => {
    await refused(
      [
        'plan',
        'create',
        '--name',
        'x',
        '--provider',
        'fs-directory',
        '--resource',
        `fs.directory=${source}`,
        '--parameters',
        JSON.stringify({ 'fs.directory': { exclude: ['../../etc'] } }),
      ],
      'BWK_ERR_INVALID_INPUT',
      /exclude/,
    );
    expect(await planCount()).to.equal(1);
  });

  it('unknown provider', async () => {
    await refused(
      ['plan', 'create', '--name', 'x', '--provider', '0f0f0f0f-0000-4000-8000-000000000000', '--resource', `fs.directory=${source}`],
      'BWK_ERR_PROVIDER_UNKNOWN',
      /known providers: .*fs-directory/,
    );
    await refused(['provider', 'show', 'no-such-provider'], 'BWK_ERR_PROVIDER_NOT_FOUND');
    expect(await planCount()).to.equal(1);
  });

  it('a resource that does not exist', async () => {
    await refused(
      ['plan', 'create', '--name', 'x', '--provider', 'fs-directory', '--resource', `fs.directory=${join(work.path, 'missing')}`],
      'BWK_ERR_RESOURCE_NOT_FOUND',
    );
    expect(await planCount()).to.equal(1);
  });

  it('plan parameters violating the plugin schema (type, unknown field)', async () => {
    await refused(
      [
        'plan',
        'create',
        '--name',
        'x',
        '--provider',
        'fs-directory',
        '--resource',
        `fs.directory=${source}`,
        '--parameters',
        '{"fs.directory": {"exclude": "tmp"}}',
      ],
      'BWK_ERR_PARAMETERS_INVALID',
      /exclude: must be array/,
    );
    await refused(
      [
        'plan',
        'create',
        '--name',
        'x',
        '--provider',
        'fs-directory',
        '--resource',
        `fs.directory=${source}`,
        '--parameters',
        '{"fs.directory": {"excludes": []}}',
      ],
      'BWK_ERR_PARAMETERS_INVALID',
      /unknown field "excludes"/,
    );
    await refused(
      [
        'plan',
        'create',
        '--name',
        'x',
        '--provider',
        'fs-directory',
        '--resource',
        `fs.directory=${source}`,
        '--parameters',
        '{"postgres.database": {}}',
      ],
      'BWK_ERR_PARAMETERS_KEY_UNKNOWN',
    );
    await refused(
      ['plan', 'create', '--name', 'x', '--provider', 'fs-directory', '--resource', `fs.directory=${source}`, '--parameters', '{not json'],
      'BWK_ERR_INVALID_INPUT',
      /not valid JSON/,
    );
    expect(await planCount()).to.equal(1);
  });

  it('restore parameters violating the schema (enum, required type)', async () => {
    const target = join(allowed, 'r1');
    await refused(
      [
        'restore',
        'create',
        '--checkpoint',
        checkpointId,
        '--parameters',
        JSON.stringify({ 'fs.directory': { target_path: target, conflict: 'explode' } }),
      ],
      'BWK_ERR_PARAMETERS_INVALID',
      /conflict: must be one of "fail", "skip", "overwrite"/,
    );
    await refused(
      ['restore', 'create', '--checkpoint', checkpointId, '--parameters', JSON.stringify({ 'fs.directory': { target_path: 42 } })],
      'BWK_ERR_PARAMETERS_INVALID',
      /target_path: must be string/,
    );
    expect(existsSync(target)).to.equal(false);
    expect(await restoreCount()).to.equal(0);
  });

  it("restore target outside the restore policy, or inside Bulwark's home", async () => {
    const outside = join(work.path, 'elsewhere');
    await refused(
      ['restore', 'create', '--checkpoint', checkpointId, '--parameters', JSON.stringify({ 'fs.directory': { target_path: outside } })],
      'BWK_ERR_RESTORE_TARGET_DENIED',
      /elsewhere/,
    );
    writeFileSync(join(home.path, 'bulwark.yaml'), 'restore:\n  allowed_target_paths: ["/"]\n');
    try {
      await refused(
        [
          'restore',
          'create',
          '--checkpoint',
          checkpointId,
          '--parameters',
          JSON.stringify({ 'fs.directory': { target_path: join(home.path, 'bank', 'x') } }),
        ],
        'BWK_ERR_RESTORE_TARGET_DENIED',
      );
    } finally {
      writeFileSync(join(home.path, 'bulwark.yaml'), `restore:\n  allowed_target_paths: [${JSON.stringify(allowed)}]\n`);
    }
    expect(existsSync(outside)).to.equal(false);
    expect(await restoreCount()).to.equal(0);
  });

  it('a crafted archive entry named .. (or a hard link to ../) restores nothing', async () => {
    const plan = await cliJson<{ id: string }>(home.path, [
      'plan',
      'create',
      '--name',
      'crafted',
      '--provider',
      'fs-directory',
      '--resource',
      `fs.directory=${source}`,
    ]);
    const cp = await cliJson<{ id: string }>(home.path, ['checkpoint', 'create', '--plan', plan.id]);
    const base = { mode: 0o755, uid: 0, gid: 0, mtime_ns: '0' };
    // Format 3 trees hold names, never paths: ".." as a name is a malformed tree, refused before anything is written.
    await addRootTreeEntry(home.path, cp.id, { ...base, name: '..', type: 'dir', tree: '0'.repeat(64) });
    const target = join(allowed, 'crafted');
    const restoreInto = () =>
      runCli(home.path, [
        'restore',
        'create',
        '--checkpoint',
        cp.id,
        '--parameters',
        JSON.stringify({ 'fs.directory': { target_path: target } }),
      ]);
    let r = await restoreInto();
    expect(r.code).to.equal(1);
    let restore = r.json<OpRecord>();
    expect(restore.status).to.equal('fail');
    expect(restore.resources_reason[`fs.directory#${source}`])
      .to.match(/BWK_ERR_DATA_CORRUPT/)
      .and.to.include('name is ".."');
    expect(existsSync(target) ? readdirSync(target) : []).to.deep.equal([]);

    // A hard link whose file path climbs out: it names no file archived before it, refused the same way.
    const cp2 = await cliJson<{ id: string }>(home.path, ['checkpoint', 'create', '--plan', plan.id]);
    await addRootTreeEntry(home.path, cp2.id, { ...base, name: 'evil', type: 'hardlink', target: '../escaped' });
    cp.id = cp2.id;
    r = await restoreInto();
    expect(r.code).to.equal(1);
    restore = r.json<OpRecord>();
    expect(restore.resources_reason[`fs.directory#${source}`])
      .to.match(/BWK_ERR_DATA_CORRUPT/)
      .and.to.include('../escaped');
    expect(existsSync(join(allowed, 'escaped'))).to.equal(false);
    expect(existsSync(target) ? readdirSync(target) : []).to.deep.equal([]);
  });

  it('malformed provider YAML names the file and line', async () => {
    const providers = join(home.path, 'providers');
    const bad = join(providers, 'bad.yaml');
    const known = (await cliJson<unknown[]>(home.path, ['provider', 'list'])).length;
    writeFileSync(
      bad,
      'id: 11111111-2222-4333-8444-555555555555\nname: broken\nplugins:\n  - name: fs.directory\n   options: {}\nbank: {type: fs}\n',
    );
    try {
      await refused(['plan', 'list'], 'BWK_ERR_PROVIDER_INVALID', /bad\.yaml:5: YAML syntax/);
      writeFileSync(
        bad,
        'id: 11111111-2222-4333-8444-555555555555\nname: broken\nplugins:\n  - name: fs.directory\n  - name: fs.dirctory\nbank:\n  type: ' +
          'fs\n',
      );
      await refused(
        ['provider', 'list'],
        'BWK_ERR_PLUGIN_NOT_INSTALLED',
        /bad\.yaml:5: plugin "fs\.dirctory" is not installed \(installed: [^)]*fs\.directory[^)]*\)/,
      );
      writeFileSync(
        bad,
        'id: 11111111-2222-4333-8444-555555555555\nname: broken\nplugins:\n  - name: fs.directory\nbank:\n  type: fs\n  colour: blue\n',
      );
      await refused(['provider', 'list'], 'BWK_ERR_PROVIDER_INVALID', /bad\.yaml:7: bank: unknown field "colour"/);
    } finally {
      rmSync(bad, { force: true });
    }
    expect((await cliJson<unknown[]>(home.path, ['provider', 'list'])).length).to.equal(known);
  });
});
