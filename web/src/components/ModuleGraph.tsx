// A product's module graph as SVG: who calls whom, laid out in layers bottom-up (modules that
// call nothing at the bottom, the entry on top), each module with the version it serves in stable
// and in every lane; a module another product also uses is drawn dashed and marked "shared".

export interface GraphNode {
  name: string;
  calls: string[];
  stable: string | undefined;
  lanes: { lane: string; version: string }[];
  sharedWith: string[];
}

const W = 176;
const GAP_X = 28;
const GAP_Y = 46;
const LINE = 17;

function heights(nodes: Map<string, GraphNode>): Map<string, number> {
  const h = new Map<string, number>();
  const visit = (name: string, seen: Set<string>): number => {
    const known = h.get(name);
    if (known !== undefined) return known;
    if (seen.has(name)) return 0; // a cycle (refused by validation): do not loop
    seen.add(name);
    const callees = nodes.get(name)?.calls.filter((c) => nodes.has(c)) ?? [];
    const level = callees.length === 0 ? 0 : 1 + Math.max(...callees.map((c) => visit(c, seen)));
    h.set(name, level);
    return level;
  };
  for (const name of nodes.keys()) visit(name, new Set());
  return h;
}

/**
 * Each module's layer, 0 at the bottom: a module that calls nothing starts at 0, a caller sits
 * above everything it calls; then each module moves up to just below its lowest caller, so an
 * edge spans one layer where it can (catalog beside orders, not under it).
 */
function layers(nodes: Map<string, GraphNode>): Map<string, number> {
  const h = heights(nodes);
  const callers = new Map<string, string[]>();
  for (const n of nodes.values())
    for (const c of n.calls) if (nodes.has(c)) callers.set(c, [...(callers.get(c) ?? []), n.name]);
  const level = new Map<string, number>();
  const place = (name: string, seen: Set<string>): number => {
    const known = level.get(name);
    if (known !== undefined) return known;
    const own = h.get(name) ?? 0;
    const above = (callers.get(name) ?? []).filter((c) => !seen.has(c));
    seen.add(name);
    const l =
      above.length === 0 ? own : Math.max(own, Math.min(...above.map((c) => place(c, seen) - 1)));
    level.set(name, l);
    return l;
  };
  for (const name of nodes.keys()) place(name, new Set());
  return level;
}

function boxHeight(n: GraphNode): number {
  return 28 + LINE * (1 + n.lanes.length) + (n.sharedWith.length > 0 ? LINE : 0);
}

export function ModuleGraph({ nodes, entry }: { nodes: GraphNode[]; entry: string }) {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const level = layers(byName);
  const top = Math.max(0, ...level.values());
  const rows: GraphNode[][] = Array.from({ length: top + 1 }, () => []);
  for (const n of nodes) rows[top - (level.get(n.name) ?? 0)]!.push(n);
  for (const row of rows) row.sort((a, b) => a.name.localeCompare(b.name));
  const rowHeight = rows.map((r) => Math.max(40, ...r.map(boxHeight)));
  const widest = Math.max(1, ...rows.map((r) => r.length));
  const width = widest * W + (widest - 1) * GAP_X + 20;
  const pos = new Map<string, { x: number; y: number; h: number }>();
  let y = 10;
  rows.forEach((row, i) => {
    const rowWidth = row.length * W + (row.length - 1) * GAP_X;
    row.forEach((n, j) => {
      pos.set(n.name, { x: (width - rowWidth) / 2 + j * (W + GAP_X), y, h: boxHeight(n) });
    });
    y += rowHeight[i]! + GAP_Y;
  });
  const height = y - GAP_Y + 10;
  return (
    <svg
      className="graph"
      viewBox={`0 0 ${width} ${height}`}
      width={width}
      role="img"
      aria-label={`module graph: ${nodes.map((n) => n.name).join(', ')}`}
    >
      <defs>
        <marker
          id="arrow"
          viewBox="0 0 10 10"
          refX="9"
          refY="5"
          markerWidth="7"
          markerHeight="7"
          orient="auto"
        >
          <path d="M0,0 L10,5 L0,10 z" className="edge-head" />
        </marker>
      </defs>
      {nodes.flatMap((n) =>
        n.calls
          .filter((c) => pos.has(c))
          .map((c, i, all) => {
            const a = pos.get(n.name)!;
            const b = pos.get(c)!;
            // Edges leave the caller spread along its bottom, so two never overlap.
            const x1 = a.x + (W * (i + 1)) / (all.length + 1);
            const x2 = b.x + W / 2;
            const y1 = a.y + a.h;
            const y2 = b.y - 2;
            const mid = (y1 + y2) / 2;
            return (
              <path
                key={`${n.name}->${c}`}
                className="edge"
                d={`M${x1},${y1} C${x1},${mid} ${x2},${mid} ${x2},${y2}`}
                markerEnd="url(#arrow)"
              />
            );
          }),
      )}
      {nodes.map((n) => {
        const p = pos.get(n.name)!;
        return (
          <g key={n.name} transform={`translate(${p.x},${p.y})`} data-module={n.name}>
            <rect
              width={W}
              height={p.h}
              rx="8"
              className={`node${n.sharedWith.length > 0 ? ' shared' : ''}${n.name === entry ? ' entry' : ''}`}
            />
            <text x="10" y="20" className="node-name">
              {n.name}
              {n.name === entry ? '  (entry)' : ''}
            </text>
            <text x="10" y={20 + LINE} className="node-version">
              stable {n.stable ?? '—'}
            </text>
            {n.lanes.map((l, i) => (
              <text key={l.lane} x="10" y={20 + LINE * (2 + i)} className="node-lane">
                {l.lane} {l.version}
              </text>
            ))}
            {n.sharedWith.length > 0 && (
              <text x="10" y={20 + LINE * (2 + n.lanes.length)} className="node-shared">
                shared with {n.sharedWith.join(', ')}
              </text>
            )}
          </g>
        );
      })}
    </svg>
  );
}
