/**
 * Starts a walk before its consumer is ready: while a protect loads the previous checkpoint's trees
 * (waiting on the bank: reads, decryption in the codec workers), the main thread would be idle, and
 * the walk's listing and lstat calls fill that time instead. Entries walked meanwhile are kept, up
 * to a limit that bounds their memory, and handed out first; the walk then goes on where it stopped.
 * It only moves the walk earlier in time: what it yields, and in which order, is unchanged.
 */

export interface PrimedWalk<T> {
  /** The walk's entries, the primed ones first. Call once. */
  items(): AsyncGenerator<T>;
  /** Ends the walk if `items` was never taken (the protect failed first); harmless otherwise. */
  stop(): Promise<void>;
}

export function primeWalk<T>(walk: AsyncGenerator<T>, limit: number): PrimedWalk<T> {
  const primed: T[] = [];
  let stopped = false;
  let ended = false;
  let failure: { err: unknown } | null = null;
  const filling = (async (): Promise<void> => {
    try {
      while (!stopped && primed.length < limit) {
        const r = await walk.next();
        if (r.done === true) {
          ended = true;
          return;
        }
        primed.push(r.value);
      }
    } catch (err) {
      // Handed to the consumer in order, after the entries walked before it.
      failure = { err };
    }
  })();
  return {
    async *items(): AsyncGenerator<T> {
      stopped = true;
      await filling;
      // Shifted, not iterated: each entry is freed once handed out.
      while (primed.length > 0) yield primed.shift()!;
      if (failure !== null) throw failure.err;
      if (!ended) yield* walk;
    },
    async stop(): Promise<void> {
      stopped = true;
      await filling;
      await walk.return(undefined);
    },
  };
}
