import { expect } from 'chai';
import fc from 'fast-check';
import { HOOK_NAMES, type HookName } from '../../src/plugins/api.js';
import { HOOK_NAMES as CORE_HOOK_NAMES } from '../../src/core/hooks.js';
import { buildFlowGraph, dependentsOf, readyTasks, topologicalOrder, type FlowGraph } from '../../src/core/flow-graph.js';
import type { ResourceGraph, ResourceNode } from '../../src/core/resource-graph.js';
import { FlowProgress } from '../../src/core/flow-progress.js';

const ALL: readonly HookName[] = HOOK_NAMES;

function node(ref: string, children: string[] = []): ResourceNode {
  const [type, id] = ref.split('#') as [string, string];
  return { ref, type, id, name: id, children };
}

/** Transitive successors per task, computed independently of the module under test. */
function reachability(taskIds: readonly string[], edges: ReadonlyArray<readonly [string, string]>): Map<string, Set<string>> {
  const succ = new Map<string, string[]>(taskIds.map((id) => [id, []]));
  for (const [u, v] of edges) succ.get(u)!.push(v);
  const result = new Map<string, Set<string>>();
  for (const start of taskIds) {
    const seen = new Set<string>();
    const stack = [...succ.get(start)!];
    while (stack.length > 0) {
      const v = stack.pop()!;
      if (!seen.has(v)) {
        seen.add(v);
        stack.push(...succ.get(v)!);
      }
    }
    result.set(start, seen);
  }
  return result;
}

interface RandomPlan {
  graph: ResourceGraph;
  hooks: Map<string, HookName[]>;
  seed: number;
}

/** 1–12 resources; resource i may have parents among 0..i-1 (a forest plus extra shared parents). */
const planArb: fc.Arbitrary<RandomPlan> = fc.integer({ min: 1, max: 12 }).chain((n) =>
  fc
    .record({
      parents: fc.array(fc.array(fc.nat(), { maxLength: 3 }), { minLength: n, maxLength: n }),
      hooks: fc.array(fc.subarray([...ALL]), { minLength: n, maxLength: n }),
      seed: fc.nat(),
    })
    .map(({ parents, hooks, seed }) => {
      const refs = Array.from({ length: n }, (_, i) => `t${i % 3}#r${(i * 7) % 13}`);
      const children = refs.map(() => new Set<string>());
      parents.forEach((ps, i) => {
        if (i > 0) for (const p of ps) children[p % i]!.add(refs[i]!);
      });
      const isChild = new Set(children.flatMap((c) => [...c]));
      const nodes = refs.map((ref, i) => node(ref, [...children[i]!].sort()));
      return {
        graph: { roots: refs.filter((r) => !isChild.has(r)).sort(), nodes: nodes.sort((a, b) => (a.ref < b.ref ? -1 : 1)) },
        hooks: new Map(refs.map((ref, i) => [ref, hooks[i]!])),
        seed,
      };
    }),
);

/** A deterministic shuffle (the seed comes from fast-check, so failures shrink and replay). */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('flow graph', () => {
  it('keeps its hook order in step with the plugin API (one list, not a copy)', () => {
    expect(HOOK_NAMES).to.equal(CORE_HOOK_NAMES);
    expect([...HOOK_NAMES]).to.deep.equal(['prepare_begin', 'prepare_finish', 'main', 'complete']);
  });

  it('orders a parent with two children exactly as Karbor does (transitively reduced)', () => {
    const graph: ResourceGraph = { roots: ['s#p'], nodes: [node('s#p', ['d#c1', 'd#c2']), node('d#c1'), node('d#c2')] };
    const flow = buildFlowGraph(graph, () => ALL);
    const e = (u: string, v: string): [string, string] => [u, v];
    expect(flow.edges).to.deep.equal([
      e('d#c1|complete', 's#p|complete'),
      e('d#c1|main', 'd#c1|complete'),
      e('d#c1|prepare_begin', 'd#c1|prepare_finish'),
      e('d#c1|prepare_finish', 'd#c1|main'),
      e('d#c1|prepare_finish', 's#p|prepare_finish'),
      e('d#c2|complete', 's#p|complete'),
      e('d#c2|main', 'd#c2|complete'),
      e('d#c2|prepare_begin', 'd#c2|prepare_finish'),
      e('d#c2|prepare_finish', 'd#c2|main'),
      e('d#c2|prepare_finish', 's#p|prepare_finish'),
      e('s#p|main', 's#p|complete'),
      // s#p|prepare_begin → s#p|prepare_finish is implied through either child, so it is reduced away.
      e('s#p|prepare_begin', 'd#c1|prepare_begin'),
      e('s#p|prepare_begin', 'd#c2|prepare_begin'),
      e('s#p|prepare_finish', 's#p|main'),
    ]);
    expect(flow.tasks.map((t) => t.id)).to.deep.equal(topologicalOrder(flow));
    expect(flow.tasks[0]!.id).to.equal('s#p|prepare_begin');
    expect(flow.tasks.at(-1)!.id).to.equal('s#p|complete');
  });

  it('gives a resource with no hooks no tasks, and keeps the ordering it carried', () => {
    const graph: ResourceGraph = { roots: ['s#p'], nodes: [node('s#p', ['d#c']), node('d#c', ['f#g']), node('f#g')] };
    const flow = buildFlowGraph(graph, (ref) => (ref === 'd#c' ? [] : ALL));
    expect(flow.tasks.filter((t) => t.ref === 'd#c')).to.deep.equal([]);
    expect(flow.edges).to.deep.include.members([
      ['s#p|prepare_begin', 'f#g|prepare_begin'],
      ['f#g|prepare_finish', 's#p|prepare_finish'],
      ['f#g|complete', 's#p|complete'],
    ]);
    expect(buildFlowGraph({ roots: ['s#p'], nodes: [node('s#p')] }, () => [])).to.deep.equal({ tasks: [], edges: [] });
  });

  it('refuses a resource graph with a cycle or a dangling child', () => {
    const cyclic: ResourceGraph = { roots: [], nodes: [node('n#a', ['n#b']), node('n#b', ['n#a'])] };
    expect(() => buildFlowGraph(cyclic, () => ALL))
      .to.throw()
      .with.property('code', 'BWK_ERR_RESOURCE_GRAPH_CYCLE');
    const dangling: ResourceGraph = { roots: ['n#a'], nodes: [node('n#a', ['n#ghost'])] };
    expect(() => buildFlowGraph(dangling, () => ALL))
      .to.throw(/n#ghost/)
      .with.property('code', 'BWK_ERR_INVALID_INPUT');
  });

  it('readyTasks and dependentsOf follow the edges', () => {
    const graph: ResourceGraph = { roots: ['s#p'], nodes: [node('s#p', ['d#c']), node('d#c')] };
    const flow = buildFlowGraph(graph, (ref) => (ref === 's#p' ? ['prepare_begin', 'complete'] : ['main', 'complete']));
    const none = new Set<string>();
    expect(readyTasks(flow, none, none, none).map((t) => t.id)).to.deep.equal(['s#p|prepare_begin']);
    expect(readyTasks(flow, new Set(['s#p|prepare_begin']), none, none).map((t) => t.id)).to.deep.equal(['d#c|main']);
    expect(readyTasks(flow, new Set(['s#p|prepare_begin']), new Set(['d#c|main']), none)).to.deep.equal([]);
    expect(dependentsOf(flow, 's#p|prepare_begin')).to.deep.equal(['d#c|complete', 'd#c|main', 's#p|complete']);
    expect(dependentsOf(flow, 's#p|complete')).to.deep.equal([]);
    expect(() => dependentsOf(flow, 'nope'))
      .to.throw()
      .with.property('code', 'BWK_ERR_INVALID_INPUT');
  });

  it('topologicalOrder refuses a cyclic flow and names the cycle', () => {
    const flow: FlowGraph = {
      tasks: [
        { id: 'n#a|main', ref: 'n#a', hook: 'main' },
        { id: 'n#b|main', ref: 'n#b', hook: 'main' },
      ],
      edges: [
        ['n#a|main', 'n#b|main'],
        ['n#b|main', 'n#a|main'],
      ],
    };
    expect(() => topologicalOrder(flow)).to.throw('n#a|main → n#b|main → n#a|main');
  });

  describe('properties over random resource DAGs', () => {
    it('is acyclic, loses no ordering and invents none', () => {
      fc.assert(
        fc.property(planArb, ({ graph, hooks }) => {
          const flow = buildFlowGraph(graph, (ref) => hooks.get(ref)!);
          const fullFlow = buildFlowGraph(graph, () => ALL);
          const order = topologicalOrder(flow); // throws on a cycle
          expect(order).to.have.length(flow.tasks.length);
          const position = new Map(order.map((id, i) => [id, i]));
          for (const [u, v] of flow.edges) expect(position.get(u)!).to.be.lessThan(position.get(v)!);

          const ids = flow.tasks.map((t) => t.id);
          expect(ids.sort()).to.deep.equal([...hooks].flatMap(([ref, hs]) => hs.map((h) => `${ref}|${h}`)).sort());
          const reach = reachability(ids, flow.edges);
          const fullReach = reachability(
            fullFlow.tasks.map((t) => t.id),
            fullFlow.edges,
          );
          for (const u of ids) {
            for (const v of ids) expect(reach.get(u)!.has(v), `${u} ⇝ ${v}`).to.equal(fullReach.get(u)!.has(v));
          }
        }),
      );
    });

    it("keeps each resource's hooks in order and never orders two main tasks", () => {
      fc.assert(
        fc.property(planArb, ({ graph, hooks }) => {
          const flow = buildFlowGraph(graph, (ref) => hooks.get(ref)!);
          const reach = reachability(
            flow.tasks.map((t) => t.id),
            flow.edges,
          );
          for (const [ref, hs] of hooks) {
            const present = ALL.filter((h) => hs.includes(h)).map((h) => `${ref}|${h}`);
            for (let i = 1; i < present.length; i++) expect(reach.get(present[i - 1]!)!.has(present[i]!)).to.equal(true);
          }
          const mains = flow.tasks.filter((t) => t.hook === 'main').map((t) => t.id);
          for (const m of mains) expect(mains.filter((other) => reach.get(m)!.has(other))).to.deep.equal([]);
        }),
      );
    });

    it('is identical whatever the order of resources and children', () => {
      fc.assert(
        fc.property(planArb, ({ graph, hooks, seed }) => {
          const expected = buildFlowGraph(graph, (ref) => hooks.get(ref)!);
          const reordered: ResourceGraph = {
            roots: shuffled(graph.roots, seed),
            nodes: shuffled(graph.nodes, seed).map((n, i) => ({ ...n, children: shuffled(n.children, seed + i) })),
          };
          const actual = buildFlowGraph(reordered, (ref) => shuffled(hooks.get(ref)!, seed));
          expect(JSON.stringify(actual)).to.equal(JSON.stringify(expected));
          expect(JSON.parse(JSON.stringify(actual))).to.deep.equal(actual);
        }),
      );
    });
  });
});

describe('flow progress', () => {
  it('keeps the same ready tasks as a scan of the flow, through successes, failures and a snapshot resume (property)', () => {
    fc.assert(
      fc.property(planArb, fc.array(fc.boolean(), { maxLength: 60 }), (plan, fails) => {
        const flow = buildFlowGraph(plan.graph, (ref) => plan.hooks.get(ref) ?? []);
        let progress = new FlowProgress<string>(flow);
        const running = new Set<string>();
        const scan = (): string[] => {
          const s = progress.snapshot();
          const closed = new Set([...s.failed.map((f) => f.taskId), ...s.skipped]);
          return readyTasks(flow, new Set(s.done), running, closed).map((t) => t.id);
        };
        let step = 0;
        for (;;) {
          expect(progress.ready(running).map((t) => t.id)).to.deep.equal(scan());
          // Start up to two, finish the first running (in a seeded order), sometimes as a failure.
          for (const t of progress.ready(running).slice(0, 2)) running.add(t.id);
          const next = shuffled([...running].sort(), plan.seed + step)[0];
          if (next === undefined) break;
          running.delete(next);
          if (fails[step % Math.max(1, fails.length)] === true) progress.failed(next, 'boom');
          else progress.succeeded(next);
          // Half-way, carry on from a snapshot, as a Temporal continue-as-new does.
          if (step === 3) progress = new FlowProgress<string>(flow, progress.snapshot());
          step++;
        }
        expect(progress.unfinished().filter((t) => !running.has(t.id))).to.deep.equal([]);
      }),
      { numRuns: 300 },
    );
  });
});
