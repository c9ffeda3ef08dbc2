/**
 * Where a running flow stands: which tasks are done, failed or skipped, which may start next, and
 * what a failure skips. Both engines keep their bookkeeping here (the local flow runner and the
 * Temporal workflow), so they start tasks in the same order and skip by the same rule. Pure and
 * deterministic: the workflow replays it.
 */
import { dependentsOf, readyTasks, type FlowGraph, type FlowTask } from './flow-graph.js';

export interface TaskFailure<E> {
  taskId: string;
  error: E;
}

/** JSON form, carried across a Temporal continue-as-new. */
export interface FlowProgressSnapshot<E> {
  done: string[];
  failed: Array<TaskFailure<E>>;
  skipped: string[];
}

export class FlowProgress<E = unknown> {
  private readonly done = new Set<string>();
  private readonly failedIds = new Set<string>();
  private readonly skippedIds = new Set<string>();
  /** In the order they failed. */
  readonly failures: Array<TaskFailure<E>> = [];

  constructor(
    readonly flow: FlowGraph,
    from?: FlowProgressSnapshot<E>,
  ) {
    for (const id of from?.done ?? []) this.done.add(id);
    for (const f of from?.failed ?? []) {
      this.failedIds.add(f.taskId);
      this.failures.push(f);
    }
    for (const id of from?.skipped ?? []) this.skippedIds.add(id);
  }

  /** Tasks that may start now (every predecessor done), not running yet, sorted by id. */
  ready(running: ReadonlySet<string>): FlowTask[] {
    return readyTasks(this.flow, this.done, running, new Set([...this.failedIds, ...this.skippedIds]));
  }

  succeeded(taskId: string): void {
    this.done.add(taskId);
  }

  /**
   * Records a failure and skips every task that transitively follows it: they can no longer run.
   * Returns the tasks newly skipped (a task already failed or skipped is not skipped again).
   */
  failed(taskId: string, error: E): string[] {
    this.failedIds.add(taskId);
    this.failures.push({ taskId, error });
    return this.skip(dependentsOf(this.flow, taskId));
  }

  /** Tasks neither done, failed nor skipped, in flow order: what a stop (cancellation) left behind. */
  unfinished(): FlowTask[] {
    return this.flow.tasks.filter((t) => this.isOpen(t.id));
  }

  /** Skips everything unfinished; returns what it skipped. */
  skipUnfinished(): string[] {
    return this.skip(this.unfinished().map((t) => t.id));
  }

  get skipped(): string[] {
    return [...this.skippedIds];
  }

  get succeededIds(): string[] {
    return [...this.done];
  }

  snapshot(): FlowProgressSnapshot<E> {
    return { done: [...this.done], failed: [...this.failures], skipped: [...this.skippedIds] };
  }

  private isOpen(id: string): boolean {
    return !this.done.has(id) && !this.failedIds.has(id) && !this.skippedIds.has(id);
  }

  private skip(ids: readonly string[]): string[] {
    const newly = ids.filter((id) => this.isOpen(id));
    for (const id of newly) this.skippedIds.add(id);
    return newly;
  }
}
