// The module dependency graph, pure: callees must exist, no cycles (named when found), and the
// modules a product uses (its entry and everything reachable from it).

import { TurnoutError } from '../errors.js';

/** Every module a module calls must exist already (modules are created callee first). */
export function checkCalls(
  module: string,
  calls: readonly string[],
  exists: (name: string) => boolean,
): void {
  const seen = new Set<string>();
  calls.forEach((callee, i) => {
    const field = `calls[${i}]`;
    if (callee === module)
      throw new TurnoutError('invalid_config', `${field}: module "${module}" calls itself`, field);
    if (seen.has(callee))
      throw new TurnoutError('invalid_config', `${field}: "${callee}" is listed twice`, field);
    seen.add(callee);
    if (!exists(callee)) {
      throw new TurnoutError(
        'invalid_config',
        `${field}: module "${module}" calls unknown module "${callee}"`,
        field,
      );
    }
  });
}

/**
 * The first dependency cycle found, as a closed path (`['orders', 'account', 'orders']`), or null.
 * Iterative DFS with colours, in sorted order so the same graph always names the same cycle.
 */
export function findCycle(graph: ReadonlyMap<string, readonly string[]>): string[] | null {
  const state = new Map<string, 'active' | 'done'>();
  for (const root of [...graph.keys()].sort()) {
    if (state.has(root)) continue;
    const path: string[] = [root];
    const next: number[] = [0];
    state.set(root, 'active');
    while (path.length > 0) {
      const node = path[path.length - 1]!;
      const callees = graph.get(node) ?? [];
      const i = next[next.length - 1]!;
      if (i >= callees.length) {
        state.set(node, 'done');
        path.pop();
        next.pop();
        continue;
      }
      next[next.length - 1] = i + 1;
      const callee = callees[i]!;
      const s = state.get(callee);
      if (s === 'active') return [...path.slice(path.indexOf(callee)), callee];
      if (s === undefined && graph.has(callee)) {
        state.set(callee, 'active');
        path.push(callee);
        next.push(0);
      }
    }
  }
  return null;
}

/**
 * Throws naming the cycle if the graph has one. `changed` (the module being written) starts the
 * path when it is on the cycle, since that is the edit the operator has to reconsider.
 */
export function checkNoCycle(
  graph: ReadonlyMap<string, readonly string[]>,
  changed?: string,
): void {
  const cycle = findCycle(graph);
  if (cycle === null) return;
  const loop = cycle.slice(0, -1);
  const at = changed === undefined ? -1 : loop.indexOf(changed);
  const named = at <= 0 ? cycle : [...loop.slice(at), ...loop.slice(0, at), changed as string];
  throw new TurnoutError('invalid_config', `calls: dependency cycle ${named.join(' → ')}`, 'calls');
}

/** Modules a product uses: its entry module and everything reachable through calls. */
export function reachableModules(
  entry: string,
  graph: ReadonlyMap<string, readonly string[]>,
): Set<string> {
  const seen = new Set<string>([entry]);
  const todo = [entry];
  for (let node = todo.pop(); node !== undefined; node = todo.pop()) {
    for (const callee of graph.get(node) ?? []) {
      if (!seen.has(callee)) {
        seen.add(callee);
        todo.push(callee);
      }
    }
  }
  return seen;
}
