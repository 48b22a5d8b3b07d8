// Binding (reference §6): recursive delegation of a path through a dtab and namers down to bound
// names, with Finagle's Alt fall-through on `~`, `!` stopping, unions binding every branch, and
// its depth limit — plus a work bound Finagle lacks, so adversarial dtabs cannot amplify work.

import { TurnoutError } from '../errors.js';
import type { Dtab } from './dtab.js';
import { lookup as dtabLookup } from './dtab.js';
import type { Name, Namer, NamerResult } from './namers.js';
import { globalLookup } from './namers.js';
import type { Path } from './path.js';
import { pathStartsWith } from './path.js';
import type { Bound, NameTree, Weighted } from './tree.js';
import { evaluate, isBound, NEG, showNameTree } from './tree.js';

export const DEFAULT_MAX_DEPTH = 100;
/** Total lookups one bind may make, over all branches (Turnout's bound; Finagle has none). */
export const DEFAULT_MAX_LOOKUPS = 10_000;
/**
 * Work one bind may spend per lookup allowed, on average. A lookup's work is the dentries it
 * scans plus the name tree it yields (a node each, and a leaf's path elements): large dtabs, wide
 * destinations and long paths then cannot multiply the lookup bound into unbounded time.
 */
export const WORK_PER_LOOKUP = 100;
/**
 * Tree nodes one bind may have open at once, counted along the current branch: lookups chained
 * (at most `maxDepth`) times the nesting of each step's tree. Bounds the recursion, so deep
 * alternations repeated down a chain fail as `binding_work` instead of overflowing the stack,
 * and so no bound tree is too deep to show or evaluate.
 */
export const MAX_BIND_NESTING = 1_000;

export interface BindOptions {
  /** Lookups along one chain (Finagle's `namerMaxDepth`); default 100. */
  readonly maxDepth?: number;
  /**
   * Lookups over the whole binding; default 10,000. The binding also fails once its lookups have
   * done more than `WORK_PER_LOOKUP` times this much work (dentries scanned, tree nodes and path
   * elements yielded).
   */
  readonly maxLookups?: number;
  /** Consulted in order when no dentry matched, before the global `/$/` namers. */
  readonly namers?: readonly Namer[];
}

export type BindResult =
  | { readonly state: 'ok'; readonly tree: NameTree<Bound> }
  | { readonly state: 'failed'; readonly error: TurnoutError }
  | { readonly state: 'pending' };

const PENDING: BindResult = Object.freeze({ state: 'pending' });

interface Binder {
  readonly dtab: Dtab;
  readonly namers: readonly Namer[];
  readonly maxDepth: number;
  readonly maxLookups: number;
  lookups: number;
  readonly maxWork: number;
  work: number;
  /** Tree nodes open on the current branch (see MAX_BIND_NESTING). */
  nesting: number;
}

/**
 * What a path means one step on: the dtab's answer, or — only when that is exactly `~` — the
 * first namer whose prefix matches and that does not answer `~`, then the global namers.
 */
export function lookupName(dtab: Dtab, namers: readonly Namer[], path: Path): NamerResult {
  const fromDtab = dtabLookup(dtab, path);
  if (fromDtab.kind !== 'neg') return { state: 'ok', tree: fromDtab };
  for (const namer of namers) {
    if (!pathStartsWith(path, namer.prefix)) continue;
    const r = namer.lookup(path.slice(namer.prefix.length));
    if (r.state !== 'ok' || r.tree.kind !== 'neg') return r;
  }
  return globalLookup(path);
}

export function bind(dtab: Dtab, path: Path, options: BindOptions = {}): BindResult {
  const maxLookups = options.maxLookups ?? DEFAULT_MAX_LOOKUPS;
  const binder: Binder = {
    dtab,
    namers: options.namers ?? [],
    maxDepth: options.maxDepth ?? DEFAULT_MAX_DEPTH,
    maxLookups,
    lookups: 0,
    maxWork: maxLookups * WORK_PER_LOOKUP,
    work: 0,
    nesting: 0,
  };
  return bindTree(binder, { kind: 'leaf', value: path }, 0, undefined);
}

export function depthError(maxDepth: number): TurnoutError {
  return new TurnoutError(
    'binding_depth',
    `Max recursion level: ${maxDepth} reached in Namer lookup`,
  );
}

export function workError(maxLookups: number): TurnoutError {
  return new TurnoutError(
    'binding_work',
    `Binding work limit reached: more than ${maxLookups} lookups`,
  );
}

export function costError(maxWork: number): TurnoutError {
  return new TurnoutError(
    'binding_work',
    `Binding work limit reached: lookups scanned and yielded more than ${maxWork} dentries, tree nodes and path elements`,
  );
}

export function nestingError(maxNesting: number): TurnoutError {
  return new TurnoutError(
    'binding_work',
    `Binding work limit reached: name trees nested more than ${maxNesting} levels deep`,
  );
}

function bindTree(
  b: Binder,
  tree: NameTree<Name>,
  depth: number,
  weight: number | undefined,
): BindResult {
  if (depth > b.maxDepth) return { state: 'failed', error: depthError(b.maxDepth) };
  if (b.nesting >= MAX_BIND_NESTING) {
    return { state: 'failed', error: nestingError(MAX_BIND_NESTING) };
  }
  // Inline rather than a helper: one stack frame less per level of recursion.
  b.nesting++;
  let result: BindResult;
  switch (tree.kind) {
    case 'leaf':
      result = bindLeaf(b, tree.value, depth, weight);
      break;
    case 'fail':
    case 'neg':
    case 'empty':
      result = { state: 'ok', tree };
      break;
    case 'union': {
      const only = tree.branches.length === 1 ? tree.branches[0]! : undefined;
      if (tree.branches.length === 0) result = { state: 'ok', tree: NEG };
      else if (only !== undefined) result = bindTree(b, only.tree, depth, only.weight);
      else result = bindUnion(b, tree.branches, depth);
      break;
    }
    case 'alt':
      result = bindAlt(b, tree.trees, depth, weight);
      break;
  }
  b.nesting--;
  return result;
}

function bindLeaf(b: Binder, name: Name, depth: number, weight: number | undefined): BindResult {
  if (isBound(name)) {
    return {
      state: 'ok',
      tree: { kind: 'leaf', value: weight === undefined ? name : { ...name, weight } },
    };
  }
  if (++b.lookups > b.maxLookups) return { state: 'failed', error: workError(b.maxLookups) };
  const next = lookupName(b.dtab, b.namers, name);
  if (next.state !== 'ok') return next;
  b.work += b.dtab.length + treeWork(next.tree);
  if (b.work > b.maxWork) return { state: 'failed', error: costError(b.maxWork) };
  return bindTree(b, next.tree, depth + 1, weight);
}

/** What a looked-up tree costs to build and bind: a unit per node and per path element. */
export function treeWork(tree: NameTree<Name>): number {
  switch (tree.kind) {
    case 'leaf':
      return 1 + (isBound(tree.value) ? 0 : tree.value.length);
    case 'alt':
      return tree.trees.reduce((sum, t) => sum + treeWork(t), 1);
    case 'union':
      return tree.branches.reduce((sum, w) => sum + treeWork(w.tree), 1);
    default:
      return 1;
  }
}

function bindUnion(b: Binder, branches: readonly Weighted<Name>[], depth: number): BindResult {
  const bound: Weighted<Bound>[] = [];
  let firstFailure: BindResult | null = null;
  for (const branch of branches) {
    const r = bindTree(b, branch.tree, depth, branch.weight);
    if (r.state === 'ok') bound.push({ weight: branch.weight, tree: r.tree });
    else if (r.state === 'failed') {
      firstFailure ??= r;
      // A work-limit failure is global: stop binding the remaining branches at once.
      if (r.error.code === 'binding_work') return r;
    }
  }
  if (bound.length > 0) return { state: 'ok', tree: simplifyBoundUnion(bound) };
  return firstFailure ?? PENDING;
}

/**
 * `simplify(Union(bound))` for branches that are already simplified, as every bind result is:
 * one level suffices, where a full simplify would re-walk every subtree at every level (quadratic
 * in a deep bound tree). A single branch is returned as is, even `!` (Finagle's `Union(w*t)` rule).
 */
function simplifyBoundUnion(bound: Weighted<Bound>[]): NameTree<Bound> {
  if (bound.length === 1) return bound[0]!.tree;
  const kept = bound.filter((w) => w.tree.kind !== 'fail' && w.tree.kind !== 'neg');
  if (kept.length === 0) return NEG;
  return kept.length === 1 ? kept[0]!.tree : { kind: 'union', branches: kept };
}

function bindAlt(
  b: Binder,
  trees: readonly NameTree<Name>[],
  depth: number,
  weight: number | undefined,
): BindResult {
  for (const t of trees) {
    const r = bindTree(b, t, depth, weight);
    if (r.state !== 'ok' || r.tree.kind !== 'neg') return r;
  }
  return { state: 'ok', tree: NEG };
}

/** A bind result as JSON (the CLI's --json and the API's explain answer): state, tree, addresses. */
export function bindResultJson(result: BindResult): Record<string, unknown> {
  if (result.state === 'failed') return { state: 'failed', error: result.error.toJSON() };
  if (result.state === 'pending') return { state: 'pending' };
  return { state: 'ok', tree: showNameTree(result.tree), addresses: evaluate(result.tree) };
}
