import { expect } from 'chai';
import { DUMP_META_MARK, encodeDumpMeta, loadDumpMeta } from '../../src/plugins/db/dump-meta.js';
import type { DumpMeta } from '../../src/plugins/db/dump-meta.js';
import { closeStores, expectCode, newSection } from './fs-plugin-helpers.js';

const META: DumpMeta = {
  ...DUMP_META_MARK,
  object: 'dump',
  size: 3,
  sha256: 'a'.repeat(64),
  tool: 'pg_dump',
  tool_version: 'pg_dump (PostgreSQL) 16.4',
  created_at: '2026-01-01T00:00:00.000Z',
  source: { server: 'main', database: 'shop', format: 'custom' },
};

/** A database dump's meta.json is sealed; one an earlier build wrote without the seal is still read. */
describe('database dump meta.json', () => {
  after(closeStores);

  it('reads a sealed meta.json and refuses one with any descriptive field changed', async () => {
    const { section } = newSection();
    await section.put('meta.json', encodeDumpMeta(META));
    expect(await loadDumpMeta(section, 'postgres.database#main/shop')).to.deep.equal(META);
    await section.put('meta.json', encodeDumpMeta(META).replace('16.4', '16.5'));
    await expectCode(loadDumpMeta(section, 'postgres.database#main/shop'), 'BWK_ERR_DATA_CORRUPT');
  });

  it('reads an unsealed meta.json of an earlier build, but not one carrying fields those never wrote', async () => {
    const { section } = newSection();
    await section.put('meta.json', JSON.stringify(META, null, 2));
    expect(await loadDumpMeta(section, 'postgres.database#main/shop')).to.deep.equal(META);
    await section.put('meta.json', JSON.stringify({ ...META, meta_sha257: 'x' }, null, 2));
    await expectCode(loadDumpMeta(section, 'postgres.database#main/shop'), 'BWK_ERR_DATA_CORRUPT');
  });
});
