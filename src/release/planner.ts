// Deploy order: a ticket's modules in dependency levels, bottom-up. A module is deployed after
// every ticket module it calls, directly or through modules the ticket does not change, so a new
// caller never goes live before the new callee it may depend on is ready.

export type Graph = ReadonlyMap<string, readonly string[]>;

/** Ticket modules reachable from `from` through the call graph (not counting `from`). */
function ticketCallees(from: string, graph: Graph, inTicket: ReadonlySet<string>): Set<string> {
  const seen = new Set<string>([from]);
  const found = new Set<string>();
  const stack = [...(graph.get(from) ?? [])];
  while (stack.length > 0) {
    const m = stack.pop() as string;
    if (seen.has(m)) continue;
    seen.add(m);
    if (inTicket.has(m)) found.add(m);
    stack.push(...(graph.get(m) ?? []));
  }
  return found;
}

/**
 * Levels of `modules`: level 0 calls no other ticket module; level k calls only levels below k.
 * Each level is sorted by name, so the plan is the same on every run. Throws on a cycle (the
 * store refuses cycles, so that is a bug elsewhere).
 */
export function deployLevels(modules: readonly string[], graph: Graph): string[][] {
  const inTicket = new Set(modules);
  const callees = new Map([...inTicket].map((m) => [m, ticketCallees(m, graph, inTicket)]));
  const level = new Map<string, number>();
  const visiting = new Set<string>();
  const levelOf = (m: string): number => {
    const known = level.get(m);
    if (known !== undefined) return known;
    if (visiting.has(m)) throw new Error(`dependency cycle through ${m}`);
    visiting.add(m);
    let l = 0;
    for (const c of callees.get(m) ?? []) if (c !== m) l = Math.max(l, levelOf(c) + 1);
    visiting.delete(m);
    level.set(m, l);
    return l;
  };
  const levels: string[][] = [];
  for (const m of [...inTicket].sort()) {
    const l = levelOf(m);
    const list = levels[l] ?? [];
    list.push(m);
    levels[l] = list;
  }
  return levels.filter((l) => l !== undefined).map((l) => l.sort());
}
