import { EventEmitter } from 'node:events';
import type { OperationKind } from './engine.js';
import type { HookName } from '../core/hooks.js';

/**
 * What an operation tells the world while it runs. The CLI draws its progress bar from these; the
 * REST API's SSE stream and the AMQP topic exchange subscribe to the same bus.
 */
/** Whom an operation concerns; `planId` is absent only when an operation failed before its plan was known. */
export interface OperationSubject {
  projectId: string;
  providerId: string;
  checkpointId: string;
  planId?: string;
}

export type OperationEvent =
  | ({ type: 'operation_started'; operationId: string; kind: OperationKind; total_tasks: number } & OperationSubject)
  | { type: 'task_started' | 'task_succeeded' | 'task_skipped'; operationId: string; task: string; resource: string }
  | { type: 'task_failed' | 'task_retrying'; operationId: string; task: string; resource: string; reason: string; attempt?: number }
  | {
      type: 'progress';
      operationId: string;
      resource: string;
      done: number;
      total?: number;
      unit?: string;
      message?: string;
      /** The hook reporting (prepare_begin, prepare_finish, main, complete); absent from earlier builds. */
      hook?: HookName;
    }
  | ({ type: 'operation_finished'; operationId: string; kind: OperationKind; status: string; reason?: string } & OperationSubject);

/** The event port: publish, and subscribe for as long as one cares. */
export interface OperationEvents {
  /** Publishes an event; never throws (a failing subscriber must not fail an operation). */
  publish(event: OperationEvent): void;
  /** Calls `listener` for every event until the returned function is called. */
  subscribe(listener: (event: OperationEvent) => void): () => void;
}

export class InProcessEvents implements OperationEvents {
  private readonly emitter = new EventEmitter();

  publish(event: OperationEvent): void {
    for (const l of this.emitter.listeners('event')) {
      try {
        (l as (e: OperationEvent) => void)(event);
      } catch {
        // A subscriber's bug is its own; the operation goes on.
      }
    }
  }

  subscribe(listener: (event: OperationEvent) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }
}
