/**
 * Settles like `work`, or rejects with `abandoned()` once `signal` has been aborted for `graceMs`
 * while `work` has not settled. For waiting on code that is asked to stop (a plugin hook told by its
 * signal) without trusting it to: a hook stuck in a loop or a kernel call must not keep an operation,
 * or the process closing it, waiting forever. The abandoned work is not stopped (nothing can stop it
 * from outside); its late result is dropped.
 */
export function settleWithinGrace<T>(work: Promise<T>, signal: AbortSignal, graceMs: number, abandoned: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    onAbort = () => {
      timer = setTimeout(() => reject(abandoned()), graceMs);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  // A late rejection of abandoned work is never unhandled.
  work.catch(() => undefined);
  return Promise.race([work, expired]).finally(() => {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort!);
  });
}
