/**
 * Sends the webhook outbox (src/store/notifications.ts): claims due deliveries, POSTs each signed
 * body, and records how it went — delivered on 2xx, the subscription disabled on 410, otherwise
 * tried again after a capped exponential backoff until retry.max_attempts. Several dispatchers
 * (one per API process) share the outbox; a claim keeps the others off a row while it is sent, and
 * expires so a dispatcher that died does not hold it forever (at-least-once, not exactly-once).
 */
import { randomUUID } from 'node:crypto';
import type { NotificationsConfig } from '../common/config.js';
import type { Logger } from '../common/logging.js';
import { reasonOf } from '../core/errors.js';
import type { AttemptResult, ClaimedDelivery, NotificationStore } from '../store/notifications.js';
import { CONTENT_TYPE, signature, SIGNATURE_HEADER } from './cloud-event.js';
import { checkWebhookTarget } from './url-policy.js';

export interface DispatcherDeps {
  store: NotificationStore;
  config: NotificationsConfig;
  logger: Logger;
}

/** The delay before attempt `attempts + 1`: initial × 2^(attempts−1), at most max_delay_ms. */
export function backoffMs(attempts: number, retry: NotificationsConfig['retry']): number {
  return Math.min(retry.max_delay_ms, retry.initial_delay_ms * 2 ** Math.min(30, Math.max(0, attempts - 1)));
}

export class WebhookDispatcher {
  private readonly owner = `dispatcher-${randomUUID()}`;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly deps: DispatcherDeps) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops polling and waits for the round in progress; what it had not sent stays in the outbox. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.runOnce()
        .catch((err: unknown) => this.deps.logger.warn('webhook round failed', { error: reasonOf(err) }))
        .then(() => this.schedule(this.deps.config.poll_interval_ms));
    }, ms);
    this.timer.unref();
  }

  /** One round: claims what is due and tries each once. Returns how many deliveries it tried. */
  async runOnce(): Promise<number> {
    const now = Date.now();
    // Held for longer than one request can take, so no other dispatcher sends it meanwhile.
    const until = new Date(now + this.deps.config.timeout_ms * 3).toISOString();
    const claimed = await this.deps.store.claimDue(this.owner, new Date(now).toISOString(), until, 20);
    for (const c of claimed) {
      if (this.stopped) break;
      const result = await this.attempt(c);
      await this.deps.store.recordAttempt(this.owner, c.delivery.id, result);
      if (result.outcome === 'delivered') continue;
      this.deps.logger.warn('webhook delivery not accepted', {
        subscription: c.delivery.subscription_id,
        delivery: c.delivery.id,
        outcome: result.outcome,
        status_code: result.statusCode,
        error: result.error,
      });
    }
    return claimed.length;
  }

  private async attempt({ delivery, subscription }: ClaimedDelivery): Promise<AttemptResult> {
    if (!subscription || subscription.status !== 'enabled')
      return { outcome: 'dropped', statusCode: null, error: 'the subscription is disabled or deleted' };
    const { config } = this.deps;
    const attemptNo = delivery.attempts + 1;
    const retryOrFail = (statusCode: number | null, error: string): AttemptResult =>
      attemptNo >= config.retry.max_attempts
        ? { outcome: 'failed', statusCode, error }
        : { outcome: 'retry', statusCode, error, nextAttemptAt: new Date(Date.now() + backoffMs(attemptNo, config.retry)).toISOString() };
    let url: URL;
    try {
      url = await checkWebhookTarget(subscription.url, config);
    } catch (err) {
      // The allow-list or DNS may change back; a refused target is retried like a failing one.
      return retryOrFail(null, reasonOf(err));
    }
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': CONTENT_TYPE, [SIGNATURE_HEADER]: signature(subscription.secret, delivery.payload) },
        body: delivery.payload,
        // A redirect could lead past the allow-list: it counts as a failure, not as a new target.
        redirect: 'manual',
        signal: AbortSignal.timeout(config.timeout_ms),
      });
      await res.body?.cancel().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) return { outcome: 'delivered', statusCode: res.status };
      if (res.status === 410) {
        await this.deps.store.disableSubscription(subscription.id, `the receiver answered 410 Gone on ${new Date().toISOString()}`);
        return { outcome: 'dropped', statusCode: 410, error: 'the receiver answered 410 Gone: subscription disabled' };
      }
      return retryOrFail(res.status, `the receiver answered HTTP ${res.status}`);
    } catch (err) {
      return retryOrFail(null, `request failed: ${(err as Error).name === 'TimeoutError' ? 'timed out' : reasonOf(err)}`);
    }
  }
}
