import type { BulwarkConfig } from '../common/config.js';
import type { Logger } from '../common/logging.js';
import type { Held } from '../processes/process.js';
import type { NotificationStore } from '../store/notifications.js';
import { WebhookDispatcher } from './dispatcher.js';
import { SubscriptionService } from './subscriptions.js';

/**
 * What a process serving the API runs for notifications: the subscription service its routes use,
 * and a webhook dispatcher over the shared outbox, stopped (its round finished) when the process stops.
 */
export function serveNotifications(held: Held, store: NotificationStore, config: BulwarkConfig, logger: Logger): SubscriptionService {
  const dispatcher = held.add(new WebhookDispatcher({ store, config: config.notifications, logger }), (d) => d.stop());
  dispatcher.start();
  return new SubscriptionService({ store, config: config.notifications, logger });
}
