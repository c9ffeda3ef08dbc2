import * as fs from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { BankSection, ProtectionPlugin, RestorePolicy } from '../../src/plugins/api.js';
import {
  TempDirs,
  closeStores,
  craftArchive,
  dirResource,
  expectCode,
  loadPlugin,
  newSection,
  restore,
  verify,
} from './fs-plugin-helpers.js';
import type { CraftEntry } from './fs-plugin-helpers.js';

describe('fs.directory plugin: restore never writes outside its target', function () {
  const temps = new TempDirs();
  let protection: ProtectionPlugin;
  let section: BankSection;
  let base: string;
  let target: string;
  let outside: string;

  before(async () => {
    ({ protection } = await loadPlugin());
  });

  beforeEach(() => {
    ({ section } = newSection({ dir: '/src' }));
    base = temps.make();
    target = join(base, 'target');
    outside = join(base, 'outside');
    fs.mkdirSync(target);
    fs.mkdirSync(outside);
  });

  afterEach(() => temps.cleanup());
  after(() => closeStores());

  /** Valid entries first, so a restore that wrote as it went would leave something behind. */
  const benign: CraftEntry[] = [
    { type: 'dir', path: '.' },
    { type: 'dir', path: 'okdir' },
    { type: 'file', path: 'okdir/ok.txt', content: 'fine' },
  ];

  it('restores a hand-crafted archive with only safe entries (the crafted format is the real one)', async () => {
    await craftArchive(section, '/src', [...benign, { type: 'symlink', path: 'link', link: outside }]);
    await verify(protection, dirResource('/src'), section);
    await restore(protection, dirResource('/src'), section, { target_path: target });
    expect(fs.readFileSync(join(target, 'okdir/ok.txt'), 'utf8')).to.equal('fine');
    expect(fs.readlinkSync(join(target, 'link'))).to.equal(outside);
  });

  const cases: { name: string; entries: (outside: string) => CraftEntry[]; escapee: (base: string) => string }[] = [
    { name: '../evil', entries: () => [{ type: 'file', path: '../evil', content: 'x' }], escapee: (b) => join(b, 'evil') },
    {
      name: 'an absolute path',
      entries: (o) => [{ type: 'file', path: join(o, 'abs'), content: 'x' }],
      escapee: (b) => join(b, 'outside', 'abs'),
    },
    { name: 'a/../../x', entries: () => [{ type: 'file', path: 'a/../../x', content: 'x' }], escapee: (b) => join(b, 'x') },
    {
      name: 'an entry under an archived symlink',
      entries: (o) => [
        { type: 'symlink', path: 'link', link: o },
        { type: 'file', path: 'link/file', content: 'x' },
      ],
      escapee: (b) => join(b, 'outside', 'file'),
    },
    {
      name: 'an entry listed before the archived symlink it lies under',
      entries: (o) => [
        { type: 'dir', path: 'd' },
        { type: 'file', path: 'd/link/deeper/file', content: 'x' },
        { type: 'symlink', path: 'd/link', link: o },
      ],
      escapee: (b) => join(b, 'outside', 'deeper', 'file'),
    },
    { name: 'a NUL byte', entries: () => [{ type: 'file', path: 'a\u0000b', content: 'x' }], escapee: (b) => join(b, 'target', 'a') },
    { name: 'an empty segment', entries: () => [{ type: 'file', path: 'a//b', content: 'x' }], escapee: (b) => join(b, 'target', 'a') },
    { name: 'a file named "."', entries: () => [{ type: 'file', path: '.', content: 'x' }], escapee: (b) => join(b, 'target', 'x') },
  ];

  for (const c of cases) {
    it(`refuses ${c.name} with BWK_ERR_UNSAFE_ENTRY, writing nothing anywhere`, async () => {
      await craftArchive(section, '/src', [...benign, ...c.entries(outside)]);
      for (const conflict of ['fail', 'overwrite']) {
        await expectCode(restore(protection, dirResource('/src'), section, { target_path: target, conflict }), 'BWK_ERR_UNSAFE_ENTRY');
        expect(fs.readdirSync(target), 'target stays empty').to.deep.equal([]);
        expect(fs.readdirSync(outside), 'outside stays empty').to.deep.equal([]);
        expect(fs.existsSync(c.escapee(base))).to.equal(false);
      }
    });
  }

  it('verify reports an archive with an unsafe entry as corrupt', async () => {
    await craftArchive(section, '/src', [...benign, { type: 'file', path: '../evil', content: 'x' }]);
    const err = await expectCode(verify(protection, dirResource('/src'), section), 'BWK_ERR_DATA_CORRUPT');
    expect(err.message).to.contain('fs.directory#/src').and.contain('../evil');
  });

  it('refuses to write through a symlink already on disk in the target, whatever the conflict mode', async () => {
    fs.symlinkSync(outside, join(target, 'sub'));
    fs.mkdirSync(join(target, 'real'));
    fs.symlinkSync(outside, join(target, 'real', 'inner'));
    const variants: CraftEntry[][] = [
      [...benign, { type: 'dir', path: 'sub' }, { type: 'file', path: 'sub/file', content: 'x' }],
      [...benign, { type: 'file', path: 'sub/file', content: 'x' }],
      [...benign, { type: 'file', path: 'real/inner/deep/file', content: 'x' }],
    ];
    for (const entries of variants) {
      ({ section } = newSection({ dir: '/src' }));
      await craftArchive(section, '/src', entries);
      for (const conflict of ['fail', 'skip', 'overwrite']) {
        const err = await expectCode(
          restore(protection, dirResource('/src'), section, { target_path: target, conflict }),
          'BWK_ERR_UNSAFE_ENTRY',
        );
        expect(err.message).to.contain('symlink on disk');
        expect(fs.readdirSync(outside)).to.deep.equal([]);
        expect(fs.readdirSync(target).sort()).to.deep.equal(['real', 'sub']);
        expect(fs.lstatSync(join(target, 'sub')).isSymbolicLink()).to.equal(true);
      }
    }
  });

  describe('checkRestore against the restore policy', () => {
    let policy: RestorePolicy;
    let allowed: string;

    beforeEach(() => {
      allowed = join(base, 'allowed');
      fs.mkdirSync(join(allowed, 'home'), { recursive: true });
      policy = { allowedTargetPaths: [allowed], forbiddenPaths: [join(allowed, 'home')] };
    });

    const check = (params: Record<string, unknown>, id = '/srv/data'): Promise<void> =>
      Promise.resolve(protection.checkRestore!(dirResource(id), params, policy));

    it('accepts a target under an allowed path, existing or not', async () => {
      await check({ target_path: join(allowed, 'new', 'dir') });
      await check({ target_path: `${allowed}/` });
      await check({}, join(allowed, 'original'));
    });

    it('denies targets outside every allowed path, naming the target and the rule', async () => {
      for (const t of [join(base, 'elsewhere'), `${allowed}-other`, `${allowed}/../elsewhere`, '/']) {
        const err = await expectCode(check({ target_path: t }), 'BWK_ERR_RESTORE_TARGET_DENIED');
        expect(err.message).to.contain('not under an allowed target path');
      }
      const inPlace = await expectCode(check({}, '/etc'), 'BWK_ERR_RESTORE_TARGET_DENIED');
      expect(inPlace.message).to.contain('/etc');
    });

    it('denies a forbidden path and anything inside it', async () => {
      for (const t of [join(allowed, 'home'), join(allowed, 'home', 'bank', 'x')]) {
        const err = await expectCode(check({ target_path: t }), 'BWK_ERR_RESTORE_TARGET_DENIED');
        expect(err.message).to.contain(t).and.contain("inside Bulwark's own state");
      }
    });

    it('denies a target that reaches out of bounds through a symlink', async () => {
      fs.mkdirSync(join(base, 'elsewhere'));
      fs.symlinkSync(join(base, 'elsewhere'), join(allowed, 'escape'));
      fs.symlinkSync(join(allowed, 'home'), join(allowed, 'sneaky'));
      await expectCode(check({ target_path: join(allowed, 'escape', 'x') }), 'BWK_ERR_RESTORE_TARGET_DENIED');
      const err = await expectCode(check({ target_path: join(allowed, 'sneaky') }), 'BWK_ERR_RESTORE_TARGET_DENIED');
      expect(err.message).to.contain("inside Bulwark's own state").and.not.contain('resolves to');
    });

    it('denies everything when the policy allows no path', async () => {
      policy = { allowedTargetPaths: [], forbiddenPaths: [] };
      await expectCode(check({ target_path: join(allowed, 'x') }), 'BWK_ERR_RESTORE_TARGET_DENIED');
    });
  });
});
