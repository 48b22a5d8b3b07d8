// Specification tests for name trees (reference §4): Finagle's show algorithm and its
// parenthesisation, simplify, evaluate, mapTree and structural equality.

import { describe, expect, it } from 'vitest';
import { parseNameTree } from '../../src/routing/parser.js';
import type { Path } from '../../src/routing/path.js';
import { showPath } from '../../src/routing/path.js';
import type { Bound, NameTree } from '../../src/routing/tree.js';
import {
  alt,
  EMPTY,
  evaluate,
  FAIL,
  isBound,
  leaf,
  mapTree,
  NEG,
  showNameTree,
  simplify,
  treesEqual,
  union,
  weighted,
} from '../../src/routing/tree.js';

const a = leaf<Path>(['a']);
const b = leaf<Path>(['b']);
const c = leaf<Path>(['c']);
const w = weighted;

const show = (t: NameTree<Path>) => showNameTree(t);
const reshow = (text: string) => show(parseNameTree(text));

/** Evaluates a path tree to its sorted shown paths, or null. */
function evalPaths(tree: NameTree<Path>): string[] | null {
  const result = evaluate(tree);
  return result === null ? null : result.map(showPath).sort();
}

function bound(id: string, ...addrs: string[]): Bound {
  return { kind: 'bound', id: id.split('/').slice(1), addrs, residual: [] };
}

describe('showNameTree', () => {
  it('reproduces the Finagle example: no spaces around *, weight 1.0 omitted, %.2f weights', () => {
    expect(reshow('1 * /foo & 2 * /bar | .5 * /bar & .5 * /baz')).toBe(
      '/foo & 2.00*/bar | 0.50*/bar & 0.50*/baz',
    );
  });

  describe('parenthesisation', () => {
    it.each<[string, string]>([
      ['/a | /b | /c', '/a | /b | /c'],
      ['(/a | /b) | /c', '(/a | /b) | /c'],
      ['/a | (/b | /c)', '/a | (/b | /c)'],
      ['(/a | /b) & /c', '(/a | /b) & /c'],
      ['/a & (/b | /c)', '/a & (/b | /c)'],
      ['/a & /b | /c', '/a & /b | /c'],
      ['(/a & /b) | /c', '/a & /b | /c'],
      ['/c | (/a & /b)', '/c | /a & /b'],
      ['(/a & /b) & /c', '(/a & /b) & /c'],
      ['/a & (/b & /c)', '/a & (/b & /c)'],
      ['2 * (/a & /b) & /c', '2.00*(/a & /b) & /c'],
      ['2 * (/a | /b) & /c', '2.00*(/a | /b) & /c'],
      ['((/a))', '/a'],
      ['(/a | /b)', '/a | /b'],
      ['(/a & /b)', '/a & /b'],
      ['((/a | /b) | /c) | /d', '((/a | /b) | /c) | /d'],
      ['! | ~ | $', '! | ~ | $'],
      ['~ & ! & $', '~ & ! & $'],
      ['  /a&/b|/c  ', '/a & /b | /c'],
      ['/a # comment\n | /b', '/a | /b'],
      ['/', '/'],
      ['/\\x66oo & /\\x20', '/foo & /\\x20'],
    ])('%j shows as %j', (text, shown) => {
      expect(reshow(text)).toBe(shown);
    });
  });

  describe('weights', () => {
    it.each<[string, string]>([
      ['1 * /a & /b', '/a & /b'],
      ['1.0 * /a & /b', '/a & /b'],
      ['1.00 * /a & 1. * /b', '/a & /b'],
      ['0.3 * /a & /b', '0.30*/a & /b'],
      ['0.333 * /a & /b', '0.33*/a & /b'],
      ['0.335 * /a & /b', '0.34*/a & /b'],
      ['1.005 * /a & /b', '1.01*/a & /b'],
      ['1.001 * /a & /b', '1.00*/a & /b'],
      ['0 * /a & /b', '0.00*/a & /b'],
      ['2 * /a & 2 * /b', '2.00*/a & 2.00*/b'],
      ['12345.678 * /a & /b', '12345.68*/a & /b'],
      ['0.5 * /a', '/a'],
    ])('%j shows as %j', (text, shown) => {
      expect(reshow(text)).toBe(shown);
    });

    it('omits exactly 1.0 only: 1.001 rounds to "1.00*" yet is still written', () => {
      expect(show(union(w(1.001, a), w(1, b)))).toBe('1.00*/a & /b');
      expect(show(union(w(1, a), w(1, b)))).toBe('/a & /b');
    });
  });

  describe('trees the parser never builds', () => {
    it.each<[string, NameTree<Path>, string]>([
      ['empty Alt', alt(), ''],
      ['empty Union', union(), ''],
      ['single-child Alt', alt(a), '/a'],
      ['single-child Union (weight dropped)', union(w(3, a)), '/a'],
      ['Alt of a single-child Alt', alt(alt(a)), '/a'],
      ['Alt of a single-child Union', alt(union(w(2, a))), '/a'],
      ['single-child Alt holding an Alt', alt(alt(a, b)), '/a | /b'],
      ['single-child Union holding a Union', union(w(2, union(w(3, a), w(1, b)))), '3.00*/a & /b'],
      ['Alt child that is a single-child Alt', alt(a, alt(b)), '/a | /b'],
      ['Alt child that is a single-child Union', alt(a, union(w(5, b))), '/a | /b'],
      ['Alt child holding a one-child Alt of an Alt', alt(a, alt(alt(b, c))), '/a | (/b | /c)'],
      ['Union branch that is a one-child Alt', union(w(2, alt(a)), w(1, b)), '2.00*/a & /b'],
      [
        'Union branch that is a one-child Alt of an Alt',
        union(w(2, alt(alt(a, b))), w(1, c)),
        '2.00*(/a | /b) & /c',
      ],
      [
        'Union branch that is a one-child Union',
        union(w(2, union(w(9, a))), w(1, b)),
        '2.00*/a & /b',
      ],
      ['Alt containing an empty Alt', alt(a, alt()), '/a | ()'],
      ['Alt containing an empty Union', alt(a, union()), '/a | '],
      ['Union containing an empty Union', union(w(1, a), w(1, union())), '/a & ()'],
      ['Union containing an empty Alt', union(w(1, a), w(1, alt())), '/a & ()'],
    ])('%s shows as %j', (_name, tree, shown) => {
      expect(show(tree)).toBe(shown);
    });
  });

  it('takes a leaf formatter, and shows a bound leaf as its id path by default', () => {
    expect(showNameTree(union(w(2, leaf('x')), w(1, leaf('y'))), (v) => v.toUpperCase())).toBe(
      '2.00*X & Y',
    );
    expect(showNameTree(leaf(bound('/$/inet/127.0.0.1/8080', '127.0.0.1:8080')))).toBe(
      '/$/inet/127.0.0.1/8080',
    );
  });
});

describe('simplify', () => {
  describe('structural rules (reference §4.4)', () => {
    it.each<[string, NameTree<Path>, string]>([
      ['Alt() is ~', alt(), '~'],
      ['Union() is ~', union(), '~'],
      ['Alt(t) is t', alt(a), '/a'],
      ['Union(w*t) is t, weight dropped', union(w(3, a)), '/a'],
      ['Union(w*!) stays !', union(w(2, FAIL)), '!'],
      ['Union(w*~) is ~', union(w(2, NEG)), '~'],
      ['Alt skips ~ children', alt(NEG, a, NEG, b), '/a | /b'],
      ['Alt stops after ! and keeps it', alt(a, FAIL, b), '/a | !'],
      ['Alt starting with ! is !', alt(FAIL, a), '!'],
      ['Alt of ~ then ! is !', alt(NEG, FAIL), '!'],
      ['Alt of only ~ is ~', alt(NEG, NEG), '~'],
      ['Alt keeps $, which stops evaluation', alt(EMPTY, a), '$ | /a'],
      ['Union drops ~', union(w(1, a), w(1, NEG), w(1, b)), '/a & /b'],
      ['Union drops !', union(w(1, a), w(1, FAIL), w(1, b)), '/a & /b'],
      ['Union of only ! is ~, not !', union(w(1, FAIL), w(1, FAIL)), '~'],
      ['Union of ! and ~ is ~', union(w(1, FAIL), w(1, NEG)), '~'],
      ['Union left with one branch is that branch', union(w(5, a), w(1, FAIL)), '/a'],
      ['Union keeps $', union(w(1, a), w(1, EMPTY)), '/a & $'],
      ['Union keeps weights', union(w(2, a), w(3, b), w(4, NEG)), '2.00*/a & 3.00*/b'],
      ['nested Alts are not flattened', alt(alt(a, b), c), '(/a | /b) | /c'],
      [
        'nested Unions are not flattened',
        union(w(1, union(w(1, a), w(1, b))), w(1, c)),
        '(/a & /b) & /c',
      ],
      ['children are simplified first', alt(alt(NEG, NEG), union(w(1, NEG), w(1, a))), '/a'],
      ['leaves are unchanged', a, '/a'],
      ['~ is unchanged', NEG, '~'],
      ['! is unchanged', FAIL, '!'],
      ['$ is unchanged', EMPTY, '$'],
    ])('%s', (_name, tree, shown) => {
      expect(show(simplify(tree))).toBe(shown);
    });
  });

  it.each<[string, string]>([
    ['(! & !) | /b', '/b'],
    ['(~ | /a) & /b', '/a & /b'],
    ['((~ | ~) | /a)', '/a'],
    ['~ | (~ | $) | /blah', '$ | /blah'],
    ['/ok & ~ & /blah & $', '/ok & /blah & $'],
    ['~ & ~ & (~ | ~)', '~'],
    ['! | /ok', '!'],
    ['~ | /ok | !', '/ok | !'],
    ['/ok & !', '/ok'],
    ['(~|$|/foo) & (/bar|/blah) & ~ & /FOO', '($ | /foo) & (/bar | /blah) & /FOO'],
  ])('simplifies %j to %j', (text, shown) => {
    expect(show(simplify(parseNameTree(text)))).toBe(shown);
  });

  it('is a fixpoint', () => {
    const t = parseNameTree('(~ | (! & ~) | /a & (~ | /b)) | ! | /c');
    const once = simplify(t);
    expect(treesEqual(simplify(once), once)).toBe(true);
  });
});

describe('evaluate', () => {
  // Finagle NameTreeTest "NameTree.eval/simplified": each vector holds for the tree and for its
  // simplified form.
  it.each<[string, string[] | null]>([
    ['~', null],
    ['/ok', ['/ok']],
    ['/ok & /ok1', ['/ok', '/ok1']],
    ['/ok & ~ & /blah & $', ['/blah', '/ok']],
    ['$ & $ & $', []],
    ['~ & ~ & (~ | ~)', null],
    ['~ | /foo | /bar', ['/foo']],
    ['~ | $ | /blah', []],
    ['~ | (~ | $) | /blah', []],
    ['(~|$|/foo) & (/bar|/blah) & ~ & /FOO', ['/FOO', '/bar']],
    ['! | /ok', null],
    ['/ok & !', ['/ok']],
    ['! & ! & !', null],
    ['~ | /ok | !', ['/ok']],
  ])('evaluates %j to %j (also when simplified)', (text, want) => {
    const tree = parseNameTree(text);
    expect(evalPaths(tree)).toEqual(want);
    expect(evalPaths(simplify(tree))).toEqual(want);
  });

  it.each<[string, NameTree<Path>, string[] | null]>([
    ['Alt() is negative', alt(), null],
    ['Union() is negative', union(), null],
    ['$ is an existing but empty set', EMPTY, []],
    ['! is None', FAIL, null],
    ['~ is None', NEG, null],
    ['Alt(t) is t', alt(FAIL), null],
    ['Union(w*!) is !', union(w(2, FAIL)), null],
    ['a union discards weights', union(w(0, a), w(7, b)), ['/a', '/b']],
    ['Alt takes the first non-~ child, even $', alt(NEG, EMPTY, a), []],
    ['Alt stops at !', alt(NEG, FAIL, a), null],
    ['a union ignores ! and ~ children', union(w(1, FAIL), w(1, NEG), w(1, a)), ['/a']],
    ['a union of ! and ~ only is negative', union(w(1, FAIL), w(1, NEG)), null],
    ['a union is a set: duplicates appear once', union(w(1, a), w(2, leaf(['a']))), ['/a']],
  ])('%s', (_name, tree, want) => {
    expect(evalPaths(tree)).toEqual(want);
  });

  describe('on bound trees', () => {
    it('gives the host:port addresses of the bound names', () => {
      const x = leaf(bound('/$/inet/10.0.0.1/80', '10.0.0.1:80'));
      const y = leaf(bound('/v/orders/2.3.0', '10.0.0.2:81', '10.0.0.3:81'));
      expect(evaluate(x)).toEqual(['10.0.0.1:80']);
      expect(evaluate(union(w(1, x), w(3, y)))?.sort()).toEqual([
        '10.0.0.1:80',
        '10.0.0.2:81',
        '10.0.0.3:81',
      ]);
    });

    it('merges addresses as a set, and gives [] for $ and null for ~ and !', () => {
      const x = leaf(bound('/$/inet/h/1', 'h:1'));
      const x2 = leaf(bound('/$/inet/h/1/residual', 'h:1'));
      expect(evaluate(union(w(1, x), w(1, x2)))).toEqual(['h:1']);
      expect(evaluate<Bound>(EMPTY)).toEqual([]);
      expect(evaluate<Bound>(union(w(1, EMPTY), w(1, x)))).toEqual(['h:1']);
      expect(evaluate<Bound>(NEG)).toBeNull();
      expect(evaluate<Bound>(FAIL)).toBeNull();
    });
  });
});

describe('mapTree', () => {
  it('maps every leaf and keeps the shape, weights and ~ ! $', () => {
    const t = parseNameTree('2 * /a & (/b | ~) & ! | $');
    const mapped = mapTree(t, (p) => [...p, 'x']);
    expect(show(mapped)).toBe('2.00*/a/x & (/b/x | ~) & ! | $');
  });
});

describe('treesEqual', () => {
  it.each<[string, NameTree<Path>, NameTree<Path>, boolean]>([
    ['same leaves', leaf(['a']), a, true],
    ['different leaves', a, b, false],
    [
      'weights compared as numbers',
      union(w(0.5, a), w(1, b)),
      parseNameTree('.50 * /a & /b'),
      true,
    ],
    ['different weights', union(w(0.5, a), w(1, b)), union(w(0.51, a), w(1, b)), false],
    ['Alt(t) is not t', alt(a), a, false],
    ['Alt is not Union', alt(a, b), union(w(1, a), w(1, b)), false],
    ['order matters', alt(a, b), alt(b, a), false],
    ['arity matters', alt(a, b), alt(a, b, c), false],
    ['~ ! $ are singletons', parseNameTree('~ | ! | $'), alt(NEG, FAIL, EMPTY), true],
    ['equivalent is not equal', parseNameTree('/a | ~'), a, false],
  ])('%s → %s', (_name, x, y, want) => {
    expect(treesEqual(x, y)).toBe(want);
  });

  it('equivalence (Finagle Equiv) is equality after simplify', () => {
    expect(treesEqual(simplify(parseNameTree('/a | ~')), simplify(a))).toBe(true);
    expect(treesEqual(simplify(parseNameTree('(! & !) | /a')), a)).toBe(true);
  });
});

describe('constructors', () => {
  it('build plain values; ~ ! $ are frozen singletons', () => {
    expect(leaf(['a'])).toEqual({ kind: 'leaf', value: ['a'] });
    expect(alt(a, b)).toEqual({ kind: 'alt', trees: [a, b] });
    expect(union(w(2, a))).toEqual({ kind: 'union', branches: [{ weight: 2, tree: a }] });
    expect(Object.isFrozen(NEG) && Object.isFrozen(FAIL) && Object.isFrozen(EMPTY)).toBe(true);
    expect(isBound(bound('/x'))).toBe(true);
    expect(isBound(['x'])).toBe(false);
    expect(isBound(null)).toBe(false);
  });
});
