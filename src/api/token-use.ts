import type { Logger } from '../common/logging.js';

/** How often a token's last use is written at most, by default: once a minute. */
export const DEFAULT_TOKEN_USE_INTERVAL_MS = 60_000;
/** Tokens remembered at once; the oldest is forgotten first (it is then written again on its next use, no harm). */
const MAX_REMEMBERED = 10_000;

/**
 * Records when tokens authenticate (`last_used_at`) without a catalog write per request: a token's
 * use is written at most once per `intervalMs`, and in the background — the request never waits for
 * it, and a failed write is logged, not answered. So `last_used_at` is exact to within the interval.
 */
export class TokenUseRecorder {
  readonly #written = new Map<string, number>();

  constructor(
    private readonly write: (id: string, at: string) => Promise<void>,
    private readonly logger: Logger,
    private readonly intervalMs = DEFAULT_TOKEN_USE_INTERVAL_MS,
  ) {}

  /** Notes a use of token `id` at `now` (ms since the epoch); starts a write when the last one is old enough. */
  used(id: string, now = Date.now()): void {
    const last = this.#written.get(id);
    if (last !== undefined && now - last < this.intervalMs) return;
    this.#written.delete(id); // re-inserted last: the map's order is the order of writes, oldest first
    this.#written.set(id, now);
    if (this.#written.size > MAX_REMEMBERED) this.#written.delete(this.#written.keys().next().value as string);
    this.write(id, new Date(now).toISOString()).catch((err: unknown) => {
      this.logger.warn('could not record a token use', { token_id: id, error: err });
    });
  }
}
