// Delegation explanation (reference §9, after Linkerd's DelegateTree): why a path binds the way it
// does — every step, the dentry or namer that produced it, every alternative (not just the one
// taken), and which alternative binding chose. For humans and the route explainer; the verdict
// it reports is the one `bind` gives, so the two cannot disagree.

import type { TurnoutError } from '../errors.js';
import type { BindOptions, BindResult } from './bind.js';
import {
  bind,
  costError,
  DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_LOOKUPS,
  depthError,
  MAX_BIND_NESTING,
  nestingError,
  treeWork,
  WORK_PER_LOOKUP,
  workError,
} from './bind.js';
import type { Dentry, Dtab } from './dtab.js';
import { prefixMatches, rewrite, showDentry } from './dtab.js';
import type { Name, Namer, NamerResult } from './namers.js';
import { globalLookup } from './namers.js';
import type { Path } from './path.js';
import { pathStartsWith, showPath } from './path.js';
import type { NameTree } from './tree.js';
import { isBound } from './tree.js';

/** How a node ended: what binding this subtree alone yields. */
export type Outcome = 'bound' | 'empty' | 'neg' | 'fail' | 'error' | 'pending';

interface NodeBase {
  /** The path being delegated at this node. */
  readonly path: string;
  /** The dentry (shown) or namer (`namer:<label>`) that produced this node; null at the root. */
  readonly via: string | null;
  readonly outcome: Outcome;
}

export type Explanation =
  | (NodeBase & { readonly type: 'delegate'; readonly child: Explanation })
  | (NodeBase & {
      readonly type: 'alt';
      readonly children: readonly Explanation[];
      readonly chosen: number | null;
    })
  | (NodeBase & {
      readonly type: 'union';
      readonly branches: readonly { readonly weight: number; readonly child: Explanation }[];
    })
  | (NodeBase & {
      readonly type: 'leaf';
      readonly bound: {
        readonly id: string;
        readonly addrs: readonly string[];
        readonly residual: string;
      };
    })
  | (NodeBase & { readonly type: 'neg' | 'fail' | 'empty' | 'pending' })
  | (NodeBase & { readonly type: 'error'; readonly code: string; readonly message: string });

export interface ExplainResult {
  readonly tree: Explanation;
  readonly result: BindResult;
}

interface Explainer {
  readonly dtab: Dtab;
  readonly namers: readonly Namer[];
  readonly maxDepth: number;
  readonly maxLookups: number;
  lookups: number;
  /** Work spent and allowed, counted as `bind` counts it, so explaining is bounded as binding is. */
  work: number;
  readonly maxWork: number;
  /** Nodes open on the current branch; bounds recursion as in `bind`. */
  nesting: number;
  /** Set once a limit is hit: from then on nothing more is explored. */
  spent: TurnoutError | null;
}

export function explain(dtab: Dtab, path: Path, options: BindOptions = {}): ExplainResult {
  const ex: Explainer = {
    dtab,
    namers: options.namers ?? [],
    maxDepth: options.maxDepth ?? DEFAULT_MAX_DEPTH,
    maxLookups: options.maxLookups ?? DEFAULT_MAX_LOOKUPS,
    lookups: 0,
    work: 0,
    maxWork: (options.maxLookups ?? DEFAULT_MAX_LOOKUPS) * WORK_PER_LOOKUP,
    nesting: 0,
    spent: null,
  };
  return { tree: explainPath(ex, path, null, 0), result: bind(dtab, path, options) };
}

function errorNode(path: string, via: string | null, error: TurnoutError): Explanation {
  return { type: 'error', path, via, outcome: 'error', code: error.code, message: error.message };
}

function matchesOf(dtab: Dtab, path: Path): { dentry: Dentry; tree: NameTree<Path> }[] {
  const out: { dentry: Dentry; tree: NameTree<Path> }[] = [];
  for (let i = dtab.length - 1; i >= 0; i--) {
    const dentry = dtab[i]!;
    if (!prefixMatches(dentry.prefix, path)) continue;
    out.push({ dentry, tree: rewrite(dentry, path) });
  }
  return out;
}

/** One lookup step on `path`, explained: dentries first, namers only when the dtab says exactly `~`. */
function explainPath(ex: Explainer, path: Path, via: string | null, depth: number): Explanation {
  const shown = showPath(path);
  if (depth > ex.maxDepth) return errorNode(shown, via, depthError(ex.maxDepth));
  if (ex.spent !== null) return errorNode(shown, via, ex.spent);
  if (++ex.lookups > ex.maxLookups) return spend(ex, shown, via, workError(ex.maxLookups));
  if (ex.nesting >= MAX_BIND_NESTING) return spend(ex, shown, via, nestingError(MAX_BIND_NESTING));
  const matches = matchesOf(ex.dtab, path);
  ex.work += ex.dtab.length;
  for (const m of matches) ex.work += treeWork(m.tree);
  if (ex.work > ex.maxWork) return spend(ex, shown, via, costError(ex.maxWork));
  ex.nesting++;
  try {
    return explainMatches(ex, path, shown, via, depth, matches);
  } finally {
    ex.nesting--;
  }
}

function explainMatches(
  ex: Explainer,
  path: Path,
  shown: string,
  via: string | null,
  depth: number,
  matches: { dentry: Dentry; tree: NameTree<Path> }[],
): Explanation {
  const onlyNeg = matches.length === 1 && matches[0]!.tree.kind === 'neg';
  if (matches.length === 0 || onlyNeg) return explainNamers(ex, path, via, depth);
  if (matches.length === 1) {
    const m = matches[0]!;
    const child = explainTree(ex, m.tree, shown, showDentry(m.dentry), depth + 1);
    return { type: 'delegate', path: shown, via, outcome: child.outcome, child };
  }
  const children = explainEach(ex, shown, matches, (m) =>
    explainTree(ex, m.tree, shown, showDentry(m.dentry), depth + 1),
  );
  return altNode(shown, via, children);
}

/** Records that a limit was hit: this node says so, and exploration stops everywhere. */
function spend(ex: Explainer, path: string, via: string | null, error: TurnoutError): Explanation {
  ex.spent = error;
  return errorNode(path, via, error);
}

/** Explains items in order until a limit is hit; the rest are summarised in one node. */
function explainEach<T>(
  ex: Explainer,
  path: string,
  items: readonly T[],
  one: (item: T) => Explanation,
): Explanation[] {
  const out: Explanation[] = [];
  for (const item of items) {
    if (ex.spent !== null) {
      const left = items.length - out.length;
      out.push({
        type: 'error',
        path,
        via: null,
        outcome: 'error',
        code: ex.spent.code,
        message: `${left} more not explained: ${ex.spent.message}`,
      });
      break;
    }
    out.push(one(item));
  }
  return out;
}

function explainNamers(ex: Explainer, path: Path, via: string | null, depth: number): Explanation {
  const shown = showPath(path);
  let result: NamerResult = globalLookup(path);
  let label = path[0] === '$' ? 'namer:global' : null;
  for (const namer of ex.namers) {
    if (!pathStartsWith(path, namer.prefix)) continue;
    const r = namer.lookup(path.slice(namer.prefix.length));
    if (r.state !== 'ok' || r.tree.kind !== 'neg') {
      result = r;
      label = `namer:${namer.label}`;
      break;
    }
  }
  if (result.state === 'failed') return errorNode(shown, via, result.error);
  if (result.state === 'pending') return { type: 'pending', path: shown, via, outcome: 'pending' };
  if (result.tree.kind === 'neg') return { type: 'neg', path: shown, via, outcome: 'neg' };
  const child = explainTree(ex, result.tree, shown, label, depth + 1);
  return { type: 'delegate', path: shown, via, outcome: child.outcome, child };
}

function altNode(path: string, via: string | null, children: Explanation[]): Explanation {
  const chosen = children.findIndex((c) => c.outcome !== 'neg');
  const outcome = chosen === -1 ? 'neg' : children[chosen]!.outcome;
  return { type: 'alt', path, via, outcome, children, chosen: chosen === -1 ? null : chosen };
}

function unionOutcome(outcomes: Outcome[]): Outcome {
  if (outcomes.some((o) => o === 'bound')) return 'bound';
  if (outcomes.some((o) => o === 'empty')) return 'empty';
  if (outcomes.some((o) => o === 'error')) return 'error';
  return outcomes.some((o) => o === 'pending') ? 'pending' : 'neg';
}

/** Explains a destination tree reached from `path` through `via`. */
function explainTree(
  ex: Explainer,
  tree: NameTree<Name>,
  path: string,
  via: string | null,
  depth: number,
): Explanation {
  if (depth > ex.maxDepth) return errorNode(path, via, depthError(ex.maxDepth));
  switch (tree.kind) {
    case 'leaf': {
      const v = tree.value;
      if (!isBound(v)) return explainPath(ex, v, via, depth);
      const bound = { id: showPath(v.id), addrs: v.addrs, residual: showPath(v.residual) };
      return { type: 'leaf', path: bound.id, via, outcome: 'bound', bound };
    }
    case 'neg':
    case 'fail':
    case 'empty':
      return { type: tree.kind, path, via, outcome: tree.kind };
    case 'alt':
      return altNode(
        path,
        via,
        explainEach(ex, path, tree.trees, (t) => explainTree(ex, t, path, via, depth)),
      );
    case 'union': {
      const branches = tree.branches.map((b) => ({
        weight: b.weight,
        child: explainTree(ex, b.tree, path, via, depth),
      }));
      return {
        type: 'union',
        path,
        via,
        outcome: unionOutcome(branches.map((b) => b.child.outcome)),
        branches,
      };
    }
  }
}
