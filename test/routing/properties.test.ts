// Property tests for the dtab core (fast-check): show → parse round trips wherever the reference
// says they hold (and modulo its documented lossy cases), parsers that only ever throw
// DtabSyntaxError with Finagle's message shape, simplify and lookup laws, and binding that always
// terminates within its depth and work bounds on adversarial dtabs.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BindResult } from '../../src/routing/bind.js';
import {
  bind,
  DEFAULT_MAX_LOOKUPS,
  MAX_BIND_NESTING,
  WORK_PER_LOOKUP,
} from '../../src/routing/bind.js';
import type { Dentry, Dtab, Prefix } from '../../src/routing/dtab.js';
import {
  dentriesEqual,
  lookup,
  showDentry,
  showDtab,
  showPrefix,
  WILDCARD,
} from '../../src/routing/dtab.js';
import type { Name, Namer } from '../../src/routing/namers.js';
import { globalLookup } from '../../src/routing/namers.js';
import {
  parseDentry,
  parseDtab,
  parseNameTree,
  parsePath,
  parsePrefix,
} from '../../src/routing/parser.js';
import type { Path } from '../../src/routing/path.js';
import { showPath } from '../../src/routing/path.js';
import { DtabSyntaxError } from '../../src/routing/syntax-error.js';
import type { Bound, NameTree, Weighted } from '../../src/routing/tree.js';
import {
  EMPTY,
  evaluate,
  FAIL,
  isBound,
  mapTree,
  NEG,
  showNameTree,
  simplify,
  treesEqual,
} from '../../src/routing/tree.js';

const SHOWABLE = [...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_:.#$%-'];

// --- arbitraries ---------------------------------------------------------------------------------

const byteChar = fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c));
const label = fc.oneof(
  fc.string({ unit: fc.constantFrom(...SHOWABLE), minLength: 1, maxLength: 8 }),
  fc.string({ unit: byteChar, minLength: 1, maxLength: 6 }),
);
const path: fc.Arbitrary<Path> = fc.array(label, { maxLength: 5 });
const prefix: fc.Arbitrary<Prefix> = fc.array(fc.oneof(label, fc.constant(WILDCARD)), {
  maxLength: 5,
});

/** Weights exact at two decimals, so that show → parse gives them back. */
const exactWeight = fc.integer({ min: 0, max: 100_000 }).map((k) => k / 100);
/** Any non-negative weight, rounded by show. */
const anyWeight = fc.oneof(exactWeight, fc.double({ min: 0, max: 1e6, noNaN: true }));

interface TreeShape {
  readonly weight: fc.Arbitrary<number>;
  readonly minChildren: number;
  readonly leaf: fc.Arbitrary<Path>;
}

function treeArb(shape: TreeShape): fc.Arbitrary<NameTree<Path>> {
  const { tree } = fc.letrec<{ tree: NameTree<Path> }>((tie) => ({
    tree: fc.oneof(
      { maxDepth: 4, depthIdentifier: 'tree' },
      shape.leaf.map((value): NameTree<Path> => ({ kind: 'leaf', value })),
      fc.constantFrom<NameTree<Path>>(NEG, FAIL, EMPTY),
      fc
        .array(tie('tree'), { minLength: shape.minChildren, maxLength: 4 })
        .map((trees): NameTree<Path> => ({ kind: 'alt', trees })),
      fc
        .array(fc.record<Weighted<Path>>({ weight: shape.weight, tree: tie('tree') }), {
          minLength: shape.minChildren,
          maxLength: 4,
        })
        .map((branches): NameTree<Path> => ({ kind: 'union', branches })),
    ),
  }));
  return tree;
}

/** Trees `show` writes faithfully: no Alt/Union of fewer than 2 children, weights at 2 decimals. */
const exactTree = treeArb({ weight: exactWeight, minChildren: 2, leaf: path });
/** Trees with the lossy cases: single-child Alt/Union, any weight (no empty Alt/Union). */
const lossyTree = treeArb({ weight: anyWeight, minChildren: 1, leaf: path });
/** Everything, including the unshowable Alt() and Union(). */
const anyTree = treeArb({ weight: anyWeight, minChildren: 0, leaf: path });

const dentry = (dst: fc.Arbitrary<NameTree<Path>>): fc.Arbitrary<Dentry> =>
  fc.record({ prefix, dst });

/** Evaluation as a set of shown paths, or null. */
function evalSet(tree: NameTree<Path>): string[] | null {
  const r = evaluate(tree);
  return r === null ? null : [...new Set(r.map(showPath))].sort();
}

// --- round trips ----------------------------------------------------------------------------------

describe('show → parse round trips', () => {
  it('parsePath(showPath(p)) is p', () => {
    fc.assert(
      fc.property(path, (p) => {
        expect(parsePath(showPath(p))).toEqual(p);
      }),
    );
  });

  it('showPath(parsePath(s)) is a fixpoint of parse ∘ show', () => {
    fc.assert(
      fc.property(path, (p) => {
        const shown = showPath(p);
        expect(showPath(parsePath(shown))).toBe(shown);
      }),
    );
  });

  it('parsePrefix(showPrefix(p)) is p, wildcards included', () => {
    fc.assert(
      fc.property(prefix, (p) => {
        expect(parsePrefix(showPrefix(p))).toEqual(p);
      }),
    );
  });

  it('parseNameTree(showNameTree(t)) is t for trees without the lossy cases', () => {
    fc.assert(
      fc.property(exactTree, (t) => {
        const back = parseNameTree(showNameTree(t));
        expect(treesEqual(back, t), showNameTree(t)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('is stable after one hop for any tree: rounding and collapsing happen once', () => {
    fc.assert(
      fc.property(lossyTree, (t) => {
        const once = parseNameTree(showNameTree(t));
        const twice = parseNameTree(showNameTree(once));
        expect(treesEqual(twice, once), showNameTree(t)).toBe(true);
        expect(showNameTree(twice)).toBe(showNameTree(once));
      }),
      { numRuns: 500 },
    );
  });

  it('never changes what a tree evaluates to (the lossy cases concern weights and shape only)', () => {
    fc.assert(
      fc.property(lossyTree, (t) => {
        expect(evalSet(parseNameTree(showNameTree(t)))).toEqual(evalSet(t));
      }),
      { numRuns: 500 },
    );
  });

  it('parseDentry(showDentry(d)) is d', () => {
    fc.assert(
      fc.property(dentry(exactTree), (d) => {
        expect(dentriesEqual(parseDentry(showDentry(d)), d), showDentry(d)).toBe(true);
      }),
    );
  });

  it('parseDtab(showDtab(d)) is d, also with a trailing ; and comments between entries', () => {
    fc.assert(
      fc.property(fc.array(dentry(exactTree), { maxLength: 5 }), (dtab: Dtab) => {
        const shown = showDtab(dtab);
        const spaced = `${dtab.map((d) => `  ${showDentry(d)} # c\n`).join(';')}${dtab.length > 0 ? ';' : ''}`;
        for (const text of [shown, spaced]) {
          const back = parseDtab(text);
          expect(back.length).toBe(dtab.length);
          for (const [i, d] of back.entries()) expect(dentriesEqual(d, dtab[i]!), text).toBe(true);
        }
      }),
    );
  });
});

// --- parser robustness -----------------------------------------------------------------------------

const PARSERS: [string, (s: string) => unknown][] = [
  ['parsePath', parsePath],
  ['parsePrefix', parsePrefix],
  ['parseNameTree', parseNameTree],
  ['parseDentry', parseDentry],
  ['parseDtab', parseDtab],
];

const grammarChar = fc.constantFrom(
  ...'/ab$#*\\xf09.()|&!~=>;, \n\t-'.split(''),
  'é',
  '\u00a0',
  '\u2003',
  '\ud83d',
  '\uffff',
);
const garbage = fc.oneof(
  fc.string({ unit: grammarChar, maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) }),
  fc.integer({ min: 1, max: 5000 }).map((n) => `/a=>${'('.repeat(n)}/b`),
  fc.integer({ min: 1, max: 5000 }).map((n) => `${'(/a | '.repeat(n)}/b${')'.repeat(n)}`),
);

/** The display Finagle builds: the input with the offending char bracketed, or `[]` at the end. */
function display(input: string, index: number): string {
  return index >= input.length
    ? `${input}[]`
    : `${input.slice(0, index)}[${input[index]}]${input.slice(index + 1)}`;
}

describe('parsers on arbitrary input', () => {
  it.each(PARSERS)('%s returns or throws a DtabSyntaxError, nothing else', (_name, parse) => {
    fc.assert(
      fc.property(garbage, (input) => {
        try {
          parse(input);
        } catch (e) {
          expect(e).toBeInstanceOf(DtabSyntaxError);
        }
      }),
      { numRuns: 400 },
    );
  });

  it.each(PARSERS)(
    "%s errors read '<expected> expected but <found> found at '<display>''",
    (_n, parse) => {
      fc.assert(
        fc.property(garbage, (input) => {
          try {
            parse(input);
          } catch (e) {
            if (!(e instanceof DtabSyntaxError)) throw e;
            expect(e.index).toBeGreaterThanOrEqual(0);
            expect(e.index).toBeLessThanOrEqual(input.length);
            // Finagle reports a lone '.' weight with the cursor already past it: found is the '.'.
            const loneDot = e.message.startsWith("weight expected but '.' found");
            const at = e.index >= input.length ? 'end of input' : `'${input[e.index]}'`;
            const found = loneDot ? "'.'" : at;
            expect(
              e.message.endsWith(` expected but ${found} found at '${display(input, e.index)}'`),
            ).toBe(true);
          }
        }),
        { numRuns: 400 },
      );
    },
  );
});

// --- simplify and evaluate -------------------------------------------------------------------------

function isSimplified(t: NameTree<Path>): boolean {
  switch (t.kind) {
    case 'alt': {
      if (t.trees.length < 2) return false;
      const failAt = t.trees.findIndex((c) => c.kind === 'fail');
      if (failAt !== -1 && failAt !== t.trees.length - 1) return false;
      return t.trees.every((c) => c.kind !== 'neg' && isSimplified(c));
    }
    case 'union':
      return (
        t.branches.length >= 2 &&
        t.branches.every(
          (b) => b.tree.kind !== 'neg' && b.tree.kind !== 'fail' && isSimplified(b.tree),
        )
      );
    default:
      return true;
  }
}

describe('simplify', () => {
  it('is a fixpoint', () => {
    fc.assert(
      fc.property(anyTree, (t) => {
        const s = simplify(t);
        expect(treesEqual(simplify(s), s)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('is evaluation-equivalent', () => {
    fc.assert(
      fc.property(anyTree, (t) => {
        expect(evalSet(simplify(t))).toEqual(evalSet(t));
      }),
      { numRuns: 500 },
    );
  });

  it('leaves no short Alt/Union, no ~ inside them, no ! inside a union, ! only last in an Alt', () => {
    fc.assert(
      fc.property(anyTree, (t) => {
        expect(isSimplified(simplify(t)), showNameTree(simplify(t))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

// --- lookup ----------------------------------------------------------------------------------------

const smallLabel = fc.constantFrom('a', 'b', 'c');
const smallPath: fc.Arbitrary<Path> = fc.array(smallLabel, { maxLength: 4 });
const smallPrefix: fc.Arbitrary<Prefix> = fc.array(fc.oneof(smallLabel, fc.constant(WILDCARD)), {
  maxLength: 3,
});
const smallTree = treeArb({ weight: exactWeight, minChildren: 1, leaf: smallPath });
const smallDtab: fc.Arbitrary<Dtab> = fc.array(fc.record({ prefix: smallPrefix, dst: smallTree }), {
  maxLength: 6,
});

/** The reference's lookup (§5), written out plainly. */
function referenceLookup(dtab: Dtab, p: Path): NameTree<Path> {
  const matches: NameTree<Path>[] = [];
  for (const { prefix: pre, dst } of [...dtab].reverse()) {
    const matches1 = pre.length <= p.length && pre.every((e, i) => e === WILDCARD || e === p[i]);
    if (matches1) matches.push(mapTree(dst, (leaf) => [...leaf, ...p.slice(pre.length)]));
  }
  if (matches.length === 0) return NEG;
  return matches.length === 1 ? matches[0]! : { kind: 'alt', trees: matches };
}

describe('lookup', () => {
  it('agrees with the reference algorithm: every match, last first, residual on every leaf', () => {
    fc.assert(
      fc.property(smallDtab, smallPath, (dtab, p) => {
        expect(treesEqual(lookup(dtab, p), referenceLookup(dtab, p))).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});

// --- binding ---------------------------------------------------------------------------------------

function describeBind(r: BindResult): string {
  switch (r.state) {
    case 'ok':
      return `ok ${showNameTree(r.tree)} ${JSON.stringify(evaluate(r.tree)?.sort() ?? null)}`;
    case 'pending':
      return 'pending';
    case 'failed':
      return `failed ${r.error.code}: ${r.error.message}`;
  }
}

// The reference's binding algorithm (§6.3) with Finagle's lookup (§6.1), written out plainly:
// a full simplify of every union, no work bounds (a budget only to skip runaway cases).
type RefResult =
  | { state: 'ok'; tree: NameTree<Bound> }
  | { state: 'failed'; code: string }
  | { state: 'pending' };

const TOO_MUCH_WORK = new Error('too much work for the reference');
const leafOf = (p: Path): NameTree<Name> => ({ kind: 'leaf', value: p });

function referenceBind(
  dtab: Dtab,
  tree: NameTree<Name>,
  depth: number,
  weight: number | undefined,
  maxDepth: number,
  budget: { lookups: number },
): RefResult {
  if (depth > maxDepth) return { state: 'failed', code: 'binding_depth' };
  const recur = (t: NameTree<Name>, d: number, w: number | undefined) =>
    referenceBind(dtab, t, d, w, maxDepth, budget);
  switch (tree.kind) {
    case 'leaf': {
      const v = tree.value;
      if (isBound(v)) {
        return {
          state: 'ok',
          tree: { kind: 'leaf', value: weight === undefined ? v : { ...v, weight } },
        };
      }
      if (--budget.lookups < 0) throw TOO_MUCH_WORK;
      const fromDtab = referenceLookup(dtab, v);
      const next =
        fromDtab.kind === 'neg' ? globalLookup(v) : { state: 'ok' as const, tree: fromDtab };
      if (next.state === 'failed') return { state: 'failed', code: next.error.code };
      if (next.state === 'pending') return next;
      return recur(next.tree, depth + 1, weight);
    }
    case 'neg':
    case 'fail':
    case 'empty':
      return { state: 'ok', tree };
    case 'union': {
      if (tree.branches.length === 0) return { state: 'ok', tree: NEG };
      if (tree.branches.length === 1)
        return recur(tree.branches[0]!.tree, depth, tree.branches[0]!.weight);
      const results = tree.branches.map((b) => ({
        weight: b.weight,
        r: recur(b.tree, depth, b.weight),
      }));
      const oks: Weighted<Bound>[] = [];
      for (const { weight: w, r } of results)
        if (r.state === 'ok') oks.push({ weight: w, tree: r.tree });
      if (oks.length > 0) return { state: 'ok', tree: simplify({ kind: 'union', branches: oks }) };
      return results.find((x) => x.r.state === 'failed')?.r ?? { state: 'pending' };
    }
    case 'alt': {
      for (const t of tree.trees) {
        const r = recur(t, depth, weight);
        if (r.state !== 'ok' || r.tree.kind !== 'neg') return r;
      }
      return { state: 'ok', tree: NEG };
    }
  }
}

/** Compares results: state, shown tree, each bound leaf's id, residual, addresses and weight. */
function describeRef(r: RefResult | BindResult): string {
  if (r.state === 'pending') return 'pending';
  if (r.state === 'failed') return `failed ${'code' in r ? r.code : r.error.code}`;
  const leaves: string[] = [];
  const walk = (t: NameTree<Bound>): void => {
    if (t.kind === 'leaf') {
      const b = t.value;
      leaves.push(`${showPath(b.id)}${showPath(b.residual)}=${b.addrs.join(',')}@${b.weight}`);
    } else if (t.kind === 'union') for (const br of t.branches) walk(br.tree);
  };
  walk(r.tree);
  return `ok ${showNameTree(r.tree)} [${leaves.join(' ')}]`;
}

function onlyBoundLeavesNoAlt(t: NameTree<Bound>): boolean {
  switch (t.kind) {
    case 'alt':
      return false;
    case 'leaf':
      return isBound(t.value);
    case 'union':
      return t.branches.every((b) => onlyBoundLeavesNoAlt(b.tree));
    default:
      return true;
  }
}

const bindLeafPath = fc.constantFrom<Path>(
  ['a'],
  ['b'],
  ['a', 'b'],
  ['c', 'a'],
  [],
  ['$', 'inet', 'h', '1'],
  ['$', 'inet', '2'],
  ['$', 'nil'],
  ['$', 'fail'],
  ['$', 'nope'],
);
const bindTreeArb = treeArb({ weight: exactWeight, minChildren: 1, leaf: bindLeafPath });
const bindDtab: fc.Arbitrary<Dtab> = fc.array(
  fc.record({ prefix: smallPrefix, dst: bindTreeArb }),
  {
    maxLength: 6,
  },
);
const FAILURE_CODES = ['binding_depth', 'binding_work', 'unknown_namer', 'invalid_address'];

/** Time `f` and return its result with the elapsed milliseconds. */
function timed<T>(f: () => T): [T, number] {
  const start = performance.now();
  const r = f();
  return [r, performance.now() - start];
}

describe('bind on adversarial dtabs', () => {
  it('always terminates ok or failed, never throws, and leaves only bound leaves and no Alt', () => {
    fc.assert(
      fc.property(bindDtab, smallPath, (dtab, p) => {
        const r = bind(dtab, p);
        expect(r.state).not.toBe('pending');
        if (r.state === 'ok') {
          expect(onlyBoundLeavesNoAlt(r.tree), showNameTree(r.tree)).toBe(true);
          expect(treesEqual(simplify(r.tree), r.tree), showNameTree(r.tree)).toBe(true);
        }
        if (r.state === 'failed') expect(FAILURE_CODES).toContain(r.error.code);
      }),
      { numRuns: 500 },
    );
  });

  it('agrees with the reference algorithm (§6.1–6.3) wherever the work bound is not reached', () => {
    fc.assert(
      fc.property(bindDtab, smallPath, fc.integer({ min: 0, max: 8 }), (dtab, p, maxDepth) => {
        const budget = { lookups: 2_000 };
        let expected: string;
        try {
          expected = describeRef(referenceBind(dtab, leafOf(p), 0, undefined, maxDepth, budget));
        } catch (e) {
          if (e === TOO_MUCH_WORK) return;
          throw e;
        }
        const r = bind(dtab, p, { maxDepth });
        if (r.state === 'failed' && r.error.code === 'binding_work') return;
        expect(describeRef(r)).toBe(expected);
      }),
      { numRuns: 1000 },
    );
  });

  it('a lookup budget either changes nothing or fails the binding with binding_work', () => {
    fc.assert(
      fc.property(bindDtab, smallPath, fc.integer({ min: 0, max: 60 }), (dtab, p, budget) => {
        const limited = bind(dtab, p, { maxLookups: budget });
        if (limited.state === 'failed' && limited.error.code === 'binding_work') return;
        const generous = bind(dtab, p, { maxLookups: 1_000 });
        expect(describeBind(limited)).toBe(describeBind(generous));
      }),
      { numRuns: 1000 },
    );
  });

  /** A namer answering every path (the dtab is empty): its calls are exactly the lookups. */
  function countingNamer(rewrite: (p: Path) => NameTree<Name>): {
    namer: Namer;
    calls: () => number;
  } {
    let calls = 0;
    return {
      namer: {
        prefix: [],
        label: 'counting',
        lookup: (residual) => {
          calls++;
          return { state: 'ok', tree: rewrite(residual) };
        },
      },
      calls: () => calls,
    };
  }

  it('never makes more lookups than maxLookups, and fails binding_work at the bound', () => {
    fc.assert(
      fc.property(bindDtab, smallPath, fc.integer({ min: 0, max: 300 }), (dtab, p, maxLookups) => {
        // The namer plays the dtab (lookup of the random dtab), so every lookup goes through it.
        const counter = countingNamer((q) => lookup(dtab, q));
        const r = bind([], p, { maxLookups, namers: [counter.namer] });
        expect(counter.calls()).toBeLessThanOrEqual(maxLookups);
        if (r.state === 'failed' && r.error.message.endsWith(`more than ${maxLookups} lookups`)) {
          expect(counter.calls()).toBe(maxLookups);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('stops deep self-recursion (/a=>/a/a) at the depth limit, quickly', () => {
    const [r, ms] = timed(() => bind(parseDtab('/a=>/a/a'), ['a']));
    expect(describeBind(r)).toBe(
      'failed binding_depth: Max recursion level: 100 reached in Namer lookup',
    );
    expect(ms).toBeLessThan(2000);
  });

  it('stops exponential union fan-out 30 levels deep at DEFAULT_MAX_LOOKUPS lookups, quickly', () => {
    const names = Array.from({ length: 31 }, (_, i) => `l${i}`);
    const text = names
      .slice(0, 30)
      .map((n, i) => `/${n}=>/${names[i + 1]} & /${names[i + 1]}`)
      .join(';');
    const [r, ms] = timed(() => bind(parseDtab(text), ['l0']));
    expect(describeBind(r)).toBe(
      `failed binding_work: Binding work limit reached: more than ${DEFAULT_MAX_LOOKUPS} lookups`,
    );
    expect(ms).toBeLessThan(2000);

    const dtab = parseDtab(text);
    const counter = countingNamer((q) => lookup(dtab, q));
    const [r2, ms2] = timed(() => bind([], ['l0'], { namers: [counter.namer] }));
    expect(r2.state === 'failed' && r2.error.code).toBe('binding_work');
    expect(counter.calls()).toBe(DEFAULT_MAX_LOOKUPS);
    expect(ms2).toBeLessThan(2000);
  });

  it('stops /a => /a & /a (exponential within the depth limit) quickly', () => {
    const [r, ms] = timed(() => bind(parseDtab('/a=>/a & /a'), ['a']));
    expect(r.state === 'failed' && r.error.code).toBe('binding_work');
    expect(ms).toBeLessThan(2000);
  });

  it(`stops deeply nested trees repeated down a chain at ${MAX_BIND_NESTING} levels, never overflowing the stack`, () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 99 }),
        fc.constantFrom('|', '&'),
        fc.constantFrom('~', '!', '$', '/$/inet/h/1'),
        (depth, op, other) => {
          let nested = '/a/x';
          for (let i = 0; i < depth; i++) nested = `(${nested} ${op} ${other})`;
          const [r, ms] = timed(() => bind(parseDtab(`/a=>${nested}`), ['a']));
          expect(r.state).not.toBe('pending');
          if (r.state === 'failed')
            expect(['binding_depth', 'binding_work']).toContain(r.error.code);
          if (r.state === 'ok') {
            expect(() => showNameTree(r.tree)).not.toThrow();
            expect(() => evaluate(r.tree)).not.toThrow();
          }
          expect(ms).toBeLessThan(2000);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('bounds the work of lookups in wide dtabs (many entries matching every path), quickly', () => {
    const entries = Array.from({ length: 2000 }, (_, i) => `/=>/n${i % 7}/x & ~`);
    const dtab = parseDtab(entries.join(';'));
    const [r, ms] = timed(() => bind(dtab, ['a']));
    expect(describeBind(r)).toBe(
      `failed binding_work: Binding work limit reached: lookups scanned and yielded more than ${DEFAULT_MAX_LOOKUPS * WORK_PER_LOOKUP} dentries, tree nodes and path elements`,
    );
    expect(ms).toBeLessThan(2000);
  });

  it('bounds the work of lookups yielding wide trees and long paths, quickly', () => {
    const wide = Array.from({ length: 3000 }, () => '~').join(' | ');
    const long = Array.from({ length: 500 }, () => 'x').join('/');
    for (const text of [`/a=>${wide} | /a/x & /a/x`, `/a=>/a/${long} & /a/${long}`]) {
      const [r, ms] = timed(() => bind(parseDtab(text), ['a']));
      expect(r.state === 'failed' && r.error.code).toBe('binding_work');
      expect(ms).toBeLessThan(2000);
    }
  });

  it('finishes every random small-alphabet binding well under a second', () => {
    fc.assert(
      fc.property(bindDtab, smallPath, (dtab, p) => {
        const [, ms] = timed(() => bind(dtab, p));
        expect(ms).toBeLessThan(2000);
      }),
      { numRuns: 200 },
    );
  });
});
