/**
 * Waiting in tests: for a state change (waitFor), or for a pause a test needs on purpose (sleep). Every
 * test waits through these two, so a poll that gives up always says what it waited for and for how long.
 */

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `check` every `everyMs` until it returns a value (undefined or null mean "not yet"), failing
 * rather than hanging once `limitMs` has passed: it waits for a state, it does not time anything.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | null | undefined> | T | null | undefined,
  limitMs = 60_000,
  everyMs = 200,
): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== null) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${limitMs} ms`);
    await sleep(everyMs);
  }
}
