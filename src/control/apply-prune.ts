// `apply --prune`, decided without I/O: which objects an earlier apply wrote (they have a
// last-applied record) that the documents no longer name, within the documents' scope (the orgs
// they belong to), and the order to delete them in: dependents first (notifiers and lanes, then
// products, versions, modules with callers before callees), the reverse of an apply's own order.
// Orgs are the scope itself and are never pruned; what no apply wrote (ticket lanes the release
// engine made, objects made through the API) has no record and is never a candidate.

import type { ApplyKind } from './apply-documents.js';
import { APPLY_KINDS } from './apply-documents.js';

/** An object with a last-applied record, as found in the store. */
export interface PruneCandidate {
  kind: ApplyKind;
  /** Its key within the kind: `orders`, `orders@2.0.0`, `shop/dev`. */
  key: string;
  /** The org it belongs to (a version by its module, a lane or notifier by its product). */
  org: string;
  /** A module's calls: callers are deleted before their callees. */
  calls?: readonly string[];
}

/**
 * The candidates to delete, in delete order: those not in `named` (ids `Kind/key`) whose org is
 * in `scope`, orgs aside.
 */
export function planPrune(
  candidates: readonly PruneCandidate[],
  named: ReadonlySet<string>,
  scope: ReadonlySet<string>,
): PruneCandidate[] {
  const chosen = candidates.filter(
    (c) => c.kind !== 'Org' && scope.has(c.org) && !named.has(`${c.kind}/${c.key}`),
  );
  const rank = new Map<ApplyKind, number>(APPLY_KINDS.map((k, i) => [k, -i]));
  const moduleRank = callersFirst(chosen.filter((c) => c.kind === 'Module'));
  const within = (c: PruneCandidate) => (c.kind === 'Module' ? (moduleRank.get(c.key) ?? 0) : 0);
  return [...chosen].sort(
    (a, b) =>
      (rank.get(a.kind) ?? 0) - (rank.get(b.kind) ?? 0) ||
      within(a) - within(b) ||
      (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
  );
}

/** Positions such that a module comes before every module it calls (among these). */
function callersFirst(modules: readonly PruneCandidate[]): Map<string, number> {
  const calls = new Map(modules.map((m) => [m.key, m.calls ?? []] as const));
  const order: string[] = [];
  const visited = new Set<string>();
  const visit = (name: string): void => {
    if (visited.has(name) || !calls.has(name)) return;
    visited.add(name);
    for (const callee of calls.get(name) ?? []) visit(callee);
    order.push(name); // callees first here; reversed below
  };
  for (const m of [...calls.keys()].sort()) visit(m);
  return new Map(order.reverse().map((name, i) => [name, i]));
}
