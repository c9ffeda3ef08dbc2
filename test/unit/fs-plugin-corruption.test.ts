import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import type { MemoryBank } from '../../src/bank/adapters/memory.js';
import type { BankSection, ProtectionPlugin } from '../../src/plugins/api.js';
import { flipChunkByte, flipPlainByte } from '../helpers/bank-files.js';
import {
  TempDirs,
  closeStores,
  allNames,
  dirResource,
  expectCode,
  loadPlugin,
  newSection,
  protect,
  restore,
  verify,
} from './fs-plugin-helpers.js';

describe('fs.directory plugin: corrupted checkpoints are detected', function () {
  const temps = new TempDirs();
  let protection: ProtectionPlugin;
  let section: BankSection;
  let bank: MemoryBank;
  let prefix: string;
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
    ({ section, bank, prefix } = newSection({ dir: src }));
    await protect(protection, dirResource(src), section);
    await verify(protection, dirResource(src), section);
  });

  afterEach(() => temps.cleanup());
  after(() => closeStores());

  /** Where payload.bin starts in the data object (the plaintext all chunks make), read from the manifest. */
  async function payloadOffset(): Promise<number> {
    const lines = (await section.get('manifest.jsonl'))
      .toString('utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { path: string; offset?: number });
    const entry = lines.find((l) => l.path === 'dir/payload.bin');
    if (entry?.offset === undefined) throw new Error('payload.bin not in the manifest');
    return entry.offset;
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

  it('a changed byte in the manifest fails verify and stops restore before it writes', async () => {
    const manifest = await section.get('manifest.jsonl');
    // "z.txt" becomes "y.txt": the line stays valid, only the manifest's hash can catch it.
    await flipPlainByte(section, 'manifest.jsonl', manifest.indexOf('z.txt'), 0x03);
    const err = await expectCode(verify(protection, dirResource(src), section), 'BWK_ERR_DATA_CORRUPT');
    expect(err.message).to.contain(label);
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

  it('a changed stored byte in a manifest chunk fails verify and stops restore before it writes', async () => {
    await flipChunkByte(bank, prefix, 'manifest.jsonl', 0);
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
});
