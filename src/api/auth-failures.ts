/**
 * Slows guessing of tokens: failed authentications are counted per client address, and once an
 * address has `max_failures` within `window_ms` its further requests *without a valid token* are
 * refused with 429 until the window ends. A valid token is always accepted (the limit is checked only
 * after the token failed), so an attacker sharing the owner's address — a NAT, a proxy — cannot lock
 * the owner out. Memory is bounded: at most `max_addresses` are tracked, the oldest forgotten first.
 */
export interface AuthFailureLimits {
  /** Failed authentications from one address within the window before it is refused with 429. */
  max_failures: number;
  /** How long failures are counted from the first one, ms; the 429s end with the window. */
  window_ms: number;
  /** Addresses tracked at once (memory bound); past it, the address tracked longest is forgotten. */
  max_addresses: number;
}

export const DEFAULT_AUTH_FAILURE_LIMITS: AuthFailureLimits = { max_failures: 20, window_ms: 60_000, max_addresses: 10_000 };

interface Window {
  started: number;
  failures: number;
}

export class AuthFailureLimiter {
  readonly #windows = new Map<string, Window>();

  constructor(private readonly limits: AuthFailureLimits = DEFAULT_AUTH_FAILURE_LIMITS) {}

  /**
   * Counts one failed authentication from `address` at `now`. Returns the seconds to wait when the
   * address is over its limit (the caller answers 429), else null (the caller answers 401).
   */
  failed(address: string, now = Date.now()): number | null {
    let w = this.#windows.get(address);
    if (w === undefined || now - w.started >= this.limits.window_ms) {
      this.#windows.delete(address); // re-inserted last: the map's order is oldest window first
      w = { started: now, failures: 0 };
      this.#windows.set(address, w);
      this.#evict();
    }
    if (w.failures >= this.limits.max_failures) return Math.max(1, Math.ceil((w.started + this.limits.window_ms - now) / 1000));
    w.failures += 1;
    return null;
  }

  /** How many addresses are tracked (bounded by max_addresses). */
  get tracked(): number {
    return this.#windows.size;
  }

  #evict(): void {
    while (this.#windows.size > this.limits.max_addresses) this.#windows.delete(this.#windows.keys().next().value as string);
  }
}
