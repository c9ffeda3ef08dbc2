/**
 * Collects a thread's young garbage after every few MiB of buffers it threw away. A codec worker
 * allocates a buffer per chunk it decompresses, decrypts or seals (zlib and crypto cannot write
 * into one it owns), and V8 collects such memory only after 64 MiB more of it has piled up per
 * thread: ~100 MiB of dead buffers in each worker during a bank check. A minor collection of a
 * worker's small heap takes well under a millisecond.
 *
 * It needs `gc`, which the launcher exposes for the commands that move data (bin/heap-flags.js);
 * elsewhere (tests, `node` run by hand) this does nothing and memory behaves as V8 decides.
 */
type Collect = (options?: { type?: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;

const collect = (globalThis as { gc?: Collect }).gc;

/** Dead buffer bytes between two collections. */
const EVERY = 16 * 1024 * 1024;
let since = 0;

/** Notes `bytes` of buffers just discarded; collects young garbage once EVERY has accumulated. */
export function discarded(bytes: number): void {
  if (collect === undefined) return;
  since += bytes;
  if (since < EVERY) return;
  since = 0;
  collect({ type: 'minor' });
}
