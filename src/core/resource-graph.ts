/**
 * The resource graph of a plan: its resources plus every dependent resource the protectable plugins
 * report (a postgres.server's databases). Pure and JSON-serializable: it is stored in checkpoints and
 * rebuilt into a flow graph inside Temporal workflows, so nothing here may touch node builtins.
 */
import { Graph, alg } from '@dagrejs/graphlib';
import { bwkError } from './errors.js';
import { resourceRef, type Resource } from './resource.js';

export interface ResourceNode {
  /** `type#id`. */
  ref: string;
  type: string;
  id: string;
  name: string;
  extra_info?: Record<string, unknown>;
  /** The agent node whose `bulwark agent --node N` runs this resource's hooks (temporal engine). */
  node?: string;
  /** Refs of the dependent resources, sorted. */
  children: string[];
}

export interface ResourceGraph {
  /** Refs of the nodes no other node lists as a child, sorted. Every node is reachable from them. */
  roots: string[];
  /** Every node once, sorted by ref. */
  nodes: ResourceNode[];
}

/** What findCycle needs: nodes with outgoing edges. ResourceGraph and FlowGraph views both fit. */
export interface GraphLike {
  nodes: ReadonlyArray<{ ref: string; children: readonly string[] }>;
}

/** Code-unit order: unlike localeCompare it is the same on every machine, which replay needs. */
export const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function uniqueByRef(resources: readonly Resource[]): Resource[] {
  const seen = new Map<string, Resource>();
  for (const r of resources) {
    const ref = resourceRef(r);
    if (!seen.has(ref)) seen.set(ref, r);
  }
  return [...seen.entries()].sort(([a], [b]) => compareStrings(a, b)).map(([, r]) => r);
}

function toNode(r: Resource): ResourceNode {
  const node: ResourceNode = { ref: resourceRef(r), type: r.type, id: r.id, name: r.name, children: [] };
  if (r.extra_info !== undefined) node.extra_info = r.extra_info;
  if (r.node !== undefined) node.node = r.node;
  return node;
}

/**
 * Expands `roots` breadth-first through `dependents`, which is asked once per distinct resource. A
 * resource reached from several parents becomes one shared node (the graph is a DAG, not a tree); the
 * first description seen wins. Dependents are visited in ref order, so the result does not depend on
 * the order the plugins answer in. Throws BWK_ERR_RESOURCE_GRAPH_CYCLE naming the cycle.
 *
 * Calls are sequential on purpose: a level can hold hundreds of resources, and firing every lookup at
 * once would open as many connections to the systems being protected.
 */
export async function expandResourceGraph(
  roots: readonly Resource[],
  dependents: (r: Resource) => Promise<Resource[]>,
): Promise<ResourceGraph> {
  const nodes = new Map<string, ResourceNode>();
  const queue: Resource[] = [];
  const enqueue = (r: Resource): void => {
    const ref = resourceRef(r);
    if (nodes.has(ref)) return;
    nodes.set(ref, toNode(r));
    queue.push(r);
  };
  uniqueByRef(roots).forEach(enqueue);
  for (let i = 0; i < queue.length; i++) {
    const parent = queue[i]!;
    // A dependent runs where its parent runs (a server's databases on the server's node) unless it says otherwise.
    const children = uniqueByRef(await dependents(parent)).map((c) =>
      c.node === undefined && parent.node !== undefined ? { ...c, node: parent.node } : c,
    );
    nodes.get(resourceRef(parent))!.children = children.map(resourceRef);
    children.forEach(enqueue);
  }
  const sorted = [...nodes.values()].sort((a, b) => compareStrings(a.ref, b.ref));
  assertAcyclic({ nodes: sorted });
  const isChild = new Set(sorted.flatMap((n) => n.children));
  return { roots: sorted.filter((n) => !isChild.has(n.ref)).map((n) => n.ref), nodes: sorted };
}

/** Throws BWK_ERR_RESOURCE_GRAPH_CYCLE with `cycle` = `a → b → a` when the graph has a cycle. */
export function assertAcyclic(graph: GraphLike): void {
  const cycle = findCycle(graph);
  if (cycle) throw bwkError('BWK_ERR_RESOURCE_GRAPH_CYCLE', { cycle: cycle.join(' → ') }, { details: { cycle_refs: cycle } });
}

/**
 * One cycle of the graph as a closed walk (`[a, b, a]`), or null when it is acyclic. Deterministic
 * whatever the order of nodes and children: it is the shortest cycle through the smallest ref that
 * lies on any cycle, ties broken by ref order. Children without a node of their own count as nodes.
 */
export function findCycle(graph: GraphLike): string[] | null {
  const g = new Graph();
  for (const n of graph.nodes) {
    g.setNode(n.ref);
    for (const c of n.children) g.setEdge(n.ref, c);
  }
  const cyclic = alg.tarjan(g).filter((scc) => scc.length > 1 || g.hasEdge(scc[0]!, scc[0]!));
  if (cyclic.length === 0) return null;
  const start = cyclic.flat().sort(compareStrings)[0]!;
  const component = new Set(cyclic.find((scc) => scc.includes(start)));
  // Breadth-first search back to `start`, successors in ref order: the shortest, smallest-first cycle.
  const cameFrom = new Map<string, string>();
  const frontier = [start];
  for (let i = 0; i < frontier.length; i++) {
    const v = frontier[i]!;
    for (const w of [...(g.successors(v) ?? [])].sort(compareStrings)) {
      if (w === start) {
        const path = [v];
        while (path[0] !== start) path.unshift(cameFrom.get(path[0]!)!);
        return [...path, start];
      }
      if (component.has(w) && !cameFrom.has(w)) {
        cameFrom.set(w, v);
        frontier.push(w);
      }
    }
  }
  // Unreachable: every node of a strongly connected component reaches `start`.
  throw bwkError('BWK_ERR_INTERNAL', { reason: `cycle through ${start} not found` });
}
