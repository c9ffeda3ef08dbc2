import { expect } from 'chai';
import fc from 'fast-check';
import type { Resource } from '../../src/plugins/api.js';
import { expandResourceGraph, findCycle, type GraphLike } from '../../src/core/resource-graph.js';

const res = (ref: string): Resource => {
  const [type, id] = ref.split('#') as [string, string];
  return { type, id, name: `name of ${id}` };
};

/** A dependents function over a fixed table that records how often each resource was asked about. */
function tableDependents(table: Record<string, string[]>): { dependents: (r: Resource) => Promise<Resource[]>; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    dependents: async (r) => {
      const ref = `${r.type}#${r.id}`;
      calls.push(ref);
      return (table[ref] ?? []).map(res);
    },
  };
}

async function rejection(p: Promise<unknown>): Promise<{ code?: string; message: string; details?: Record<string, unknown> }> {
  try {
    await p;
  } catch (err) {
    return err as { code?: string; message: string; details?: Record<string, unknown> };
  }
  throw new Error('expected a rejection');
}

describe('resource graph', () => {
  it('expands dependents breadth-first into one shared node per ref', async () => {
    const { dependents, calls } = tableDependents({
      'srv#a': ['db#d', 'db#c'],
      'db#c': ['tbl#t'],
      'db#d': ['tbl#t', 'tbl#t'],
    });
    const graph = await expandResourceGraph([res('srv#a')], dependents);
    expect(graph.roots).to.deep.equal(['srv#a']);
    expect(graph.nodes.map((n) => [n.ref, n.children])).to.deep.equal([
      ['db#c', ['tbl#t']],
      ['db#d', ['tbl#t']],
      ['srv#a', ['db#c', 'db#d']],
      ['tbl#t', []],
    ]);
    expect(graph.nodes[2]).to.deep.include({ type: 'srv', id: 'a', name: 'name of a' });
    expect(calls).to.deep.equal(['srv#a', 'db#c', 'db#d', 'tbl#t']);
    expect(JSON.parse(JSON.stringify(graph))).to.deep.equal(graph);
  });

  it('makes a plan resource that another one depends on a child, not a root', async () => {
    const { dependents } = tableDependents({ 'srv#a': ['db#c'] });
    const graph = await expandResourceGraph([res('db#c'), res('srv#a'), res('db#c'), res('x#z')], dependents);
    expect(graph.roots).to.deep.equal(['srv#a', 'x#z']);
    expect(graph.nodes.map((n) => n.ref)).to.deep.equal(['db#c', 'srv#a', 'x#z']);
  });

  it('refuses a self-loop and names it', async () => {
    const { dependents } = tableDependents({ 'noop#a': ['noop#a'] });
    const err = await rejection(expandResourceGraph([res('noop#a')], dependents));
    expect(err.code).to.equal('BWK_ERR_RESOURCE_GRAPH_CYCLE');
    expect(err.message).to.equal('resource graph has a cycle: noop#a → noop#a');
    expect(err.details).to.deep.include({ cycle: 'noop#a → noop#a' });
  });

  it('refuses a 2-cycle and a 3-cycle, naming the same cycle from whichever resource it starts', async () => {
    const two = tableDependents({ 'noop#a': ['noop#b'], 'noop#b': ['noop#a'] });
    for (const start of ['noop#a', 'noop#b']) {
      const err = await rejection(expandResourceGraph([res(start)], two.dependents));
      expect(err.details).to.deep.include({ cycle: 'noop#a → noop#b → noop#a' });
    }
    const three = tableDependents({ 'noop#r': ['noop#c'], 'noop#c': ['noop#a'], 'noop#a': ['noop#b'], 'noop#b': ['noop#c'] });
    for (const start of ['noop#r', 'noop#a', 'noop#b', 'noop#c']) {
      const err = await rejection(expandResourceGraph([res(start)], three.dependents));
      expect(err.code).to.equal('BWK_ERR_RESOURCE_GRAPH_CYCLE');
      expect(err.message).to.equal('resource graph has a cycle: noop#a → noop#b → noop#c → noop#a');
    }
  });

  it('property: random acyclic tables never throw and hold every reachable ref exactly once', async () => {
    const tableArb = fc.integer({ min: 1, max: 15 }).chain((n) =>
      fc.record({
        n: fc.constant(n),
        edges: fc.array(fc.tuple(fc.nat(n - 1), fc.nat(n - 1)), { maxLength: 3 * n }),
        roots: fc.subarray(
          Array.from({ length: n }, (_, i) => i),
          { minLength: 1 },
        ),
      }),
    );
    await fc.assert(
      fc.asyncProperty(tableArb, async ({ n, edges, roots }) => {
        const ref = (i: number): string => `t${i % 2}#${i}`;
        const table: Record<string, string[]> = {};
        for (let i = 0; i < n; i++) table[ref(i)] = [];
        for (const [a, b] of edges) if (a < b) table[ref(a)]!.push(ref(b)); // only forward edges: acyclic
        const graph = await expandResourceGraph(
          roots.map((i) => res(ref(i))),
          tableDependents(table).dependents,
        );

        const reachable = new Set<string>();
        const stack = roots.map(ref);
        while (stack.length > 0) {
          const r = stack.pop()!;
          if (!reachable.has(r)) {
            reachable.add(r);
            stack.push(...table[r]!);
          }
        }
        expect(graph.nodes.map((x) => x.ref)).to.deep.equal([...reachable].sort());
        for (const x of graph.nodes) expect(x.children).to.deep.equal([...new Set(table[x.ref])].sort());
        const children = new Set(graph.nodes.flatMap((x) => x.children));
        expect(graph.roots).to.deep.equal(graph.nodes.map((x) => x.ref).filter((r) => !children.has(r)));
      }),
    );
  });

  it('property: findCycle reports a real cycle, the same one whatever the order', () => {
    const arb = fc
      .integer({ min: 1, max: 8 })
      .chain((n) => fc.record({ n: fc.constant(n), edges: fc.array(fc.tuple(fc.nat(n - 1), fc.nat(n - 1)), { maxLength: 2 * n }) }));
    fc.assert(
      fc.property(arb, fc.boolean(), ({ n, edges }, reverse) => {
        const make = (flip: boolean): GraphLike => {
          const nodes = Array.from({ length: n }, (_, i) => ({
            ref: `n#${i}`,
            children: edges.filter(([a]) => a === i).map(([, b]) => `n#${b}`),
          }));
          const ordered = flip ? nodes.reverse().map((x) => ({ ...x, children: [...x.children].reverse() })) : nodes;
          return { nodes: ordered };
        };
        const cycle = findCycle(make(false));
        expect(findCycle(make(reverse))).to.deep.equal(cycle);
        const has = (a: string, b: string): boolean => edges.some(([x, y]) => `n#${x}` === a && `n#${y}` === b);
        if (cycle === null) {
          // Acyclic: some node order puts every edge forward (checked by repeatedly removing sources).
          const left = new Set(Array.from({ length: n }, (_, i) => `n#${i}`));
          let progress = true;
          while (progress) {
            progress = false;
            for (const v of left)
              if (![...left].some((u) => has(u, v))) {
                left.delete(v);
                progress = true;
              }
          }
          expect(left.size).to.equal(0);
        } else {
          expect(cycle[0]).to.equal(cycle.at(-1));
          for (let i = 1; i < cycle.length; i++) expect(has(cycle[i - 1]!, cycle[i]!)).to.equal(true);
        }
      }),
    );
  });
});
