import * as fs from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { ProtectionPlugin, RestorePolicy } from '../../src/plugins/api.js';
import { createRestoreRoot, MAX_NEW_LEVELS, resolveRestoreRoot } from '../../src/plugins/fs/restore-root.js';
import { TempDirs, closeStores, dirResource, expectCode, loadPlugin, newSection, protect, restore } from './fs-plugin-helpers.js';

const isRoot = process.getuid?.() === 0;

describe('fs.directory restore root: resolved and checked when the restore writes', function () {
  const temps = new TempDirs();
  let protection: ProtectionPlugin;
  let base: string;
  let allowed: string;
  let policy: RestorePolicy;

  before(async () => {
    ({ protection } = await loadPlugin());
  });
  beforeEach(() => {
    base = temps.make();
    allowed = join(base, 'allowed');
    fs.mkdirSync(join(allowed, 'home'), { recursive: true });
    policy = { allowedTargetPaths: [allowed], forbiddenPaths: [join(allowed, 'home')] };
  });
  afterEach(() => temps.cleanup());
  after(() => closeStores());

  it('refuses targets in /proc, /sys and /dev, however the policy reads, before creating anything', async () => {
    const everywhere = { allowedTargetPaths: ['/'], forbiddenPaths: [] };
    for (const t of ['/proc/xyz', '/proc/self/root/tmp/x', '/sys/kernel/x', '/dev/shm/x', '/dev']) {
      const err = await expectCode(resolveRestoreRoot(t, everywhere), 'BWK_ERR_RESTORE_TARGET_DENIED');
      expect(err.message).to.contain('kernel file system');
      await expectCode(
        Promise.resolve(protection.checkRestore!(dirResource('/srv'), { target_path: t }, everywhere)),
        'BWK_ERR_RESTORE_TARGET_DENIED',
      );
    }
    // A link into /proc is judged by where it leads.
    fs.symlinkSync('/proc', join(allowed, 'kernel'));
    await expectCode(resolveRestoreRoot(join(allowed, 'kernel', 'xyz'), everywhere), 'BWK_ERR_RESTORE_TARGET_DENIED');
    expect(fs.existsSync('/proc/xyz')).to.equal(false);
  });

  it('a restore hook into /proc is refused at once (it used to spin forever in a recursive mkdir)', async () => {
    const src = temps.make();
    fs.writeFileSync(join(src, 'f'), 'x');
    const { section } = newSection({ dir: src });
    await protect(protection, dirResource(src), section);
    await expectCode(restore(protection, dirResource(src), section, { target_path: '/proc/xyz' }), 'BWK_ERR_RESTORE_TARGET_DENIED');
  });

  it('resolves a target through the links that exist when it runs and refuses where they lead', async () => {
    fs.mkdirSync(join(allowed, 'p'));
    const target = join(allowed, 'p', 'root', 'home', 'providers', 'pwn');
    // Allowed when checked before the link exists...
    expect(await resolveRestoreRoot(target, policy)).to.equal(target);
    // ...refused once another resource's restore planted it.
    fs.symlinkSync(allowed, join(allowed, 'p', 'root'));
    const err = await expectCode(resolveRestoreRoot(target, policy), 'BWK_ERR_RESTORE_TARGET_DENIED');
    expect(err.message).to.contain("inside Bulwark's own state");
  });

  it('creates the missing levels one at a time and refuses a symlink planted after the target was resolved', async () => {
    const target = join(allowed, 'a', 'b', 'c');
    const root = await resolveRestoreRoot(target, policy);
    fs.mkdirSync(join(allowed, 'a'));
    fs.symlinkSync(join(allowed, 'home'), join(allowed, 'a', 'b'));
    const err = await expectCode(createRestoreRoot(target, root), 'BWK_ERR_RESTORE_TARGET_DENIED');
    expect(err.message).to.contain('is a symlink');
    expect(fs.readdirSync(join(allowed, 'home'))).to.deep.equal([]);

    const fine = join(allowed, 'x', 'y', 'z');
    await createRestoreRoot(fine, await resolveRestoreRoot(fine, policy));
    expect(fs.lstatSync(fine).isDirectory()).to.equal(true);
    expect(fs.statSync(join(allowed, 'x')).mode & 0o777).to.equal(0o700);
  });

  it(`creates at most ${MAX_NEW_LEVELS} new levels`, async () => {
    const deep = join(allowed, ...Array.from({ length: MAX_NEW_LEVELS + 1 }, (_, i) => `d${i}`));
    const err = await expectCode(createRestoreRoot(deep, deep), 'BWK_ERR_RESTORE_TARGET_DENIED');
    expect(err.message).to.contain(`more than ${MAX_NEW_LEVELS} directory levels`);
  });

  describe('setuid, setgid and sticky bits come back only with their owner', () => {
    let src: string;
    beforeEach(() => {
      src = temps.make();
      fs.writeFileSync(join(src, 'suid'), '#!/bin/sh\n');
      // chown first: it clears the setuid bit.
      if (isRoot) fs.chownSync(join(src, 'suid'), 65534, 65534);
      fs.chmodSync(join(src, 'suid'), 0o4755);
      fs.writeFileSync(join(src, 'big-sgid'), Buffer.alloc(2 * 1024 * 1024, 1));
      fs.chmodSync(join(src, 'big-sgid'), 0o2755);
      fs.mkdirSync(join(src, 'shared'));
      fs.chmodSync(join(src, 'shared'), 0o3777);
    });
    const modes = (root: string) => ['suid', 'big-sgid', 'shared'].map((n) => (fs.lstatSync(join(root, n)).mode & 0o7777).toString(8));

    it('restore_owner: false clears them (a setuid file never becomes setuid-root)', async () => {
      const { section } = newSection({ dir: src });
      await protect(protection, dirResource(src), section);
      const target = join(allowed, 'restored');
      await restore(protection, dirResource(src), section, { target_path: target, restore_owner: false }, policy);
      expect(modes(target)).to.deep.equal(['755', '755', '777']);
      expect(fs.lstatSync(join(target, 'suid')).uid).to.equal(process.getuid!());
    });

    it('restored with their owner (as root), they keep them', async function () {
      if (!isRoot) this.skip(); // only root can give a file back to its owner
      const { section } = newSection({ dir: src });
      await protect(protection, dirResource(src), section);
      const target = join(allowed, 'restored');
      await restore(protection, dirResource(src), section, { target_path: target, restore_owner: true }, policy);
      expect(modes(target)).to.deep.equal(['4755', '2755', '3777']);
      expect(fs.lstatSync(join(target, 'suid')).uid).to.equal(65534);
    });
  });
});
