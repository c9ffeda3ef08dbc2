/**
 * Server-Sent Events: the progress of one operation, streamed until it ends
 * (GET /v1/:project_id/operations/:id/events).
 */
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { OperationEvent, OperationEvents } from '../../protection-manager/events.js';
import type { RequestContext } from '../../protection-manager/request.js';
import type { OperationView, ProtectionService } from '../../protection-manager/service.js';
import { requestContext } from '../auth.js';
import { keepStreamOpen } from '../limits.js';
import { idParams } from '../schemas.js';
import { isFinalStatus } from '../../protection-manager/final-status.js';
import type { EventReplay } from '../event-replay.js';

/** Statuses an operation ends in: its stream ends as soon as it has told one. */

/** Registers the events route of one operation. */
export function operationEventRoutes(app: FastifyInstance, service: ProtectionService, events: OperationEvents | EventReplay): void {
  app.get('/v1/:project_id/operations/:id/events', { schema: { tags: ['operations'], params: idParams } }, async (req, reply) => {
    const ctx = requestContext(req);
    const id = (req.params as { id: string }).id;
    // Subscribe before reading the status, so an end that happens in between is not missed.
    const subscription = new OperationSubscription(events, id);
    const view = await showOrUnsubscribe(service, ctx, id, subscription);
    const stream = EventStream.open(reply, subscription.stop);
    stream.send('status', { id, kind: view.kind, status: view.status });
    if (isFinalStatus(view.status)) {
      stream.end();
      return;
    }
    subscription.forwardTo(stream);
    // The end event may never come here (a broker outage, a process that died before publishing):
    // the record is the truth, so a stream also ends once the record shows a final status.
    const watch = setInterval(() => {
      service.showOperation(ctx, id).then(
        (now) => {
          if (isFinalStatus(now.status) && stream.open) stream.finish({ id, kind: now.kind, status: now.status });
        },
        () => undefined, // a catalog hiccup: the next look may answer
      );
    }, FINAL_STATUS_POLL_MS);
    stream.onEnd(() => clearInterval(watch));
    req.raw.on('close', () => stream.end());
  });
}

/** How often an open stream checks the record for an end its events did not bring. */
const FINAL_STATUS_POLL_MS = 2_000;

/** The operation as `operation show` sees it (404 unless it is the caller's); a failure stops the subscription. */
async function showOrUnsubscribe(
  service: ProtectionService,
  ctx: RequestContext,
  id: string,
  subscription: OperationSubscription,
): Promise<OperationView> {
  try {
    return await service.showOperation(ctx, id);
  } catch (err) {
    subscription.stop();
    throw err;
  }
}

/** The events of one operation (others are ignored), held until a stream takes them. */
class OperationSubscription {
  private readonly held: OperationEvent[] = [];
  private stream: EventStream | undefined;
  readonly stop: () => void;

  constructor(events: OperationEvents | EventReplay, id: string) {
    this.stop = events.subscribe((e) => {
      if (e.operationId === id) this.receive(e);
    });
    // In the same turn as subscribing: what the operation told before is neither missed nor told twice.
    if ('history' in events) this.held.push(...events.history(id));
  }

  /** Sends the events held so far to `stream`, then each as it comes. */
  forwardTo(stream: EventStream): void {
    this.stream = stream;
    for (const e of this.held.splice(0)) stream.deliver(e);
  }

  private receive(e: OperationEvent): void {
    if (this.stream === undefined) this.held.push(e);
    else this.stream.deliver(e);
  }
}

/** One SSE response: headers written when it opens, then events, then the end (which unsubscribes). */
class EventStream {
  private constructor(
    private readonly res: ServerResponse,
    private readonly unsubscribe: () => void,
  ) {}

  /** Takes the response over from Fastify and writes the SSE headers. */
  static open(reply: FastifyReply, unsubscribe: () => void): EventStream {
    reply.hijack();
    const res = reply.raw;
    keepStreamOpen(res.socket);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    return new EventStream(res, unsubscribe);
  }

  send(type: string, data: unknown): void {
    this.res.write(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  private ended = false;
  private readonly endHooks: Array<() => void> = [];

  get open(): boolean {
    return !this.ended;
  }

  /** Sends an event of the operation; the one telling it finished ends the stream. */
  deliver(e: OperationEvent): void {
    if (this.ended) return;
    this.send(e.type, e);
    if (e.type === 'operation_finished') this.end();
  }

  /** Ends with the record's final status, when no `operation_finished` event came. */
  finish(status: { id: string; kind: string; status: string }): void {
    if (this.ended) return;
    this.send('status', status);
    this.end();
  }

  onEnd(hook: () => void): void {
    this.endHooks.push(hook);
  }

  /** Idempotent: the client leaving, the last event and the status watch may all end it. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.unsubscribe();
    for (const hook of this.endHooks) hook();
    this.res.end();
  }
}
