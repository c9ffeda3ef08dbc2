/**
 * What a running operation has told so far, for an event stream opened after it started: `bulwark
 * checkpoint create --url` connects once the server answered the create, by which time the
 * operation may have begun (its task count, its first figures). Kept only while operations run,
 * bounded in operations and in events each, progress coalesced to the latest figure per resource.
 */
import type { OperationEvent, OperationEvents } from '../protection-manager/events.js';

/** Running operations remembered at once: the oldest is forgotten past this. */
const MAX_OPERATIONS = 1000;
/** Events kept per operation (task events beyond it are dropped; progress is coalesced). */
const MAX_EVENTS = 512;

export class EventReplay implements OperationEvents {
  private readonly running = new Map<string, OperationEvent[]>();
  private readonly unsubscribe: () => void;

  constructor(private readonly bus: OperationEvents) {
    this.unsubscribe = bus.subscribe((e) => this.remember(e));
  }

  publish(event: OperationEvent): void {
    this.bus.publish(event);
  }

  subscribe(listener: (event: OperationEvent) => void): () => void {
    return this.bus.subscribe(listener);
  }

  /** The events of a running operation so far, oldest first (none once it finished, or when never heard). */
  history(operationId: string): OperationEvent[] {
    return [...(this.running.get(operationId) ?? [])];
  }

  close(): void {
    this.unsubscribe();
    this.running.clear();
  }

  private remember(e: OperationEvent): void {
    if (e.type === 'operation_finished') {
      this.running.delete(e.operationId);
      return;
    }
    let kept = this.running.get(e.operationId);
    if (!kept) {
      if (this.running.size >= MAX_OPERATIONS) this.running.delete(this.running.keys().next().value!);
      this.running.set(e.operationId, (kept = []));
    }
    if (e.type === 'progress') {
      const i = kept.findIndex((k) => k.type === 'progress' && k.resource === e.resource);
      if (i >= 0) kept.splice(i, 1);
    }
    if (kept.length < MAX_EVENTS || e.type === 'progress') kept.push(e);
  }
}
