import { expect } from 'chai';
import { MemoryBank } from '../../src/bank/adapters/memory.js';
import { CHUNK_CONFIG } from '../../src/bank/layout.js';
import { openConfig } from '../../src/bank/chunks/config.js';

/**
 * Two processes opening a new bank at once (two protection services given their first protects) must
 * both succeed: the one that finds another creating the chunk store config waits for it.
 */
describe('chunk store config: first use by two processes at once', () => {
  it('waits for the process creating the config and opens the config it wrote', async () => {
    const bank = new MemoryBank();
    // Another process holds the creation lease and has not written the config yet.
    const other = await bank.acquireLease('chunk-store-init', 60_000, { purpose: 'test: another process' });
    const opening = openConfig(bank, {}, 'test');
    let settled = false;
    void opening.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(settled, 'the second opener waits while the lease is held').to.equal(false);
    const written = {
      format: 'bulwark.chunk-store',
      version: 1,
      chunker: { minSize: 1024, avgSize: 4096, maxSize: 16384 },
      encryption: null,
    };
    await bank.putObject(CHUNK_CONFIG, JSON.stringify(written));
    await bank.releaseLease(other);
    const { config } = await opening;
    expect(config).to.deep.equal(written);
  });

  it('creates the config once when many open a new bank concurrently', async () => {
    const bank = new MemoryBank();
    const opened = await Promise.all(Array.from({ length: 8 }, () => openConfig(bank, {}, 'test')));
    for (const o of opened) expect(o.config).to.deep.equal(opened[0]!.config);
  });
});
