/**
 * Reads a large tree's metadata ahead of the walk, in a thread of its own. On a cold cache each of
 * the walk's lstats waits for the disk in turn, between the protect's other reads and writes; a
 * thread that only lists and lstats gets through the same tree at the disk's pace. Measured on
 * 100,000 small files, no-change protect, caches dropped (timers around the walk's lstat): the
 * main thread's lstats took 660 ms without it and 354 ms with it, the protect ~5.35 s against ~5.0.
 * Started only once a walk has gone past PREFETCH_AFTER entries (a thread costs ~30 ms to start),
 * stopped when the walk ends; it never changes what the walk sees.
 */
import { Worker } from 'node:worker_threads';

/** Entries a walk yields before a prefetcher is worth a thread. */
export const PREFETCH_AFTER = 2048;

/** What the thread is given: the walk's root and its excludes (relative paths, bytes). */
export interface PrefetchData {
  root: string;
  excludes: Uint8Array[];
}

export interface Prefetch {
  stop(): void;
}

export function prefetchMetadata(root: string, excludes: readonly Buffer[]): Prefetch {
  const data: PrefetchData = { root, excludes: excludes.map((e) => new Uint8Array(e)) };
  const worker = new Worker(new URL('./meta-prefetch-worker.js', import.meta.url), { workerData: data });
  // It only warms caches: it never keeps the process alive, and its failures change nothing.
  worker.unref();
  worker.on('error', () => undefined);
  return { stop: () => void worker.terminate().catch(() => undefined) };
}
