// Specification tests for dentries and dtabs (reference §2, §3, §5): prefix matching, show,
// concatenation, stripPrefix, simplify, and the one-step `lookup`.

import { describe, expect, it } from 'vitest';
import type { Dentry, Dtab } from '../../src/routing/dtab.js';
import {
  concatDtabs,
  dentriesEqual,
  EMPTY_DTAB,
  lookup,
  prefixMatches,
  showDentry,
  showDtab,
  showPrefix,
  simplifyDtab,
  stripPrefix,
  WILDCARD,
} from '../../src/routing/dtab.js';
import { parseDentry, parseDtab, parsePath, parsePrefix } from '../../src/routing/parser.js';
import { showNameTree, simplify, treesEqual } from '../../src/routing/tree.js';

/** Finagle `Dtab ==`: same entries, structurally (weights as doubles). */
function dtabsEqual(a: Dtab, b: Dtab): boolean {
  return a.length === b.length && a.every((d, i) => dentriesEqual(d, b[i]!));
}

/** Finagle `Equiv[Dtab]`: same size, equal prefixes, destinations equal after simplify. */
function dtabsEquiv(a: Dtab, b: Dtab): boolean {
  return (
    a.length === b.length &&
    a.every(
      (d, i) =>
        showPrefix(d.prefix) === showPrefix(b[i]!.prefix) &&
        treesEqual(simplify(d.dst), simplify(b[i]!.dst)),
    )
  );
}

const lookupShow = (dtab: string, path: string) =>
  showNameTree(lookup(parseDtab(dtab), parsePath(path)));

describe('prefixMatches', () => {
  it.each<[string, string, boolean]>([
    ['/', '/', true],
    ['/', '/anything/at/all', true],
    ['/s', '/s/crawler', true],
    ['/s', '/s', true],
    ['/s', '/s#/foo', false],
    ['/s#', '/s#/foo', true],
    ['/s/crawler', '/s', false],
    ['/a/*/c', '/a/b/c', true],
    ['/a/*/c', '/a/b/c/e/f', true],
    ['/a/*/c', '/a/b/d', false],
    ['/a/*/c', '/a/c', false],
    ['/*', '/x', true],
    ['/*', '/', false],
    ['/*/*', '/x/y/z', true],
    ['/*/b', '/x/b', true],
    ['/A', '/a', false],
    ['/\\x61', '/a', true],
    ['/\\x2a', '/x', false],
    ['/\\x2a', '/\\x2a', true],
  ])('prefix %s matches %s: %s', (prefix, path, want) => {
    expect(prefixMatches(parsePrefix(prefix), parsePath(path))).toBe(want);
  });

  it('a wildcard matches exactly one whole element, never characters', () => {
    expect(prefixMatches(['a', WILDCARD], ['a'])).toBe(false);
    expect(prefixMatches(['a', WILDCARD], ['a', 'b'])).toBe(true);
    expect(prefixMatches(['s'], ['s#'])).toBe(false);
  });
});

describe('showPrefix', () => {
  it.each<[string, string]>([
    ['/', '/'],
    ['/foo/*/bar', '/foo/*/bar'],
    ['/*', '/*'],
    ['/\\x2a', '/\\x2a'],
    ['/\\x66oo', '/foo'],
    ['/a\\x20b/*', '/\\x61\\x20\\x62/*'],
  ])('%j shows as %j (a literal * byte stays escaped, so * is unambiguous)', (text, shown) => {
    expect(showPrefix(parsePrefix(text))).toBe(shown);
  });
});

describe('showDentry', () => {
  it.each<[string, string]>([
    ['/b => /c | /d', '/b=>/c | /d'],
    ['/ => !', '/=>!'],
    ['/foo/*/bar => 1 * /a & 2 * /b', '/foo/*/bar=>/a & 2.00*/b'],
    ['/svc # comment\n => ( /v/a ) # more', '/svc=>/v/a'],
    ['/a=>(/b & /c) & /d', '/a=>(/b & /c) & /d'],
    ['/a => ~', '/a=>~'],
    ['/a => $', '/a=>$'],
  ])('%j shows as %j (no spaces around =>)', (text, shown) => {
    expect(showDentry(parseDentry(text))).toBe(shown);
  });
});

describe('showDtab', () => {
  it.each<[string, string]>([
    ['', ''],
    ['/=>!;', '/=>!'],
    ['/a => /b; /c => /d | /e;', '/a=>/b;/c=>/d | /e'],
    [
      '/svc => /v; /svc/orders => 1 * /v/orders/1 & 3 * /v/orders/2',
      '/svc=>/v;/svc/orders=>/v/orders/1 & 3.00*/v/orders/2',
    ],
  ])('%j shows as %j (joined by ;, no trailing ;)', (text, shown) => {
    expect(showDtab(parseDtab(text))).toBe(shown);
  });

  it('the empty dtab shows as the empty string', () => {
    expect(showDtab(EMPTY_DTAB)).toBe('');
  });
});

describe('concatDtabs', () => {
  it('appends the second dtab after the first (Finagle d1 ++ d2)', () => {
    const d1 = parseDtab('/foo => /bar');
    const d2 = parseDtab('/foo=>/biz;/biz=>/$/inet/0/8080;/bar=>/$/inet/0/9090');
    const want = parseDtab(`
      /foo=>/bar;
      /foo=>/biz;
      /biz=>/$/inet/0/8080;
      /bar=>/$/inet/0/9090
    `);
    expect(dtabsEqual(concatDtabs(d1, d2), want)).toBe(true);
  });

  it('has the empty dtab as identity on both sides', () => {
    const d1 = parseDtab('/foo=>/bar;/biz=>/baz');
    expect(concatDtabs(d1, EMPTY_DTAB)).toBe(d1);
    expect(concatDtabs(EMPTY_DTAB, d1)).toBe(d1);
  });

  it('gives the appended entries precedence in lookup', () => {
    const dtab = concatDtabs(parseDtab('/a=>/base'), parseDtab('/a=>/overlay'));
    expect(showNameTree(lookup(dtab, parsePath('/a')))).toBe('/overlay | /base');
  });
});

describe('stripPrefix', () => {
  const d1 = parseDtab('/foo=>/bar;/baz=>/xxx/yyy');
  const d2 = parseDtab('/foo=>/bar;/baz=>/xxx/yyy');

  it('follows Finagle DtabTest', () => {
    expect(stripPrefix(d1, d1)).toEqual([]);
    expect(stripPrefix(d1, d2)).toEqual([]);
    const extended = [...d1, parseDentry('/foo => /123')];
    expect(dtabsEquiv(stripPrefix(extended, d1), parseDtab('/foo=>/123'))).toBe(true);
    expect(dtabsEquiv(stripPrefix(d1, [...d1, parseDentry('/s => /b')]), d1)).toBe(true);
    expect(stripPrefix(EMPTY_DTAB, d1)).toEqual([]);
  });

  it.each<[string, string, string]>([
    ['/a=>/b;/c=>/d', '/a=>/b', '/c=>/d'],
    ['/a=>/b;/c=>/d', '', '/a=>/b;/c=>/d'],
    ['/a=>/b;/c=>/d', '/c=>/d', '/a=>/b;/c=>/d'],
    ['/a=>/b;/c=>/d', '/a=>/b;/c=>/d;/e=>/f', '/a=>/b;/c=>/d'],
    ['/a=>/b;/c=>/d', '/a=>/b | ~', '/a=>/b;/c=>/d'],
    ['/a=>2*/b & /c;/d=>/e', '/a=>2.0*/b&/c', '/d=>/e'],
    ['/a=>2*/b & /c;/d=>/e', '/a=>2.001*/b&/c', '/a=>2.00*/b & /c;/d=>/e'],
    ['/a/*=>/b;/d=>/e', '/a/*=>/b', '/d=>/e'],
    ['/a/*=>/b;/d=>/e', '/a/\\x2a=>/b', '/a/*=>/b;/d=>/e'],
  ])(
    'stripPrefix(%j, %j) is %j (entries compared structurally, not by equivalence)',
    (d, p, want) => {
      expect(showDtab(stripPrefix(parseDtab(d), parseDtab(p)))).toBe(want);
    },
  );
});

describe('simplifyDtab', () => {
  it('simplifies every destination and drops entries that simplify to ~', () => {
    const dtab = parseDtab(
      '/a=>~;/b=>/c | ~;/d=>! & ~;/e=>(~|~);/f=>!;/g=>$;/h=>(! & !) | /i;/j=>1*/k & 0.5*~',
    );
    expect(showDtab(simplifyDtab(dtab))).toBe('/b=>/c;/f=>!;/g=>$;/h=>/i;/j=>/k');
  });

  it('keeps prefixes and order', () => {
    const dtab = parseDtab('/x/*=>/a | ~;/=>/b');
    expect(showDtab(simplifyDtab(dtab))).toBe('/x/*=>/a;/=>/b');
  });
});

describe('lookup', () => {
  it('is ~ when no dentry matches', () => {
    expect(lookupShow('/a=>/b', '/c')).toBe('~');
    expect(lookup(EMPTY_DTAB, parsePath('/a')).kind).toBe('neg');
  });

  it('returns the one matching destination as is, not simplified', () => {
    expect(lookupShow('/a=>~ | ~', '/a')).toBe('~ | ~');
    expect(lookupShow('/a=>(! & !) | /b', '/a')).toBe('! & ! | /b');
    const dentry: Dentry = parseDentry('/a=>/b | /c');
    expect(lookup([dentry], ['a'])).toBe(dentry.dst); // same tree when the residual is empty
  });

  it('prefers later dentries and keeps earlier ones as fallbacks', () => {
    expect(lookupShow('/a=>/1;/b=>/2;/a=>/3', '/a/x')).toBe('/3/x | /1/x');
    expect(lookupShow('/a=>/base;/a=>/lane', '/a')).toBe('/lane | /base');
  });

  it('has no longest-prefix rule: a shorter later prefix wins first', () => {
    expect(lookupShow('/foo/bar=>/xxx;/foo=>/yyy', '/foo/bar/baz')).toBe('/yyy/bar/baz | /xxx/baz');
    expect(lookupShow('/foo=>/yyy;/foo/bar=>/xxx', '/foo/bar/baz')).toBe('/xxx/baz | /yyy/bar/baz');
  });

  it('makes one flat alternation of all matches, latest first', () => {
    expect(lookupShow('/=>/1;/a=>/2;/a/b=>/3', '/a/b')).toBe('/3 | /2/b | /1/a/b');
    const t = lookup(parseDtab('/=>/1;/a=>/2;/a/b=>/3'), parsePath('/a/b'));
    expect(t.kind === 'alt' && t.trees.length).toBe(3);
  });

  it('appends the residual to every leaf of the destination', () => {
    expect(lookupShow('/foo/bar => /xxx|/yyy&/zzz', '/foo/bar/baz')).toBe(
      '/xxx/baz | /yyy/baz & /zzz/baz',
    );
    expect(lookupShow('/a=>2*/b & (/c | /d/e)', '/a/x/y')).toBe(
      '2.00*/b/x/y & (/c/x/y | /d/e/x/y)',
    );
  });

  it('consumes wildcard positions and drops their values', () => {
    expect(lookupShow('/a/*/c => /d', '/a/b/c/e/f')).toBe('/d/e/f');
    expect(lookupShow('/*/svc => /v', '/prod/svc/orders')).toBe('/v/orders');
    expect(lookupShow('/a/*/c => /d', '/a/b/x')).toBe('~');
  });

  it('strips the prefix when the destination is / (the empty path)', () => {
    expect(lookupShow('/a => /', '/a/b/c')).toBe('/b/c');
    expect(lookupShow('/a => /', '/a')).toBe('/');
  });

  it('keeps ~, ! and $ destinations as they are, residual or not', () => {
    expect(lookupShow('/a=>!', '/a/b')).toBe('!');
    expect(lookupShow('/a=>$', '/a/b')).toBe('$');
    expect(lookupShow('/a=>~', '/a/b')).toBe('~');
    expect(lookupShow('/a=>~;/a=>~', '/a')).toBe('~ | ~');
    expect(lookup(parseDtab('/a=>~;/a=>~'), ['a']).kind).toBe('alt');
  });

  it('matches the empty prefix against every path, including /', () => {
    expect(lookupShow('/=>/x', '/')).toBe('/x');
    expect(lookupShow('/=>/x', '/$/inet/h/1')).toBe('/x/$/inet/h/1');
  });

  it('matches bytes, not show forms', () => {
    expect(lookupShow('/\\x61=>/b', '/a/c')).toBe('/b/c');
    expect(lookupShow('/a=>/\\x20', '/a/\\xff')).toBe('/\\x20/\\xff');
  });

  describe("the Finagle guide's worked example", () => {
    const dtab = parseDtab(`
      /zk#  => /$/com.twitter.serverset;
      /zk   => /zk#;
      /s##  => /zk/zk.local.twitter.com:2181;
      /s#   => /s##/prod;
      /s    => /s#;
      /s#   => /s##/staging
    `);

    it.each<[string, string]>([
      ['/s/crawler', '/s#/crawler'],
      ['/s#/crawler', '/s##/staging/crawler | /s##/prod/crawler'],
      ['/s##/staging/crawler', '/zk/zk.local.twitter.com:2181/staging/crawler'],
      [
        '/zk/zk.local.twitter.com:2181/staging/crawler',
        '/zk#/zk.local.twitter.com:2181/staging/crawler',
      ],
      [
        '/zk#/zk.local.twitter.com:2181/staging/crawler',
        '/$/com.twitter.serverset/zk.local.twitter.com:2181/staging/crawler',
      ],
    ])('rewrites %s to %s', (path, shown) => {
      expect(showNameTree(lookup(dtab, parsePath(path)))).toBe(shown);
    });

    it('uses # handler names so that /s => /s#… does not rewrite itself again', () => {
      expect(showNameTree(lookup(dtab, parsePath('/s#/crawler')))).not.toContain('/s/');
      expect(lookupShow('/s=>/s/prefix', '/s/x')).toBe('/s/prefix/x'); // the loop # avoids
    });
  });
});
