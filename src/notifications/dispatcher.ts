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
import type { AttemptResult, ClaimedDelivery, DeliveryRow, NotificationStore, SubscriptionRow } from '../store/notifications.js';
import { CONTENT_TYPE, signature, SIGNATURE_HEADER } from './cloud-event.js';
import { checkWebhookTarget } from './url-policy.js';
import { emailMessage, sendEmail } from './email.js';

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
    const batchBefore = new Date(now - this.deps.config.email.batch_ms).toISOString();
    const claimed = await this.deps.store.claimDue(this.owner, new Date(now).toISOString(), until, 20, batchBefore);
    const done = new Set<string>();
    for (const c of claimed) {
      if (this.stopped) break;
      if (done.has(c.delivery.id)) continue;
      const batch =
        c.delivery.channel === 'email' && c.subscription?.status === 'enabled'
          ? await this.emailBatch(c, new Date(now).toISOString(), until)
          : [c.delivery];
      const result = c.delivery.channel === 'email' ? await this.sendBatch(c.subscription, batch) : await this.attempt(c);
      for (const d of batch) {
        done.add(d.id);
        await this.deps.store.recordAttempt(this.owner, d.id, result);
      }
      if (result.outcome === 'delivered') continue;
      this.deps.logger.warn('notification not accepted', {
        subscription: c.delivery.subscription_id,
        deliveries: batch.map((d) => d.id),
        channel: c.delivery.channel,
        outcome: result.outcome,
        status_code: result.statusCode,
        error: result.error,
      });
    }
    return claimed.length;
  }

  /** The claimed e-mail delivery and every other pending one of its subscription: one message. */
  private async emailBatch(c: ClaimedDelivery, now: string, until: string): Promise<DeliveryRow[]> {
    const rest = await this.deps.store.claimBatch(this.owner, c.delivery.subscription_id, now, until);
    return [c.delivery, ...rest.filter((d) => d.id !== c.delivery.id)];
  }

  private retryOrFail(attempts: number, statusCode: number | null, error: string): AttemptResult {
    const { retry } = this.deps.config;
    const attemptNo = attempts + 1;
    return attemptNo >= retry.max_attempts
      ? { outcome: 'failed', statusCode, error }
      : { outcome: 'retry', statusCode, error, nextAttemptAt: new Date(Date.now() + backoffMs(attemptNo, retry)).toISOString() };
  }

  private async sendBatch(subscription: SubscriptionRow | null, batch: DeliveryRow[]): Promise<AttemptResult> {
    if (!subscription || subscription.status !== 'enabled' || !subscription.addresses)
      return { outcome: 'dropped', statusCode: null, error: 'the subscription is disabled or deleted' };
    const attempts = Math.max(...batch.map((d) => d.attempts));
    try {
      const to = JSON.parse(subscription.addresses) as string[];
      await sendEmail(this.deps.config.email, to, emailMessage(this.deps.config.email, batch), this.deps.config.timeout_ms);
      return { outcome: 'delivered', statusCode: null };
    } catch (err) {
      const code = (err as { responseCode?: unknown }).responseCode;
      return this.retryOrFail(attempts, typeof code === 'number' ? code : null, `SMTP: ${reasonOf(err)}`);
    }
  }

  private async attempt({ delivery, subscription }: ClaimedDelivery): Promise<AttemptResult> {
    if (!subscription || subscription.status !== 'enabled' || !subscription.url)
      return { outcome: 'dropped', statusCode: null, error: 'the subscription is disabled or deleted' };
    const { config } = this.deps;
    const retryOrFail = (statusCode: number | null, error: string) => this.retryOrFail(delivery.attempts, statusCode, error);
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
