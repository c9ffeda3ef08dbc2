import type { RpcTransport } from '../rpc/port.js';
import { bridgeEventsOut } from '../rpc/event-bridge.js';
import type { BulwarkApp } from './app.js';
import type { Held } from './process.js';

/**
 * Publishes the app's operation events on the transport's `bulwark.events` while the process runs,
 * including the last events of operations that end during shutdown: the app is drained before the
 * bridge and the transport are released.
 */
export function publishEvents(held: Held, app: BulwarkApp, transport: RpcTransport): void {
  held.add(bridgeEventsOut(app.events, transport), (unbridge) => unbridge());
  held.add(app, (a) => a.drain());
}
