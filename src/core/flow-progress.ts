/**
 * Where a running flow stands: which tasks are done, failed or skipped, which may start next, and
 * what a failure skips. Both engines keep their bookkeeping here (the local flow runner and the
 * Temporal workflow), so they start tasks in the same order and skip by the same rule. Pure and
 * deterministic: the workflow replays it.
 */
import { adjacencyOf, dependentsOf, type FlowGraph, type FlowTask } from './flow-graph.js';
import { compareStrings } from './resource-graph.js';

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
  /**
   * Kept as tasks finish rather than found by scanning the flow at every step (that scan made a
   * 2,000-task operation quadratic): each task's predecessors not yet done, and the open tasks
   * with none left, sorted by id (running ones included).
   */
  private readonly waiting = new Map<string, number>();
  private readonly readyIds: string[] = [];

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
    const { preds } = adjacencyOf(flow);
    for (const t of flow.tasks) {
      const left = preds.get(t.id)!.filter((p) => !this.done.has(p)).length;
      this.waiting.set(t.id, left);
      if (left === 0 && this.isOpen(t.id)) this.readyIds.push(t.id);
    }
    this.readyIds.sort(compareStrings);
  }

  /**
   * Tasks that may start now (every predecessor done), not running yet, sorted by id: the first
   * `limit` of them. A runner with a few free slots asks for that many, so a wide flow (500 tasks
   * ready at once) costs it the running ones and the free slots per step, not every ready task.
   */
  ready(running: { has(id: string): boolean }, limit = Infinity): FlowTask[] {
    const { tasks } = adjacencyOf(this.flow);
    const out: FlowTask[] = [];
    for (let i = 0; i < this.readyIds.length && out.length < limit; i++) {
      const id = this.readyIds[i]!;
      if (!running.has(id)) out.push(tasks.get(id)!);
    }
    return out;
  }

  succeeded(taskId: string): void {
    if (this.done.has(taskId)) return;
    this.done.add(taskId);
    this.unready(taskId);
    for (const s of adjacencyOf(this.flow).succs.get(taskId) ?? []) {
      const left = this.waiting.get(s)! - 1;
      this.waiting.set(s, left);
      if (left === 0 && this.isOpen(s)) this.readyIds.splice(this.position(s), 0, s);
    }
  }

  /** Where `id` is or would go in readyIds (binary search). */
  private position(id: string): number {
    let lo = 0;
    let hi = this.readyIds.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareStrings(this.readyIds[mid]!, id) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private unready(id: string): void {
    const i = this.position(id);
    if (this.readyIds[i] === id) this.readyIds.splice(i, 1);
  }

  /**
   * Records a failure and skips every task that transitively follows it: they can no longer run.
   * Returns the tasks newly skipped (a task already failed or skipped is not skipped again).
   */
  failed(taskId: string, error: E): string[] {
    this.failedIds.add(taskId);
    this.unready(taskId);
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
    for (const id of newly) {
      this.skippedIds.add(id);
      this.unready(id);
    }
    return newly;
  }
}
