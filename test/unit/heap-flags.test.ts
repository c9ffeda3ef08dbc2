import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { REPO_ROOT } from '../helpers/paths.js';

// bin/ is plain JS outside the TypeScript build, so it is loaded from the repository, not from dist/.
interface HeapFlags {
  HEAP_FLAG: string;
  GC_FLAG: string;
  movesData(args: string[], env: Record<string, string | undefined>): boolean;
  reexecWithHeapFlags(proc: unknown): void;
}
const load = async () => (await import(pathToFileURL(join(REPO_ROOT, 'bin', 'heap-flags.js')).href)) as HeapFlags;

describe('bin/heap-flags.js (the young-generation cap for commands that move data)', () => {
  let hf: HeapFlags;
  before(async () => {
    hf = await load();
  });

  it('picks the commands that read or write checkpoint data here, past global options and their values', () => {
    const yes = [
      ['checkpoint', 'create', '--plan', 'p'],
      ['--home', '/h', '-o', 'json', 'checkpoint', 'create'],
      ['--home=/h', 'restore', 'create', '--checkpoint', 'c'],
      ['bank', 'check', '--read-data'],
      ['verification', 'create'],
      ['checkpoint', 'export', 'c', '--out', 'f'],
      ['serve'],
      ['worker', '--task-queue', 'q'],
    ];
    for (const args of yes) expect(hf.movesData(args, {}), args.join(' ')).to.equal(true);
    const no = [
      ['plan', 'list'],
      ['checkpoint', 'list'],
      ['-o', 'checkpoint', 'plan', 'list'], // "checkpoint" is the value of -o here, not a command
      ['checkpoint', 'create', '--help'],
      ['--url', 'http://x', 'checkpoint', 'create'],
      ['--url=http://x', 'restore', 'create'],
      [],
    ];
    for (const args of no) expect(hf.movesData(args, {}), args.join(' ')).to.equal(false);
    expect(hf.movesData(['checkpoint', 'create'], { BULWARK_URL: 'http://x' })).to.equal(false);
  });

  it('re-executes the same Node with the flag before the command, keeping its own flags and arguments', () => {
    const calls: unknown[][] = [];
    const proc = (argv: string[], extra: Record<string, unknown> = {}) => ({
      env: {},
      execArgv: ['--enable-source-maps'],
      execPath: '/usr/bin/node-x',
      argv: ['/usr/bin/node-x', '/opt/bulwark/bin/bulwark.js', ...argv],
      execve: (...a: unknown[]) => calls.push(a),
      ...extra,
    });
    hf.reexecWithHeapFlags(proc(['checkpoint', 'create', '--plan', 'p']));
    expect(calls).to.deep.equal([
      [
        '/usr/bin/node-x',
        [
          ...['/usr/bin/node-x', hf.HEAP_FLAG, hf.GC_FLAG, '--enable-source-maps'],
          ...['/opt/bulwark/bin/bulwark.js', 'checkpoint', 'create', '--plan', 'p'],
        ],
        {},
      ],
    ]);
    calls.length = 0;
    hf.reexecWithHeapFlags(proc(['plan', 'list']));
    hf.reexecWithHeapFlags(proc(['checkpoint', 'create'], { execArgv: ['--max-semi-space-size=32'] }));
    hf.reexecWithHeapFlags(proc(['checkpoint', 'create'], { env: { BULWARK_HEAP_FLAGS: '0' } }));
    hf.reexecWithHeapFlags(proc(['checkpoint', 'create'], { env: { NODE_OPTIONS: '--max-semi-space-size=2' } }));
    hf.reexecWithHeapFlags(proc(['checkpoint', 'create'], { execve: undefined }));
    expect(calls).to.deep.equal([]);
  });

  it('runs a data command under the flag, in the same process', () => {
    if (typeof (process as { execve?: unknown }).execve !== 'function') return; // Node < 22.15 cannot; nothing to check
    // A stand-in for bin/bulwark.js: the launcher's call, then what the process ended up with.
    const dir = mkdtempSync(join(tmpdir(), 'bwk-heap-flags-'));
    try {
      const probe = join(dir, 'probe.mjs');
      writeFileSync(
        probe,
        `import { reexecWithHeapFlags } from ${JSON.stringify(pathToFileURL(join(REPO_ROOT, 'bin', 'heap-flags.js')).href)};\n` +
          'reexecWithHeapFlags();\nconsole.log(JSON.stringify({ pid: process.pid, flags: process.execArgv }));\n',
      );
      const run = (...args: string[]) => {
        const r = spawnSync(process.execPath, [probe, ...args], { encoding: 'utf8', env: { ...process.env, BULWARK_HEAP_FLAGS: '' } });
        expect(r.status, r.stderr).to.equal(0);
        return { ...(JSON.parse(r.stdout.trim()) as { pid: number; flags: string[] }), spawned: r.pid };
      };
      const data = run('bank', 'check');
      expect(data.flags).to.include.members([hf.HEAP_FLAG, hf.GC_FLAG]);
      expect(data.pid).to.equal(data.spawned);
      expect(run('plan', 'list').flags).to.not.include(hf.HEAP_FLAG);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
