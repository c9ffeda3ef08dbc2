import { expect } from 'chai';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { CountingBank } from '../../src/bank/adapters/counting.js';
import { FsBank } from '../../src/bank/adapters/fs.js';
import { MemoryBank } from '../../src/bank/adapters/memory.js';
import { createBank } from '../../src/bank/factory.js';
import { describeBankContract, rejectsWith } from './bank.contract.js';

describeBankContract('FsBank', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bwk-'));
  // A root that does not exist yet: the adapter creates it on first use.
  return { bank: new FsBank(join(dir, 'bank')), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

describeBankContract('MemoryBank', async () => ({ bank: new MemoryBank(), cleanup: async () => undefined }));

describeBankContract('CountingBank over MemoryBank', async () => ({
  bank: new CountingBank(new MemoryBank()),
  cleanup: async () => undefined,
}));

describe('CountingBank counts', () => {
  it('counts reads, range reads, writes, written bytes, lists and listed keys, and resets', async () => {
    const bank = new CountingBank(new MemoryBank());
    await bank.putObject('a/1', 'x');
    await bank.putObject('a/2', 'y');
    await bank.putObjectStream('b/1', Readable.from([Buffer.from('z')]));
    await bank.putObject('p/1', 'pack bytes');
    await bank.getObject('a/1');
    await (await bank.getObjectStream('a/2')).toArray();
    expect((await bank.getObjectRange('p/1', 5, 5)).toString()).to.equal('bytes');
    await bank.statObject('a/1');
    expect(await bank.listObjects('a/')).to.have.length(2);
    expect(await bank.listObjects('', { limit: 1 })).to.have.length(1);
    expect(bank.counts).to.deep.equal({ objectsRead: 3, lists: 2, keysListed: 3, rangeReads: 1, objectsWritten: 4, bytesWritten: 13 });
    expect(bank.kind).to.equal('counting(memory)');
    bank.reset();
    expect(bank.counts).to.deep.equal({ objectsRead: 0, lists: 0, keysListed: 0, rangeReads: 0, objectsWritten: 0, bytesWritten: 0 });
    expect((await bank.getObject('b/1')).toString()).to.equal('z');
    expect(bank.counts.objectsRead).to.equal(1);
  });
});

describe('createBank', () => {
  it('builds fs banks under the home by default or at a given path, and memory banks', async () => {
    const home = mkdtempSync(join(tmpdir(), 'bwk-'));
    try {
      const byDefault = createBank({ type: 'fs' }, home);
      expect(byDefault).to.be.instanceOf(FsBank);
      expect((byDefault as FsBank).rootDir).to.equal(join(home, 'bank'));
      expect((createBank({ type: 'fs', options: { path: 'data/b' } }, home) as FsBank).rootDir).to.equal(join(home, 'data', 'b'));
      expect((createBank({ type: 'fs', options: { path: '/srv/bank' } }, home) as FsBank).rootDir).to.equal('/srv/bank');
      expect(createBank({ type: 'memory' }, home).kind).to.equal('memory');
      await byDefault.putObject('k', 'v');
      expect((await createBank({ type: 'fs' }, home).getObject('k')).toString()).to.equal('v');
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  it('refuses unknown types naming the known ones, and bad options', async () => {
    const err = await rejectsWith((async () => createBank({ type: 's4' }, '/tmp'))(), 'BWK_ERR_INVALID_INPUT');
    expect(err.message).to.contain('s4').and.to.contain('fs, memory');
    await rejectsWith((async () => createBank({ type: 'fs', options: { path: 42 } }, '/tmp'))(), 'BWK_ERR_INVALID_INPUT');
    await rejectsWith((async () => createBank({ type: 'toString' }, '/tmp'))(), 'BWK_ERR_INVALID_INPUT');
  });
});
