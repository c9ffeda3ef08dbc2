/**
 * Operation events between a process's in-process bus and the `bulwark.events` topic exchange: every
 * process that runs operations publishes them, and the API process feeds them to its SSE streams.
 */
import type { OperationEvent, OperationEvents } from '../protection-manager/events.js';
import type { RpcTransport } from './port.js';

const NOUN = { protect: 'checkpoint', delete: 'checkpoint', restore: 'restore', verify: 'verification' } as const;
const RUNNING = { protect: 'protecting', delete: 'deleting', restore: 'in_progress', verify: 'in_progress' } as const;

type Ends = Extract<OperationEvent, { type: 'operation_started' | 'operation_finished' }>;

/** The status event's body: what ended or began, and whom it concerns (Karbor's field names). */
function statusBody(e: Ends, status: string) {
  return {
    id: e.operationId,
    kind: e.kind,
    status,
    ...(e.type === 'operation_finished' && e.reason ? { reason: e.reason } : {}),
    project_id: e.projectId,
    provider_id: e.providerId,
    ...(e.planId ? { plan_id: e.planId } : {}),
    checkpoint_id: e.checkpointId,
  };
}

/**
 * Publishes a process's operation events on `bulwark.events`: every event as `operation.<type>`
 * (the API's SSE streams follow them), and status changes as `checkpoint.<status>`,
 * `restore.<status>`, `verification.<status>` for anyone to subscribe. The returned stop waits for
 * publishes still on their way, so a process that stops right after an operation ended (a shutdown
 * cancelling it) does not close its transport under that operation's last event.
 */
export function bridgeEventsOut(events: OperationEvents, transport: RpcTransport): () => Promise<void> {
  const inFlight = new Set<Promise<void>>();
  const publish = (key: string, body: unknown): void => {
    const sent: Promise<void> = transport.publish(key, body).finally(() => inFlight.delete(sent));
    inFlight.add(sent);
  };
  const unsubscribe = events.subscribe((e) => {
    publish(`operation.${e.type}`, e);
    if (e.type === 'operation_started') publish(`${NOUN[e.kind]}.${RUNNING[e.kind]}`, statusBody(e, RUNNING[e.kind]));
    if (e.type === 'operation_finished') publish(`${NOUN[e.kind]}.${e.status}`, statusBody(e, e.status));
  });
  return async () => {
    unsubscribe();
    await Promise.allSettled([...inFlight]);
  };
}

/** Feeds events published by other processes into a local bus (the API process's SSE). */
export async function bridgeEventsIn(transport: RpcTransport, events: OperationEvents): Promise<() => Promise<void>> {
  return transport.subscribe('operation.#', (_key, e) => events.publish(e as OperationEvent));
}
