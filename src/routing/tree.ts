// Name trees (reference §4): the ADT, Finagle's exact show algorithm, simplify and evaluate.
// Values are plain frozen-by-convention objects; no classes with hidden state.

import type { Path } from './path.js';
import { showPath } from './path.js';
import { formatWeight } from './weight.js';

export interface Weighted<T> {
  readonly weight: number;
  readonly tree: NameTree<T>;
}

export type NameTree<T> =
  | { readonly kind: 'leaf'; readonly value: T }
  | { readonly kind: 'alt'; readonly trees: readonly NameTree<T>[] }
  | { readonly kind: 'union'; readonly branches: readonly Weighted<T>[] }
  | { readonly kind: 'neg' }
  | { readonly kind: 'fail' }
  | { readonly kind: 'empty' };

export const DEFAULT_WEIGHT = 1.0;
export const NEG: NameTree<never> = Object.freeze({ kind: 'neg' });
export const FAIL: NameTree<never> = Object.freeze({ kind: 'fail' });
export const EMPTY: NameTree<never> = Object.freeze({ kind: 'empty' });

export function leaf<T>(value: T): NameTree<T> {
  return { kind: 'leaf', value };
}
export function alt<T>(...trees: NameTree<T>[]): NameTree<T> {
  return { kind: 'alt', trees };
}
export function union<T>(...branches: Weighted<T>[]): NameTree<T> {
  return { kind: 'union', branches };
}
export function weighted<T>(weight: number, tree: NameTree<T>): Weighted<T> {
  return { weight, tree };
}

/** A leaf bound to addresses by a namer (Finagle `Name.Bound`). Shows as its id path. */
export interface Bound {
  readonly kind: 'bound';
  /** The name that identifies the bound destination, e.g. `/$/inet/127.0.0.1/8080`, `/v/orders/2.3.0`. */
  readonly id: Path;
  /** `host:port` addresses (`:port` for a host-less `/$/inet/<port>`). */
  readonly addrs: readonly string[];
  /** What was left of the path after the namer's id (Finagle's `path` of a bound name). */
  readonly residual: Path;
  /** Weight of the nearest enclosing union, as Finagle's `namer_nametree_weight` metadata. */
  readonly weight?: number;
}

export function isBound(value: unknown): value is Bound {
  return typeof value === 'object' && value !== null && (value as Bound).kind === 'bound';
}

/** Shows a leaf value: a path, or a bound name as its id path. */
export function showLeafValue(value: unknown): string {
  if (isBound(value)) return showPath(value.id);
  if (Array.isArray(value)) return showPath(value as Path);
  return String(value);
}

// --- show (an exact port of NameTree.show / show1 / showSimple) -------------------------------

export function showNameTree<T>(
  tree: NameTree<T>,
  showLeaf: (v: T) => string = showLeafValue,
): string {
  return show(tree, showLeaf);
}

function show<T>(tree: NameTree<T>, showLeaf: (v: T) => string): string {
  if (tree.kind === 'union' && tree.branches.length === 1)
    return show(tree.branches[0]!.tree, showLeaf);
  if (tree.kind === 'alt' && tree.trees.length === 1) return show(tree.trees[0]!, showLeaf);
  if (tree.kind === 'alt') return tree.trees.map((t) => show1(t, showLeaf)).join(' | ');
  return show1(tree, showLeaf);
}

function show1<T>(tree: NameTree<T>, showLeaf: (v: T) => string): string {
  if (tree.kind === 'union' && tree.branches.length === 1)
    return show1(tree.branches[0]!.tree, showLeaf);
  if (tree.kind === 'alt' && tree.trees.length === 1) return show1(tree.trees[0]!, showLeaf);
  if (tree.kind === 'union') {
    return tree.branches
      .map(
        (b) =>
          (b.weight === DEFAULT_WEIGHT ? '' : `${formatWeight(b.weight)}*`) +
          showSimple(b.tree, showLeaf),
      )
      .join(' & ');
  }
  if (tree.kind === 'alt') return `(${show(tree, showLeaf)})`;
  return showSimple(tree, showLeaf);
}

function showSimple<T>(tree: NameTree<T>, showLeaf: (v: T) => string): string {
  switch (tree.kind) {
    case 'union':
      return tree.branches.length === 1
        ? showSimple(tree.branches[0]!.tree, showLeaf)
        : `(${show(tree, showLeaf)})`;
    case 'alt':
      return tree.trees.length === 1
        ? showSimple(tree.trees[0]!, showLeaf)
        : `(${show(tree, showLeaf)})`;
    case 'leaf':
      return showLeaf(tree.value);
    case 'fail':
      return '!';
    case 'neg':
      return '~';
    case 'empty':
      return '$';
  }
}

// --- simplify (reference §4.4) ----------------------------------------------------------------

export function simplify<T>(tree: NameTree<T>): NameTree<T> {
  switch (tree.kind) {
    case 'alt':
      return simplifyAlt(tree.trees);
    case 'union':
      return simplifyUnion(tree.branches);
    default:
      return tree;
  }
}

function simplifyAlt<T>(trees: readonly NameTree<T>[]): NameTree<T> {
  if (trees.length === 0) return NEG;
  if (trees.length === 1) return simplify(trees[0]!);
  const kept: NameTree<T>[] = [];
  for (const t of trees) {
    const s = simplify(t);
    if (s.kind === 'fail') {
      kept.push(s); // Fail ends the alternation: later children are unreachable.
      break;
    }
    if (s.kind !== 'neg') kept.push(s);
  }
  if (kept.length === 0) return NEG;
  return kept.length === 1 ? kept[0]! : { kind: 'alt', trees: kept };
}

function simplifyUnion<T>(branches: readonly Weighted<T>[]): NameTree<T> {
  if (branches.length === 0) return NEG;
  if (branches.length === 1) return simplify(branches[0]!.tree);
  const kept: Weighted<T>[] = [];
  for (const b of branches) {
    const s = simplify(b.tree);
    if (s.kind !== 'fail' && s.kind !== 'neg') kept.push({ weight: b.weight, tree: s });
  }
  if (kept.length === 0) return NEG;
  return kept.length === 1 ? kept[0]!.tree : { kind: 'union', branches: kept };
}

// --- evaluate (reference §4.5) ----------------------------------------------------------------

type Evaluated<T> = 'fail' | 'neg' | T[];

/**
 * Evaluates a tree to the set of its leaf values, or null (Finagle's `None`) when it is negative
 * or failed. On a bound tree the values are the bound names' addresses (`host:port` strings).
 * The result has set semantics: duplicates (paths compared by their show form) appear once.
 */
export function evaluate(tree: NameTree<Bound>): string[] | null;
export function evaluate<T>(tree: NameTree<T>): T[] | null;
export function evaluate<T>(tree: NameTree<T>): unknown[] | null {
  const result = evalTree(tree);
  if (result === 'fail' || result === 'neg') return null;
  return dedupe(result.flatMap((v): unknown[] => (isBound(v) ? [...v.addrs] : [v])));
}

function evalTree<T>(tree: NameTree<T>): Evaluated<T> {
  switch (tree.kind) {
    case 'fail':
    case 'neg':
      return tree.kind;
    case 'empty':
      return [];
    case 'leaf':
      return [tree.value];
    case 'union':
      return evalUnion(tree.branches);
    case 'alt':
      return evalAlt(tree.trees);
  }
}

function evalUnion<T>(branches: readonly Weighted<T>[]): Evaluated<T> {
  if (branches.length === 1) return evalTree(branches[0]!.tree);
  let values: T[] | null = null;
  for (const b of branches) {
    const r = evalTree(b.tree);
    if (r !== 'fail' && r !== 'neg') values = values === null ? [...r] : values.concat(r);
  }
  return values ?? 'neg';
}

function evalAlt<T>(trees: readonly NameTree<T>[]): Evaluated<T> {
  for (const t of trees) {
    const r = evalTree(t);
    if (r !== 'neg') return r;
  }
  return 'neg';
}

function dedupe(values: unknown[]): unknown[] {
  const seen = new Set<string | unknown>();
  const out: unknown[] = [];
  for (const v of values) {
    const key = Array.isArray(v) ? showPath(v as Path) : v;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(v);
    }
  }
  return out;
}

/** Applies `f` to every leaf value, keeping the shape (Finagle `NameTree.map`). */
export function mapTree<A, B>(tree: NameTree<A>, f: (a: A) => B): NameTree<B> {
  switch (tree.kind) {
    case 'leaf':
      return { kind: 'leaf', value: f(tree.value) };
    case 'alt':
      return { kind: 'alt', trees: tree.trees.map((t) => mapTree(t, f)) };
    case 'union':
      return {
        kind: 'union',
        branches: tree.branches.map((b) => ({ weight: b.weight, tree: mapTree(b.tree, f) })),
      };
    default:
      return tree;
  }
}

/** Structural equality, weights compared as numbers and paths element-wise (Finagle `==`). */
export function treesEqual<T>(a: NameTree<T>, b: NameTree<T>): boolean {
  if (a.kind !== b.kind) return false;
  switch (a.kind) {
    case 'leaf':
      return showLeafValue(a.value) === showLeafValue((b as typeof a).value);
    case 'alt': {
      const bt = (b as typeof a).trees;
      return a.trees.length === bt.length && a.trees.every((t, i) => treesEqual(t, bt[i]!));
    }
    case 'union': {
      const bb = (b as typeof a).branches;
      return (
        a.branches.length === bb.length &&
        a.branches.every((x, i) => x.weight === bb[i]!.weight && treesEqual(x.tree, bb[i]!.tree))
      );
    }
    default:
      return true;
  }
}
