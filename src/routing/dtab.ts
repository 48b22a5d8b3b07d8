// Dentries and dtabs (reference §2–3, §5): prefix matching, show, concat, stripPrefix and the
// one-step `lookup` that turns a path into the name tree of everything the dtab says about it.

import type { Path } from './path.js';
import { concatPaths, showElem } from './path.js';
import type { NameTree } from './tree.js';
import { mapTree, NEG, showNameTree, simplify, treesEqual } from './tree.js';

/**
 * A prefix is a path whose elements may be the wildcard `*`. The wildcard is held as the empty
 * string, which can never be a label (labels are non-empty), so matching is one comparison.
 */
export type Prefix = readonly string[];
export const WILDCARD = '';

export interface Dentry {
  readonly prefix: Prefix;
  readonly dst: NameTree<Path>;
}

/** A dtab: dentries in order; later ones take precedence (reference §5). */
export type Dtab = readonly Dentry[];

export const EMPTY_DTAB: Dtab = Object.freeze([]);

export function prefixMatches(prefix: Prefix, path: Path): boolean {
  if (prefix.length > path.length) return false;
  for (let i = 0; i < prefix.length; i++) {
    const p = prefix[i];
    if (p !== WILDCARD && p !== path[i]) return false;
  }
  return true;
}

export function showPrefix(prefix: Prefix): string {
  if (prefix.length === 0) return '/';
  let out = '';
  for (const e of prefix) out += e === WILDCARD ? '/*' : `/${showElem(e)}`;
  return out;
}

export function showDentry(dentry: Dentry): string {
  return `${showPrefix(dentry.prefix)}=>${showNameTree(dentry.dst)}`;
}

export function showDtab(dtab: Dtab): string {
  return dtab.map(showDentry).join(';');
}

/** `a ++ b`: b's entries come after a's, so they take precedence. */
export function concatDtabs(a: Dtab, b: Dtab): Dtab {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  return a.concat(b);
}

export function dentriesEqual(a: Dentry, b: Dentry): boolean {
  return (
    a.prefix.length === b.prefix.length &&
    a.prefix.every((e, i) => e === b.prefix[i]) &&
    treesEqual(a.dst, b.dst)
  );
}

/** If `dtab` starts with exactly the entries of `prefix`, the rest; otherwise `dtab` unchanged. */
export function stripPrefix(dtab: Dtab, prefix: Dtab): Dtab {
  if (prefix.length === 0 || prefix.length > dtab.length) return dtab;
  for (let i = 0; i < prefix.length; i++) {
    if (!dentriesEqual(dtab[i]!, prefix[i]!)) return dtab;
  }
  return dtab.slice(prefix.length);
}

/** Simplifies every destination and drops entries whose destination simplifies to `~`. */
export function simplifyDtab(dtab: Dtab): Dtab {
  const out: Dentry[] = [];
  for (const d of dtab) {
    const dst = simplify(d.dst);
    if (dst.kind !== 'neg') out.push({ prefix: d.prefix, dst });
  }
  return out;
}

/**
 * What one matching dentry makes of `path`: its destination with the residual (the path after
 * the prefix; wildcard positions are consumed, never captured) appended to every leaf.
 */
export function rewrite(dentry: Dentry, path: Path): NameTree<Path> {
  if (path.length === dentry.prefix.length) return dentry.dst;
  const residual = path.slice(dentry.prefix.length);
  return mapTree(dentry.dst, (p) => concatPaths(p, residual));
}

/**
 * One step of delegation: every dentry whose prefix matches, last first, each with the residual
 * (the path after the prefix; wildcard positions are consumed, never captured) appended to every
 * leaf. No match → `~`; one → that tree as is; several → an alternation, latest rule first.
 */
export function lookup(dtab: Dtab, path: Path): NameTree<Path> {
  let first: NameTree<Path> | null = null;
  let rest: NameTree<Path>[] | null = null;
  for (let i = dtab.length - 1; i >= 0; i--) {
    const dentry = dtab[i]!;
    if (!prefixMatches(dentry.prefix, path)) continue;
    const tree = rewrite(dentry, path);
    if (first === null) first = tree;
    else if (rest === null) rest = [first, tree];
    else rest.push(tree);
  }
  if (rest !== null) return { kind: 'alt', trees: rest };
  return first ?? NEG;
}
