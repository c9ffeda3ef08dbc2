/**
 * The flow graph: one task per (resource, implemented hook), ordered with Karbor's semantics. Pure and
 * deterministic (the same input in any order gives the same JSON) so that the local engine and a
 * Temporal workflow build, store and replay the very same graph.
 */
import { bwkError } from './errors.js';
import { HOOK_NAMES, type HookName } from './hooks.js';
import { assertAcyclic, compareStrings, findCycle, type ResourceGraph } from './resource-graph.js';

export interface FlowTask {
  /** `${ref}|${hook}`; unique because hook names never contain `|`. */
  id: string;
  ref: string;
  hook: HookName;
}

export interface FlowGraph {
  /** Every task once, in topological order (ties broken by id). */
  tasks: FlowTask[];
  /** `[before, after]` pairs, transitively reduced, sorted. */
  edges: Array<[string, string]>;
}

export const flowTaskId = (ref: string, hook: HookName): string => `${ref}|${hook}`;

/** The resource ref of a task id (refs may contain `|`; hook names never do). */
export const taskRef = (taskId: string): string => taskId.slice(0, taskId.lastIndexOf('|'));

const compareEdges = (a: [string, string], b: [string, string]): number => compareStrings(a[0], b[0]) || compareStrings(a[1], b[1]);

/**
 * Builds the flow of `graph`. Every resource first gets all four hook tasks and the Karbor edges
 * (per resource prepare_begin → prepare_finish → main → complete; for parent P and child C:
 * P.prepare_begin → C.prepare_begin, C.prepare_finish → P.prepare_finish, C.complete → P.complete).
 * Hooks `hooksOf(ref)` does not list are then contracted away, joining each predecessor to each
 * successor, so the ordering they carried survives: task u precedes task v exactly when it did in the
 * four-hook graph. Redundant edges are dropped (the transitive reduction of a DAG is unique).
 */
export function buildFlowGraph(graph: ResourceGraph, hooksOf: (ref: string) => readonly HookName[]): FlowGraph {
  assertAcyclic(graph);
  const refs = new Set(graph.nodes.map((n) => n.ref));
  const full = new Adjacency();
  const present = new Map<string, FlowTask>();
  for (const node of [...graph.nodes].sort((a, b) => compareStrings(a.ref, b.ref))) {
    const implemented = new Set(hooksOf(node.ref));
    HOOK_NAMES.forEach((hook, i) => {
      const id = flowTaskId(node.ref, hook);
      full.addNode(id);
      if (implemented.has(hook)) present.set(id, { id, ref: node.ref, hook });
      if (i > 0) full.addEdge(flowTaskId(node.ref, HOOK_NAMES[i - 1]!), id);
    });
    for (const child of node.children) {
      if (!refs.has(child)) {
        throw bwkError('BWK_ERR_INVALID_INPUT', {
          reason: `resource graph: ${node.ref} lists child ${child}, which has no node of its own`,
        });
      }
      full.addEdge(flowTaskId(node.ref, 'prepare_begin'), flowTaskId(child, 'prepare_begin'));
      full.addEdge(flowTaskId(child, 'prepare_finish'), flowTaskId(node.ref, 'prepare_finish'));
      full.addEdge(flowTaskId(child, 'complete'), flowTaskId(node.ref, 'complete'));
    }
  }
  // Eliminating a node in any order leaves u → v exactly when a path u ⇝ v ran only through
  // eliminated nodes, so the result does not depend on this loop's order; it is sorted anyway.
  for (const id of full
    .nodes()
    .filter((n) => !present.has(n))
    .sort(compareStrings)) {
    full.contract(id);
  }
  const edges = full.edges();
  const order = kahn([...present.keys()], edges);
  return { tasks: order.map((id) => present.get(id)!), edges: transitiveReduction(order, edges).sort(compareEdges) };
}

/**
 * The four-hook graph while hooks are contracted away: sets of successors and predecessors per
 * task. A general graph library paid for edge objects and string edge ids on every one of a
 * 500-resource plan's edges, a tenth of the local engine's whole run.
 */
class Adjacency {
  private readonly succs = new Map<string, Set<string>>();
  private readonly preds = new Map<string, Set<string>>();

  addNode(id: string): void {
    if (this.succs.has(id)) return;
    this.succs.set(id, new Set());
    this.preds.set(id, new Set());
  }

  addEdge(u: string, v: string): void {
    this.addNode(u);
    this.addNode(v);
    this.succs.get(u)!.add(v);
    this.preds.get(v)!.add(u);
  }

  nodes(): string[] {
    return [...this.succs.keys()];
  }

  /** Removes `id`, joining each of its predecessors to each of its successors. */
  contract(id: string): void {
    const preds = this.preds.get(id)!;
    const succs = this.succs.get(id)!;
    for (const p of preds) this.succs.get(p)!.delete(id);
    for (const s of succs) this.preds.get(s)!.delete(id);
    for (const p of preds) for (const s of succs) this.addEdge(p, s);
    this.succs.delete(id);
    this.preds.delete(id);
  }

  edges(): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (const [u, vs] of this.succs) for (const v of vs) out.push([u, v]);
    return out;
  }
}

interface FlowIndex {
  tasks: Map<string, FlowTask>;
  preds: Map<string, string[]>;
  succs: Map<string, string[]>;
}

// Flow graphs are treated as immutable values, so their adjacency is computed once per object.
const indexes = new WeakMap<FlowGraph, FlowIndex>();

function indexOf(flow: FlowGraph): FlowIndex {
  let index = indexes.get(flow);
  if (index) return index;
  index = { tasks: new Map(), preds: new Map(), succs: new Map() };
  for (const t of flow.tasks) {
    index.tasks.set(t.id, t);
    index.preds.set(t.id, []);
    index.succs.set(t.id, []);
  }
  for (const [u, v] of flow.edges) {
    const out = index.succs.get(u);
    const into = index.preds.get(v);
    if (!out || !into)
      throw bwkError('BWK_ERR_INVALID_INPUT', { reason: `flow graph edge ${u} → ${v} names a task that is not in the flow` });
    out.push(v);
    into.push(u);
  }
  indexes.set(flow, index);
  return index;
}

/** Kahn's algorithm taking the smallest ready id first: one canonical order per graph. */
function kahn(ids: readonly string[], edges: ReadonlyArray<readonly [string, string]>): string[] {
  const indegree = new Map(ids.map((id) => [id, 0]));
  const succs = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const [u, v] of edges) {
    succs.get(u)!.push(v);
    indegree.set(v, indegree.get(v)! + 1);
  }
  const ready = ids.filter((id) => indegree.get(id) === 0).sort(compareStrings);
  const order: string[] = [];
  while (ready.length > 0) {
    const id = ready.shift()!;
    order.push(id);
    for (const s of succs.get(id)!) {
      const left = indegree.get(s)! - 1;
      indegree.set(s, left);
      if (left === 0) ready.splice(insertionPoint(ready, s), 0, s);
    }
  }
  if (order.length < ids.length) {
    const cycle = findCycle({ nodes: ids.map((id) => ({ ref: id, children: succs.get(id)! })) });
    throw bwkError('BWK_ERR_INVALID_INPUT', { reason: `flow graph has a cycle: ${(cycle ?? []).join(' → ')}` });
  }
  return order;
}

function insertionPoint(sorted: readonly string[], value: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareStrings(sorted[mid]!, value) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Keeps u → v only when v is not reachable from another successor of u. Descendant sets are bitsets
 * filled in reverse topological order: O(V·E/32), fine for thousands of tasks.
 */
function transitiveReduction(order: readonly string[], edges: ReadonlyArray<readonly [string, string]>): Array<[string, string]> {
  const position = new Map(order.map((id, i) => [id, i]));
  const succs: number[][] = order.map(() => []);
  for (const [u, v] of edges) succs[position.get(u)!]!.push(position.get(v)!);
  const words = (order.length + 31) >>> 5;
  const descendants: Uint32Array[] = new Array<Uint32Array>(order.length);
  const kept: Array<[string, string]> = [];
  for (let i = order.length - 1; i >= 0; i--) {
    const reach = new Uint32Array(words);
    for (const s of succs[i]!) {
      const below = descendants[s]!;
      for (let w = 0; w < words; w++) reach[w]! |= below[w]!;
    }
    for (const s of succs[i]!) {
      if ((reach[s >>> 5]! & (1 << (s & 31))) === 0) kept.push([order[i]!, order[s]!]);
    }
    for (const s of succs[i]!) reach[s >>> 5]! |= 1 << (s & 31);
    descendants[i] = reach;
  }
  return kept;
}

/** Task ids in topological order, ties broken by id. Throws BWK_ERR_INVALID_INPUT on a cyclic flow. */
export function topologicalOrder(flow: FlowGraph): string[] {
  return kahn(
    flow.tasks.map((t) => t.id),
    flow.edges,
  );
}

/** Each task by id, with its predecessors and successors (computed once per flow object). */
export function adjacencyOf(flow: FlowGraph): {
  tasks: ReadonlyMap<string, FlowTask>;
  preds: ReadonlyMap<string, readonly string[]>;
  succs: ReadonlyMap<string, readonly string[]>;
} {
  return indexOf(flow);
}

/**
 * Tasks that may start now: not done, running, failed or skipped, and every predecessor done. Sorted
 * by id, so every engine starts them in the same order.
 */
export function readyTasks(
  flow: FlowGraph,
  done: ReadonlySet<string>,
  running: ReadonlySet<string>,
  failedOrSkipped: ReadonlySet<string>,
): FlowTask[] {
  const index = indexOf(flow);
  return flow.tasks
    .filter((t) => !done.has(t.id) && !running.has(t.id) && !failedOrSkipped.has(t.id))
    .filter((t) => index.preds.get(t.id)!.every((p) => done.has(p)))
    .sort((a, b) => compareStrings(a.id, b.id));
}

/** Ids of every task that transitively follows `taskId` (what a failure of it must skip), sorted. */
export function dependentsOf(flow: FlowGraph, taskId: string): string[] {
  const index = indexOf(flow);
  if (!index.tasks.has(taskId)) throw bwkError('BWK_ERR_INVALID_INPUT', { reason: `task ${taskId} is not in the flow graph` });
  const seen = new Set<string>();
  const stack = [...index.succs.get(taskId)!];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...index.succs.get(id)!);
  }
  return [...seen].sort(compareStrings);
}
