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
import { isBound, NEG, simplify } from './tree.js';

export const DEFAULT_MAX_DEPTH = 100;
/** Total lookups one bind may make, over all branches (Turnout's bound; Finagle has none). */
export const DEFAULT_MAX_LOOKUPS = 10_000;

export interface BindOptions {
  /** Lookups along one chain (Finagle's `namerMaxDepth`); default 100. */
  readonly maxDepth?: number;
  /** Lookups over the whole binding; default 10,000. */
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
  const binder: Binder = {
    dtab,
    namers: options.namers ?? [],
    maxDepth: options.maxDepth ?? DEFAULT_MAX_DEPTH,
    maxLookups: options.maxLookups ?? DEFAULT_MAX_LOOKUPS,
    lookups: 0,
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

function bindTree(
  b: Binder,
  tree: NameTree<Name>,
  depth: number,
  weight: number | undefined,
): BindResult {
  if (depth > b.maxDepth) return { state: 'failed', error: depthError(b.maxDepth) };
  switch (tree.kind) {
    case 'leaf':
      return bindLeaf(b, tree.value, depth, weight);
    case 'fail':
    case 'neg':
    case 'empty':
      return { state: 'ok', tree };
    case 'union':
      if (tree.branches.length === 0) return { state: 'ok', tree: NEG };
      if (tree.branches.length === 1) {
        const only = tree.branches[0]!;
        return bindTree(b, only.tree, depth, only.weight);
      }
      return bindUnion(b, tree.branches, depth);
    case 'alt':
      return bindAlt(b, tree.trees, depth, weight);
  }
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
  return bindTree(b, next.tree, depth + 1, weight);
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
  if (bound.length > 0) return { state: 'ok', tree: simplify({ kind: 'union', branches: bound }) };
  return firstFailure ?? PENDING;
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
