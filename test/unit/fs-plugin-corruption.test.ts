import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import type { MemoryBank } from '../../src/bank/adapters/memory.js';
import type { ChunkStore } from '../../src/bank/chunks/store.js';
import type { BankSection, ProtectionPlugin } from '../../src/plugins/api.js';
import { addRootTreeEntryIn, flipChunkByte, flipPlainByte } from '../helpers/bank-files.js';
import { openArchive } from '../../src/plugins/fs/archive.js';
import { sealMeta } from '../../src/plugins/sealed-meta.js';
import {
  TempDirs,
  closeStores,
  allNames,
  dirResource,
  expectCode,
  loadPlugin,
  newSection,
  protect,
  protectV2,
  restore,
  verify,
} from './fs-plugin-helpers.js';

// Format 3 (what protect writes) and format 2 (what earlier builds wrote, still read): both must catch every kind of damage.
for (const format of [3, 2] as const) {
  /** The object holding the entries: v3's trees, v2's manifest. */
  const ENTRIES = format === 3 ? 'trees' : 'manifest.jsonl';
  describe(`fs.directory plugin: corrupted checkpoints are detected (format ${format})`, function () {
    const temps = new TempDirs();
    let protection: ProtectionPlugin;
    let section: BankSection;
    let bank: MemoryBank;
    let prefix: string;
    let store: ChunkStore;
    let src: string;
    let label: string;

    before(async () => {
      ({ protection } = await loadPlugin());
    });

    beforeEach(async () => {
      src = join(temps.make(), 'src');
      fs.mkdirSync(join(src, 'dir'), { recursive: true });
      fs.writeFileSync(join(src, 'a.txt'), 'alpha\n');
      fs.writeFileSync(join(src, 'dir', 'payload.bin'), randomBytes(300 * 1024));
      fs.writeFileSync(join(src, 'z.txt'), 'zulu\n');
      label = `fs.directory#${src}`;
      ({ section, bank, prefix, store } = newSection({ dir: src }));
      await (format === 3 ? protect : protectV2)(protection, dirResource(src), section);
      expect(JSON.parse((await section.get('meta.json')).toString()).version).to.equal(format);
      await verify(protection, dirResource(src), section);
    });

    afterEach(() => temps.cleanup());
    after(() => closeStores());

    /** Where payload.bin starts in the data object (the plaintext all chunks make), as the archive says. */
    async function payloadOffset(): Promise<number> {
      for await (const e of (await openArchive(section, label)).entries()) {
        if (e.type === 'file' && e.path.toString() === 'dir/payload.bin') return e.offset;
      }
      throw new Error('payload.bin not in the archive');
    }

    it('verify names the resource and the file when one byte of the data object changed', async () => {
      // A byte of a chunk of payload.bin, as stored in its pack.
      await flipChunkByte(bank, prefix, 'data', (await payloadOffset()) + 1000);
      const err = await expectCode(verify(protection, dirResource(src), section), 'BWK_ERR_DATA_CORRUPT');
      expect(err.message).to.contain(label).and.contain('dir/payload.bin');
    });

    it('restore fails on the corrupted file, never lands it and leaves no temp file', async () => {
      await flipChunkByte(bank, prefix, 'data', (await payloadOffset()) + 1000);
      const target = temps.make();
      const err = await expectCode(restore(protection, dirResource(src), section, { target_path: target }), 'BWK_ERR_DATA_CORRUPT');
      expect(err.message).to.contain(label).and.contain('dir/payload.bin');
      expect(fs.existsSync(join(target, 'dir', 'payload.bin'))).to.equal(false);
      expect(
        allNames(target).filter((n) => n.includes('.bwk-restore-')),
        'temp files left',
      ).to.deep.equal([]);
      // Files before the corrupted one are intact: restore is per file, and each one is checked.
      expect(fs.readFileSync(join(target, 'a.txt'), 'utf8')).to.equal('alpha\n');
    });

    it(`a changed byte in the ${ENTRIES} fails verify and stops restore before it writes`, async () => {
      const manifest = await section.get(ENTRIES);
      // "z.txt" becomes "y.txt": the line stays valid, only the manifest's hash (the tree's id) can catch it.
      await flipPlainByte(section, ENTRIES, manifest.indexOf('z.txt'), 0x03);
      const err = await expectCode(verify(protection, dirResource(src), section), 'BWK_ERR_DATA_CORRUPT');
      expect(err.message).to.contain(label);
      if (format === 3) expect(err.message).to.contain('tree of "." does not match its id');
      const target = temps.make();
      await expectCode(restore(protection, dirResource(src), section, { target_path: target }), 'BWK_ERR_DATA_CORRUPT');
      expect(fs.readdirSync(target)).to.deep.equal([]);
    });

    it('a changed byte in meta.json fails verify and restore', async () => {
      const meta = (await section.get('meta.json')).toString('utf8');
      await flipPlainByte(section, 'meta.json', meta.indexOf('"source"') + 12);
      const err = await expectCode(verify(protection, dirResource(src), section), 'BWK_ERR_DATA_CORRUPT');
      expect(err.message).to.contain(label).and.contain('meta.json');
      await expectCode(restore(protection, dirResource(src), section, { target_path: temps.make() }), 'BWK_ERR_DATA_CORRUPT');
    });

    it(`a changed stored byte in a chunk of ${ENTRIES} fails verify and stops restore before it writes`, async () => {
      await flipChunkByte(bank, prefix, ENTRIES, 0);
      const err = await expectCode(verify(protection, dirResource(src), section), 'BWK_ERR_DATA_CORRUPT');
      expect(err.message).to.contain(label);
      const target = temps.make();
      await expectCode(restore(protection, dirResource(src), section, { target_path: target }), 'BWK_ERR_DATA_CORRUPT');
      expect(fs.readdirSync(target)).to.deep.equal([]);
    });

    it('a truncated or missing data object fails verify', async () => {
      const key = `${prefix}data`;
      const data = await section.get('data');
      const list = await bank.getObject(key);
      // The chunk list itself cut short.
      await bank.putObject(key, list.subarray(0, list.length - 1));
      await expectCode(verify(protection, dirResource(src), section), 'BWK_ERR_DATA_CORRUPT');
      // A well-formed chunk list of the data minus its last byte.
      await section.putStream('data', Readable.from([data.subarray(0, data.length - 1)]));
      await expectCode(verify(protection, dirResource(src), section), 'BWK_ERR_DATA_CORRUPT');
      await section.delete('data');
      const err = await expectCode(verify(protection, dirResource(src), section), 'BWK_ERR_DATA_CORRUPT');
      expect(err.message).to.contain('data is missing');
    });

    it('an archive without meta.json (an unfinished protect) is reported as incomplete', async () => {
      await section.delete('meta.json');
      const err = await expectCode(verify(protection, dirResource(src), section), 'BWK_ERR_DATA_CORRUPT');
      expect(err.message).to.contain('not completed');
    });

    if (format === 3) {
      it('a tampered subdirectory tree is named by its path, before restore writes anything', async () => {
        const trees = await section.get('trees');
        // "payload.bin" becomes "qayload.bin" in the tree of "dir": valid JSON, a different id.
        await flipPlainByte(section, 'trees', trees.indexOf('payload.bin'), 0x01);
        const err = await expectCode(verify(protection, dirResource(src), section), 'BWK_ERR_DATA_CORRUPT');
        expect(err.message).to.contain(label).and.contain('tree of "dir" does not match its id');
        const target = temps.make();
        const restoreErr = await expectCode(
          restore(protection, dirResource(src), section, { target_path: target }),
          'BWK_ERR_DATA_CORRUPT',
        );
        expect(restoreErr.message).to.contain('tree of "dir"');
        expect(fs.readdirSync(target)).to.deep.equal([]);
      });

      it('a tampered subdirectory tree in the previous checkpoint: the next protect reads only the files below it again', async () => {
        const trees = await section.get('trees');
        await flipPlainByte(section, 'trees', trees.indexOf('payload.bin'), 0x01);
        const next = newSection({ store, dir: src }).section;
        const run = await protect(protection, dirResource(src), next, {}, undefined, section);
        // a.txt and z.txt sit in the intact root tree; payload.bin's tree no longer matches its id.
        expect(run.savedInfo).to.include({ files: 3, unchanged_files: 2 });
        expect(run.savedInfo!.unchanged_bytes).to.equal(fs.statSync(join(src, 'a.txt')).size + fs.statSync(join(src, 'z.txt')).size);
        await verify(protection, dirResource(src), next);
        const target = temps.make();
        await restore(protection, dirResource(src), next, { target_path: target });
        expect(fs.readFileSync(join(target, 'dir', 'payload.bin')).equals(fs.readFileSync(join(src, 'dir', 'payload.bin')))).to.equal(true);
      });

      describe('hard links are checked against the trees: a file archived before the link', () => {
        const link = (name: string, target: string): Record<string, unknown> => ({
          name,
          type: 'hardlink',
          target,
          mode: 0o644,
          uid: process.getuid?.() ?? 0,
          gid: process.getgid?.() ?? 0,
          mtime_ns: '0',
        });
        for (const [what, entry] of [
          ['a file archived after the link', link('b.lnk', 'z.txt')],
          ['a directory', link('zz', 'dir')],
          ['a path the archive lacks', link('zz', 'dir/nope.bin')],
          ['a path through a file', link('zz', 'a.txt/x')],
        ] as const) {
          it(`a hard link naming ${what} is corrupt, named by its path`, async () => {
            await addRootTreeEntryIn(section, entry);
            const err = await expectCode(verify(protection, dirResource(src), section), 'BWK_ERR_DATA_CORRUPT');
            expect(err.message).to.contain(`hard link "${String(entry.name)}" names "${String(entry.target)}"`);
            const target = temps.make();
            await expectCode(restore(protection, dirResource(src), section, { target_path: target }), 'BWK_ERR_DATA_CORRUPT');
            expect(fs.readdirSync(target)).to.deep.equal([]);
          });
        }

        it('a hard link naming a file archived before it, in another directory, verifies and restores as a link', async () => {
          await addRootTreeEntryIn(section, link('zz', 'dir/payload.bin'));
          await verify(protection, dirResource(src), section);
          const target = temps.make();
          await restore(protection, dirResource(src), section, { target_path: target });
          expect(fs.statSync(join(target, 'zz')).ino).to.equal(fs.statSync(join(target, 'dir', 'payload.bin')).ino);
        });
      });

      it('a tree naming a tree the archive lacks is corrupt, naming the directory', async () => {
        // Drop the tree of "dir" and reseal meta.json's count as someone with write access to the bank could.
        const lines = (await section.get('trees')).toString('utf8').trim().split('\n');
        const kept = lines.filter((l) => !l.includes('payload.bin'));
        expect(kept.length).to.equal(lines.length - 1);
        const body = Buffer.from(kept.map((l) => `${l}\n`).join(''));
        await section.putStream('trees', Readable.from([body]));
        const { meta_sha256: _seal, ...meta } = JSON.parse((await section.get('meta.json')).toString()) as Record<string, unknown>;
        void _seal;
        await section.put('meta.json', sealMeta({ ...meta, trees: { object: 'trees', size: body.length, count: kept.length } }));
        const err = await expectCode(verify(protection, dirResource(src), section), 'BWK_ERR_DATA_CORRUPT');
        expect(err.message).to.contain('tree of "dir"').and.contain('is missing');
      });
    }
  });
}
