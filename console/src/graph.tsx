/**
 * A checkpoint's resource graph drawn as a graph: parents above their dependents (each node in the
 * layer below its deepest parent), every node coloured by its status in the checkpoint.
 */
import type { GraphNode } from './types.js';
import { statusKind } from './ui.js';

const W = 210;
const H = 60;
const GAP_X = 24;
const GAP_Y = 48;

/** Layer of each ref: 0 for roots, else one more than its deepest parent. */
function layers(nodes: readonly GraphNode[]): Map<string, number> {
  const depth = new Map<string, number>();
  const byRef = new Map(nodes.map((n) => [n.ref, n]));
  const parents = new Map<string, string[]>();
  for (const n of nodes) for (const c of n.children) parents.set(c, [...(parents.get(c) ?? []), n.ref]);
  const visit = (ref: string, trail: Set<string>): number => {
    const known = depth.get(ref);
    if (known !== undefined) return known;
    if (trail.has(ref)) return 0; // a cycle cannot be stored, but a drawing must not loop on one
    trail.add(ref);
    const d = Math.max(-1, ...(parents.get(ref) ?? []).filter((p) => byRef.has(p)).map((p) => visit(p, trail))) + 1;
    depth.set(ref, d);
    return d;
  };
  for (const n of nodes) visit(n.ref, new Set());
  return depth;
}

const short = (s: string) => (s.length > 30 ? `${s.slice(0, 14)}…${s.slice(-14)}` : s);

export function ResourceGraph({ nodes, statuses }: { nodes: readonly GraphNode[]; statuses: Record<string, string> }) {
  const depth = layers(nodes);
  const rows: GraphNode[][] = [];
  for (const n of nodes) (rows[depth.get(n.ref) ?? 0] ??= []).push(n);
  const pos = new Map<string, { x: number; y: number }>();
  rows.forEach((row, r) => row.forEach((n, i) => pos.set(n.ref, { x: GAP_X + i * (W + GAP_X), y: GAP_Y / 2 + r * (H + GAP_Y) })));
  const width = GAP_X + Math.max(1, ...rows.map((r) => r.length)) * (W + GAP_X);
  const height = GAP_Y + rows.length * (H + GAP_Y) - GAP_Y / 2;
  const summary = nodes.map((n) => `${n.ref}: ${statuses[n.ref] ?? 'unknown'}`).join('; ');
  return (
    <div class="graph" role="region" aria-label="Resource graph (scrollable)" tabIndex={0}>
      <svg width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`Resource graph. ${summary}`}>
        {nodes.flatMap((n) =>
          n.children
            .filter((c) => pos.has(c))
            .map((c) => {
              const a = pos.get(n.ref)!;
              const b = pos.get(c)!;
              return <path key={`${n.ref}>${c}`} class="edge" d={`M${a.x + W / 2},${a.y + H} L${b.x + W / 2},${b.y}`} />;
            }),
        )}
        {nodes.map((n) => {
          const p = pos.get(n.ref)!;
          const status = statuses[n.ref];
          return (
            <g key={n.ref} class={`node ${statusKind(status)}`} data-ref={n.ref} data-status={status ?? 'unknown'}>
              <title>{`${n.ref} (${n.name}): ${status ?? 'unknown'}`}</title>
              <rect x={p.x} y={p.y} width={W} height={H} rx={6} />
              <text x={p.x + 8} y={p.y + 17}>
                {short(n.type)}
              </text>
              <text x={p.x + 8} y={p.y + 33}>
                {short(n.id)}
              </text>
              <text x={p.x + 8} y={p.y + 50} class="state">
                {status ?? 'unknown'}
              </text>
            </g>
          );
        })}
      </svg>
    </div>
  );
}
