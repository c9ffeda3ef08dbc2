/**
 * Large files handed to the bank's codec workers from their own chunks, a few at a time, while the
 * small ones stream through this thread: a restore writes them (writeChunksToFile, restore-file.ts),
 * a verify hashes them (hashChunks, verify.ts). Their plaintext never reaches this thread.
 */
import type { ReadChunksOptions } from '../api.js';

/**
 * Files larger than this go to the workers; a restore also gathers the ones up to it for its
 * small-file writers. One threshold for both: a file the stream leaves out must be handled whole.
 */
export const LARGE_FILE = 1024 * 1024;

/** Large files in flight at once: one per codec worker of a two-core machine. */
const IN_FLIGHT = 2;

/**
 * The small files' stream reads ahead less when large files are read beside it: they have read
 * windows of their own (bank/chunks/file-restore.ts), and the stream's default 32 MiB then only
 * raised the peak (8 MiB: ~20 MiB lower on the bench corpus, no slower). With no large file (every
 * chunk streamed) it is the only reader and keeps the default.
 */
export const streamOptions = (streamed: number, all: number): ReadChunksOptions => (streamed < all ? { aheadBytes: 8 * 1024 * 1024 } : {});

/** A window of large-file tasks: at most IN_FLIGHT run, and the first failure is kept for the caller. */
export class LargeFiles {
  private readonly inFlight = new Set<Promise<void>>();
  private failure: { err: unknown } | null = null;

  /**
   * Starts `task` once a place is free (throwing an earlier task's failure instead). A failure of
   * this one is kept as `describe` makes it (naming the file).
   */
  async start(task: () => Promise<void>, describe: (err: unknown) => unknown): Promise<void> {
    while (this.inFlight.size >= IN_FLIGHT) await Promise.race(this.inFlight);
    this.throwIfFailed();
    const done: Promise<void> = task()
      .catch((err: unknown) => {
        this.failure ??= { err: describe(err) };
      })
      .finally(() => this.inFlight.delete(done));
    this.inFlight.add(done);
  }

  throwIfFailed(): void {
    if (this.failure !== null) throw this.failure.err;
  }

  /** Waits for every task, then throws the first failure. */
  async drain(): Promise<void> {
    await this.settle();
    this.throwIfFailed();
  }

  /** Waits for every task whatever happens: once it returns, none still reads or writes. */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }
}
