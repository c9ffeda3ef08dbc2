// The young generation's cap for commands that move data. Under a backup's allocation rate V8 grows
// the main thread's young generation to 64–128 MiB (its default cap scales with the machine's RAM),
// and each worker's with it: that headroom was a fifth of a backup's peak RSS. Capped at 8 MiB per
// semi-space, time stayed the same and the peak fell by 35 MiB at 1 GB and more at 10 GB
// (docs/chunk-store.md, limits). The cap is a V8 flag, read when an isolate is made, so the launcher
// re-executes Node with it (process.execve: same process id, ~20 ms) for those commands only, with
// --expose-gc for the codec workers' collections of the buffers they discard (src/common/gc-nudge.ts).
// Plain ES2022 and no dependencies, like node-check.js.

export const HEAP_FLAG = '--max-semi-space-size=8';
/** Lets threads collect the buffers they discard without waiting for V8 (src/common/gc-nudge.ts). */
export const GC_FLAG = '--expose-gc';

/** Global options that take a value (`--home X`); their values are not command words. */
const VALUED = new Set(['--home', '-o', '--output', '--url', '--ca-file', '--api-retry']);

/** Commands that read or write a checkpoint's data in this process, or serve those that do. */
const HEAVY = {
  checkpoint: ['create', 'copy', 'export', 'import'],
  restore: ['create'],
  verification: ['create'],
  bank: ['check', 'gc'],
  worker: null,
  agent: null,
  serve: null,
  'protection-service': null,
};

/**
 * Whether `args` (process.argv after the script) name a command that moves data here: not with
 * --url (the server does the work), not --help.
 */
export function movesData(args, env) {
  const words = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') break;
    if (a === '-h' || a === '--help' || a === '--url' || a.startsWith('--url=')) return false;
    if (VALUED.has(a)) i++;
    else if (!a.startsWith('-')) words.push(a);
  }
  if (env.BULWARK_URL) return false;
  const subs = HEAVY[words[0]];
  if (subs === undefined) return false;
  return subs === null || subs.includes(words[1]);
}

/**
 * Re-executes this Node with HEAP_FLAG when the command moves data, the flag is not set yet and the
 * Node can (process.execve: 22.15, 23.11). BULWARK_HEAP_FLAGS=0 turns it off; a Node flag the user
 * gave (node --max-semi-space-size=N) wins.
 */
export function reexecWithHeapFlags(proc = process) {
  if (proc.env.BULWARK_HEAP_FLAGS === '0' || typeof proc.execve !== 'function') return;
  if (proc.execArgv.some((a) => a.startsWith('--max-semi-space-size'))) return;
  if ((proc.env.NODE_OPTIONS ?? '').includes('--max-semi-space-size')) return;
  if (!movesData(proc.argv.slice(2), proc.env)) return;
  proc.execve(proc.execPath, [proc.execPath, HEAP_FLAG, GC_FLAG, ...proc.execArgv, ...proc.argv.slice(1)], proc.env);
}
