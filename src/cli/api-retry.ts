/**
 * An API that stops answering while the CLI waits on an operation (a restart, an upgrade, a failover
 * behind a proxy) is waited out rather than reported as a failure: the operation runs on elsewhere,
 * and what the operator wants is its result. Only "no answer" is retried (BWK_ERR_SERVICE_UNAVAILABLE);
 * an answer, even an error, is final.
 */
import { isBulwarkError } from '../core/errors.js';
import { parseDuration } from '../common/duration.js';

/** How long the CLI keeps trying an unreachable API by default (`--api-retry`, BULWARK_API_RETRY). */
export const DEFAULT_API_RETRY = '5m';
/** Waits between tries: doubling from the first, never longer than the cap. */
const FIRST_WAIT_MS = 250;
const MAX_WAIT_MS = 5_000;

export interface ApiRetry {
  /** How long, from the first failed try of an outage, to keep trying; 0 gives up at once. */
  budgetMs: number;
  /** Where notes for the operator go (stderr). */
  note(text: string): void;
}

/** `--api-retry`: a duration (`30s`, `5m`), or `0` (or `off`) for no retrying. */
export function parseApiRetry(text: string | undefined): number {
  const value = text ?? process.env.BULWARK_API_RETRY ?? DEFAULT_API_RETRY;
  if (value.trim() === '0' || value.trim() === 'off') return 0;
  return parseDuration('--api-retry', value);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Calls `fn` until it answers. While the API is unreachable, retries with capped backoff for the
 * budget, noting once when it starts waiting and once when the API is back; past the budget the
 * last error is thrown. `what` names the call in the notes.
 */
export async function rideOut<T>(retry: ApiRetry, what: string, fn: () => Promise<T>): Promise<T> {
  let since: number | undefined;
  let wait = FIRST_WAIT_MS;
  for (;;) {
    try {
      const value = await fn();
      if (since !== undefined) retry.note(`the API answers again; ${what} goes on`);
      return value;
    } catch (err) {
      if (!isBulwarkError(err, 'BWK_ERR_SERVICE_UNAVAILABLE')) throw err;
      const now = Date.now();
      if (since === undefined) {
        if (retry.budgetMs <= 0) throw err;
        since = now;
        const seconds = Math.round(retry.budgetMs / 1000);
        retry.note(`${err.message}; retrying for up to ${seconds} s while ${what} (--api-retry sets how long)`);
      }
      if (now - since >= retry.budgetMs) throw err;
      await sleep(Math.min(wait, retry.budgetMs - (now - since)));
      wait = Math.min(wait * 2, MAX_WAIT_MS);
    }
  }
}
