// FsBank-only cases: crash safety and on-disk leftovers need a real filesystem and a killed process.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsBank } from '../../src/bank/adapters/fs.js';
import { rejectsWith } from '../contracts/bank.contract.js';
import { sleep } from '../helpers/wait.js';

/** The built adapter, as a separate process would load it. */
const FS_BANK_URL = new URL('../../src/bank/adapters/fs.js', import.meta.url).href;

/** A writer that streams ~200 MB, slowly, into `crash/key`; it is killed long before it could finish. */
const WRITER = `
import { Readable } from 'node:stream';
import { FsBank } from ${JSON.stringify(FS_BANK_URL)};
const bank = new FsBank(process.argv[2]);
const chunk = Buffer.alloc(64 * 1024, 0x6e);
let sent = 0;
const source = new Readable({
  read() {
    if (sent >= 200 * 1024 * 1024) { this.push(null); return; }
    setTimeout(() => { sent += chunk.length; this.push(chunk); }, 2);
  },
});
await bank.putObjectStream('crash/key', source);
console.log('finished');
`;

async function tempFiles(dir: string): Promise<{ name: string; size: number }[]> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.startsWith('.tmp-'));
  return Promise.all(
    names.map(async (name) => ({
      name,
      size: await stat(join(dir, name)).then(
        (s) => s.size,
        () => 0,
      ),
    })),
  );
}

describe('FsBank on disk', function () {
  let dir: string;
  let root: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bwk-'));
    root = join(dir, 'bank');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('a writer killed mid-stream leaves the old object exactly and lists no temp file', async () => {
    const old = Buffer.concat([Buffer.from('old value\n'), Buffer.alloc(100_000, 0x6f)]);
    await new FsBank(root).putObject('crash/key', old);
    const script = join(dir, 'writer.mjs');
    writeFileSync(script, WRITER);
    const child = spawn(process.execPath, [script, root], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    try {
      // Wait (state, not time) until the writer has put real bytes into its temp file.
      let partial: { name: string; size: number } | undefined;
      while (partial === undefined && child.exitCode === null) {
        partial = (await tempFiles(join(root, 'crash'))).find((t) => t.size >= 1024 * 1024);
        if (partial === undefined) await sleep(20);
      }
      expect(partial, `writer never wrote a temp file: ${output}`).to.not.equal(undefined);
    } finally {
      child.kill('SIGKILL');
    }
    expect(await exited).to.equal('SIGKILL');
    expect(output).to.not.contain('finished');
    // The half-written temp file is still there: the crash really happened mid-write.
    expect((await tempFiles(join(root, 'crash'))).some((t) => t.size > 0)).to.equal(true);
    const bank = new FsBank(root);
    expect((await bank.getObject('crash/key')).equals(old)).to.equal(true);
    expect(await bank.statObject('crash/key')).to.deep.equal({ size: old.length });
    expect(await bank.listObjects('')).to.deep.equal(['crash/key']);
    expect(await bank.listObjects('crash/', { sort: 'desc' })).to.deep.equal(['crash/key']);
  });

  it('never lists leftover .tmp-* files or directories, and refuses them as keys', async () => {
    const bank = new FsBank(root);
    await bank.putObject('x/real', 'r');
    writeFileSync(join(root, 'x', '.tmp-leftover'), 'half');
    writeFileSync(join(root, '.tmp-top'), 'half');
    mkdirSync(join(root, 'x', '.tmp-dir'));
    writeFileSync(join(root, 'x', '.tmp-dir', 'inner'), 'hidden');
    expect(await bank.listObjects('')).to.deep.equal(['x/real']);
    expect(await bank.listObjects('x/')).to.deep.equal(['x/real']);
    expect(await bank.listObjects('x/.tmp')).to.deep.equal([]);
    expect(await bank.listObjects('x/', { sort: 'desc', marker: 'x/z' })).to.deep.equal(['x/real']);
    await rejectsWith(bank.statObject('x/.tmp-leftover'), 'BWK_ERR_BANK_KEY_INVALID');
    await rejectsWith(bank.getObject('x/.tmp-dir/inner'), 'BWK_ERR_BANK_KEY_INVALID');
    expect(await bank.listLeases()).to.deep.equal([]);
  });

  it("refuses a key that is also another key's prefix, keeping what is stored", async () => {
    const bank = new FsBank(root);
    await bank.putObject('p/q', 'object');
    await rejectsWith(bank.putObject('p/q/r', 'child of an object'), 'BWK_ERR_BANK_KEY_INVALID');
    await rejectsWith(bank.putObject('p', 'parent of an object'), 'BWK_ERR_BANK_KEY_INVALID');
    expect((await bank.getObject('p/q')).toString()).to.equal('object');
    expect(await bank.listObjects('')).to.deep.equal(['p/q']);
    expect((await tempFiles(join(root, 'p'))).length).to.equal(0);
  });

  it('removes directories a delete left empty, up to but not including the root', async () => {
    const bank = new FsBank(root);
    await bank.putObject('a/b/c/one', '1');
    await bank.putObject('a/two', '2');
    await bank.deleteObject('a/b/c/one');
    expect(await readdir(join(root, 'a'))).to.deep.equal(['two']);
    await bank.deleteObject('a/two');
    expect(await readdir(root)).to.deep.equal([]);
  });

  it('lists and pages a directory of 5,000 objects in key order', async () => {
    const bank = new FsBank(root);
    mkdirSync(join(root, 'many'), { recursive: true });
    const names = Array.from({ length: 5000 }, (_, i) => `e${(i * 7919) % 5000}`);
    for (const n of names) writeFileSync(join(root, 'many', n), n);
    const all = names.map((n) => `many/${n}`).sort();
    expect(await bank.listObjects('many/')).to.deep.equal(all);
    expect(await bank.listObjects('many/e49')).to.deep.equal(all.filter((k) => k.startsWith('many/e49')));
    expect(await bank.listObjects('many/', { sort: 'desc', limit: 3 })).to.deep.equal(all.slice(-3).reverse());
    expect(await bank.listObjects('many/', { marker: all[2499], limit: 2 })).to.deep.equal(all.slice(2500, 2502));
  });

  it('leaves no lock or temp files behind after lease work', async () => {
    const bank = new FsBank(root);
    const first = await bank.acquireLease('op', 1);
    await sleep(10);
    const second = await bank.acquireLease('op', 60_000);
    await bank.renewLease(second, 60_000);
    await rejectsWith(bank.renewLease(first, 1000), 'BWK_ERR_LEASE_LOST');
    expect(await bank.breakLease('op', second.token)).to.equal(true);
    expect(await readdir(join(root, 'leases'))).to.deep.equal([]);
  });
});
