/**
 * Format 3's fidelity options through the plugin hooks on real files (as root: trusted.* attributes
 * need it): namespaces skipped on protect and on restore, hard links counted once, and an attribute
 * the target refuses reported per file, fatal only with on_not_restored "fail".
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { blake3 } from '@napi-rs/blake-hash';
import { expect } from 'chai';
import type { BankSection, ProtectionPlugin } from '../../src/plugins/api.js';
import { sealMeta } from '../../src/plugins/sealed-meta.js';
import { TempDirs, closeStores, dirResource, expectCode, loadPlugin, newSection, protect, restore } from './fs-plugin-helpers.js';

const xattr = (path: string, name: string): string | null => {
  try {
    return execFileSync('getfattr', ['--absolute-names', '--only-values', '-n', name, path], { encoding: 'utf8', stdio: 'pipe' });
  } catch {
    return null;
  }
};

/** Rewrites the root tree's entry `name` as someone with bank write access could, re-deriving ids and the meta seal. */
async function editRootEntry(section: BankSection, name: string, edit: (e: Record<string, unknown>) => void): Promise<void> {
  const { meta_sha256: _seal, ...meta } = JSON.parse((await section.get('meta.json')).toString()) as Record<string, unknown>;
  void _seal;
  const root = meta['root'] as { tree: string };
  const lines = (await section.get('trees')).toString().trim().split('\n');
  const at = lines.findIndex((l) => l.startsWith(`${root.tree} `));
  const tree = JSON.parse(lines[at]!.slice(65)) as { entries: Record<string, unknown>[] };
  edit(tree.entries.find((e) => e['name'] === name)!);
  const json = JSON.stringify(tree);
  root.tree = blake3(Buffer.from(json)).toString('hex');
  lines[at] = `${root.tree} ${json}`;
  const body = Buffer.from(lines.map((l) => `${l}\n`).join(''));
  await section.putStream('trees', Readable.from([body]));
  await section.put('meta.json', sealMeta({ ...meta, root, trees: { object: 'trees', size: body.length, count: lines.length } }));
}

describe('fs.directory plugin: format 3 fidelity options', function () {
  const temps = new TempDirs();
  let protection: ProtectionPlugin;
  let src: string;

  before(async function () {
    if (process.getuid?.() !== 0) this.skip(); // trusted.* attributes and the checks below need root
    try {
      execFileSync('getfattr', ['--version'], { stdio: 'ignore' });
    } catch {
      this.skip();
    }
    ({ protection } = await loadPlugin());
  });

  beforeEach(() => {
    src = join(temps.make(), 'src');
    fs.mkdirSync(src);
    fs.writeFileSync(join(src, 'doc.txt'), 'x'.repeat(1000));
    fs.linkSync(join(src, 'doc.txt'), join(src, 'doc-link.txt'));
    execFileSync('setfattr', ['-n', 'user.note', '-v', 'u', join(src, 'doc.txt')]);
    execFileSync('setfattr', ['-n', 'trusted.note', '-v', 't', join(src, 'doc.txt')]);
    fs.symlinkSync('doc.txt', join(src, 'link'));
  });

  afterEach(() => temps.cleanup());
  after(() => closeStores());

  it('stores a hard-linked file once and restores one inode; skipped namespaces stay out on protect and on restore', async () => {
    const { section } = newSection({ dir: src });
    const run = await protect(protection, dirResource(src), section, { xattrs: { skip_namespaces: ['user'] } });
    expect(run.savedInfo).to.include({ files: 1, hardlinks: 1, bytes: 1000, with_xattrs: 2, skipped_count: 0 });

    const all = join(temps.make(), 'all');
    await restore(protection, dirResource(src), section, { target_path: all });
    const [a, b] = ['doc.txt', 'doc-link.txt'].map((n) => fs.statSync(join(all, n)));
    expect(a!.ino).to.equal(b!.ino);
    expect(a!.nlink).to.equal(2);
    expect(xattr(join(all, 'doc.txt'), 'user.note')).to.equal(null);
    expect(xattr(join(all, 'doc.txt'), 'trusted.note')).to.equal('t');

    const none = join(temps.make(), 'none');
    await restore(protection, dirResource(src), section, { target_path: none, xattrs: { skip_namespaces: ['trusted'] } });
    expect(xattr(join(none, 'doc.txt'), 'trusted.note')).to.equal(null);
    expect(fs.readFileSync(join(none, 'doc-link.txt'), 'utf8')).to.equal('x'.repeat(1000));
  });

  it("a re-protect carries an unchanged file's attributes over, and reads them again after a change or with other options", async () => {
    const { store, section: first } = newSection({ dir: src });
    await protect(protection, dirResource(src), first, { xattrs: { skip_namespaces: ['user'] } });
    const restored = async (section: BankSection): Promise<string> => {
      const dir = join(temps.make(), 'r');
      await restore(protection, dirResource(src), section, { target_path: dir });
      return join(dir, 'doc.txt');
    };

    // Same options, nothing changed: the previous checkpoint's attributes stand (user.* still left out).
    const { section: same } = newSection(store);
    const again = await protect(protection, dirResource(src), same, { xattrs: { skip_namespaces: ['user'] } }, undefined, first);
    expect(again.savedInfo).to.include({ unchanged_files: 1, with_xattrs: 2 });
    let doc = await restored(same);
    expect([xattr(doc, 'trusted.note'), xattr(doc, 'user.note')]).to.deep.equal(['t', null]);

    // No namespace skipped now: user.* must be read although the file is unchanged.
    const { section: wider } = newSection(store);
    await protect(protection, dirResource(src), wider, {}, undefined, same);
    doc = await restored(wider);
    expect([xattr(doc, 'trusted.note'), xattr(doc, 'user.note')]).to.deep.equal(['t', 'u']);

    // An attribute set since (the ctime moves, the content does not): the new value is read.
    execFileSync('setfattr', ['-n', 'user.note', '-v', 'changed', join(src, 'doc.txt')]);
    const { section: later } = newSection(store);
    const changed = await protect(protection, dirResource(src), later, {}, undefined, wider);
    expect(changed.savedInfo).to.include({ unchanged_files: 0 });
    expect(xattr(await restored(later), 'user.note')).to.equal('changed');
  });

  it('an attribute the target refuses is reported per file, and fails the restore only with on_not_restored "fail"', async () => {
    const { section } = newSection({ dir: src });
    await protect(protection, dirResource(src), section);
    // Linux refuses user.* attributes on symlinks (EPERM): an archive holding one meets a target that says no.
    await editRootEntry(section, 'link', (e) => {
      e['xattrs'] = [['user.refused', Buffer.from('v').toString('base64')]];
    });
    const lenient = join(temps.make(), 'lenient');
    const run = await restore(protection, dirResource(src), section, { target_path: lenient });
    expect(run.progress.at(-1)?.message).to.match(
      /^1 entry not restored as archived: "link" \(xattrs: refused by the target: user\.refused/,
    );
    expect(xattr(join(lenient, 'doc.txt'), 'user.note')).to.equal('u');
    expect(fs.readlinkSync(join(lenient, 'link'))).to.equal('doc.txt');

    const strict = join(temps.make(), 'strict');
    const err = await expectCode(
      restore(protection, dirResource(src), section, { target_path: strict, on_not_restored: 'fail' }),
      'BWK_ERR_ENTRIES_NOT_RESTORED',
    );
    expect(err.message).to.contain('"link"').and.contain('user.refused');
    // Everything else was written before the report failed the restore.
    expect(fs.readFileSync(join(strict, 'doc.txt'), 'utf8')).to.equal('x'.repeat(1000));
  });
});
