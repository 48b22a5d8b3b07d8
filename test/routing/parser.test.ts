// Specification tests for the concrete syntax of name trees, prefixes, dentries and dtabs
// (reference §1.4, §1.5, §2.1, §3.1, §4.2): what parses to what, and Finagle's exact messages.

import { describe, expect, it } from 'vitest';
import type { Dtab } from '../../src/routing/dtab.js';
import { WILDCARD } from '../../src/routing/dtab.js';
import {
  MAX_PAREN_NESTING,
  parseDentry,
  parseDtab,
  parseNameTree,
  parsePrefix,
} from '../../src/routing/parser.js';
import type { Path } from '../../src/routing/path.js';
import { showPath } from '../../src/routing/path.js';
import { DtabSyntaxError } from '../../src/routing/syntax-error.js';
import type { NameTree } from '../../src/routing/tree.js';

// Finagle-toString-like structure, e.g. `Alt(Union(1*/a,2*/b),~)`; weights as JS numbers.
function struct(tree: NameTree<Path>): string {
  switch (tree.kind) {
    case 'leaf':
      return showPath(tree.value);
    case 'alt':
      return `Alt(${tree.trees.map(struct).join(',')})`;
    case 'union':
      return `Union(${tree.branches.map((b) => `${b.weight}*${struct(b.tree)}`).join(',')})`;
    case 'neg':
      return '~';
    case 'fail':
      return '!';
    case 'empty':
      return '$';
  }
}

function dtabStruct(dtab: Dtab): string[] {
  return dtab.map(
    (d) => `${d.prefix.map((e) => (e === WILDCARD ? '*' : e)).join('|')}=>${struct(d.dst)}`,
  );
}

function syntaxError(parse: () => unknown): DtabSyntaxError {
  try {
    parse();
  } catch (e) {
    if (e instanceof DtabSyntaxError) return e;
    throw e;
  }
  throw new Error('expected a syntax error');
}

describe('parseNameTree', () => {
  describe('Finagle NameTreeParsersTest vectors', () => {
    it.each<[string, string]>([
      ['! | ~ | $', 'Alt(!,~,$)'],
      ['/foo/bar', '/foo/bar'],
      ['  /foo & /bar  ', 'Union(1*/foo,1*/bar)'],
      ['  /foo | /bar  ', 'Alt(/foo,/bar)'],
      ['/foo & /bar | /bar & /baz', 'Alt(Union(1*/foo,1*/bar),Union(1*/bar,1*/baz))'],
      [
        '1 * /foo & 2 * /bar | .5 * /bar & .5 * /baz',
        'Alt(Union(1*/foo,2*/bar),Union(0.5*/bar,0.5*/baz))',
      ],
    ])('parses %j as %s', (text, want) => {
      expect(struct(parseNameTree(text))).toBe(want);
    });
  });

  describe('precedence and flatness', () => {
    it.each<[string, string]>([
      ['/a & /b | /c & /d', 'Alt(Union(1*/a,1*/b),Union(1*/c,1*/d))'],
      ['/a | /b & /c', 'Alt(/a,Union(1*/b,1*/c))'],
      ['/a | /b | /c', 'Alt(/a,/b,/c)'],
      ['/a & /b & /c', 'Union(1*/a,1*/b,1*/c)'],
      ['(/a | /b) | /c', 'Alt(Alt(/a,/b),/c)'],
      ['/a | (/b | /c)', 'Alt(/a,Alt(/b,/c))'],
      ['(/a & /b) & /c', 'Union(1*Union(1*/a,1*/b),1*/c)'],
      ['/a & (/b | /c)', 'Union(1*/a,1*Alt(/b,/c))'],
      ['(/a & /b) | /c', 'Alt(Union(1*/a,1*/b),/c)'],
      ['(/a)', '/a'],
      ['((((/a))))', '/a'],
      ['(/a | /b)', 'Alt(/a,/b)'],
      ['( /a & /b )', 'Union(1*/a,1*/b)'],
      ['/', '/'],
      ['/ | /', 'Alt(/,/)'],
      ['~', '~'],
      ['!', '!'],
      ['$', '$'],
      ['(~)', '~'],
      ['~ & ! & $', 'Union(1*~,1*!,1*$)'],
      ['/$/inet/127.0.0.1/8080', '/$/inet/127.0.0.1/8080'],
      ['/a|/b&/c', 'Alt(/a,Union(1*/b,1*/c))'],
    ])('parses %j as %s', (text, want) => {
      expect(struct(parseNameTree(text))).toBe(want);
    });
  });

  describe('weights', () => {
    it.each<[string, number]>([
      ['1', 1],
      ['2', 2],
      ['.5', 0.5],
      ['0.25', 0.25],
      ['1.', 1],
      ['007', 7],
      ['0', 0],
      ['1.50', 1.5],
      ['0.333', 0.333],
      ['123456789', 123456789],
    ])('reads %j as %d', (text, weight) => {
      const tree = parseNameTree(`${text} * /a & /b`);
      expect(struct(tree)).toBe(`Union(${weight}*/a,1*/b)`);
    });

    it('defaults to 1.0 and allows free whitespace and comments around *', () => {
      expect(struct(parseNameTree('2*/a&/b'))).toBe('Union(2*/a,1*/b)');
      expect(struct(parseNameTree('2\n*\n/a & 3 # three\n * /b'))).toBe('Union(2*/a,3*/b)');
    });

    it('attaches to one simple term, including a parenthesised tree', () => {
      expect(struct(parseNameTree('2 * (/a | /b) & /c'))).toBe('Union(2*Alt(/a,/b),1*/c)');
      expect(struct(parseNameTree('3 * ~ & 2 * ! & $'))).toBe('Union(3*~,2*!,1*$)');
    });

    it.each<[string, string]>([
      ['0.5 * /a', '/a'],
      ['2 * (/a | /b)', 'Alt(/a,/b)'],
      ['2 * ~', '~'],
      ['(0.5 * /a)', '/a'],
      ['/a | 3 * /b', 'Alt(/a,/b)'],
      ['3 * (2 * /a & /b)', 'Union(2*/a,1*/b)'],
    ])('discards the weight of a single-term union: %j parses as %s', (text, want) => {
      expect(struct(parseNameTree(text))).toBe(want);
    });
  });

  describe('whitespace and comments between tokens', () => {
    it.each<[string, string]>([
      ['/a # comment\n| /b', 'Alt(/a,/b)'],
      ['/a\t|\n/b', 'Alt(/a,/b)'],
      ['# leading\n/a', '/a'],
      ['/a#b', '/a#b'],
      ['/a #b', '/a'],
      ['/a | #x\n /b', 'Alt(/a,/b)'],
      ['( # open\n /a # close\n )', '/a'],
      ['/a&#c\n/b', 'Union(1*/a,1*/b)'],
    ])('parses %j as %s', (text, want) => {
      expect(struct(parseNameTree(text))).toBe(want);
    });
  });

  describe('errors', () => {
    it.each<[string, string]>([
      ['', "simple expected but end of input found at '[]'"],
      ['#', "simple expected but end of input found at '#[]'"],
      ['   # only a comment', "simple expected but end of input found at '   # only a comment[]'"],
      ['/foo &', "simple expected but end of input found at '/foo &[]'"],
      ['/foo |', "simple expected but end of input found at '/foo |[]'"],
      ['/foo & 0.1.2 * /bar', "number char expected but '.' found at '/foo & 0.1[.]2 * /bar'"],
      ['/foo & . * /bar', "weight expected but '.' found at '/foo & .[ ]* /bar'"],
      ['.', "weight expected but '.' found at '.[]'"],
      ['.*/a', "weight expected but '.' found at '.[*]/a'"],
      ['5 /a', "'*' expected but '/' found at '5 [/]a'"],
      ['1e3 * /a', "'*' expected but 'e' found at '1[e]3 * /a'"],
      ['-1 * /a', "simple expected but '-' found at '[-]1 * /a'"],
      ['2 * 3 * /a', "simple expected but '3' found at '2 * [3] * /a'"],
      ['* /a', "simple expected but '*' found at '[*] /a'"],
      ['(/a', "')' expected but end of input found at '(/a[]'"],
      ['(/a | /b', "')' expected but end of input found at '(/a | /b[]'"],
      ['/a)', "end of input expected but ')' found at '/a[)]'"],
      ['()', "simple expected but ')' found at '([)]'"],
      ['invalid', "simple expected but 'i' found at '[i]nvalid'"],
      ['/a & & /b', "simple expected but '&' found at '/a & [&] /b'"],
      ['/a || /b', "simple expected but '|' found at '/a |[|] /b'"],
      ['~~', "end of input expected but '~' found at '~[~]'"],
      ['/a /b', "end of input expected but '/' found at '/a [/]b'"],
      ['/a*', "end of input expected but '*' found at '/a[*]'"],
      ['/a, /b', "end of input expected but ',' found at '/a[,] /b'"],
      ['/a;', "end of input expected but ';' found at '/a[;]'"],
      ['/foo^bar', "end of input expected but '^' found at '/foo[^]bar'"],
      ['/foo/', "label char expected but end of input found at '/foo/[]'"],
      // Weights are ASCII digits only (reference grammar `[0-9.]+`).
      ['\u0661 * /a', "simple expected but '\u0661' found at '[\u0661] * /a'"],
    ])('%j fails with %j', (text, message) => {
      expect(syntaxError(() => parseNameTree(text)).message).toBe(message);
    });

    it(`accepts ${MAX_PAREN_NESTING} nested parentheses and rejects one more as a syntax error`, () => {
      const nest = (n: number) => `${'('.repeat(n)}/a${')'.repeat(n)}`;
      expect(struct(parseNameTree(nest(MAX_PAREN_NESTING)))).toBe('/a');
      const e = syntaxError(() => parseNameTree(nest(MAX_PAREN_NESTING + 1)));
      expect(e.index).toBe(MAX_PAREN_NESTING);
      expect(e.message).toMatch(
        new RegExp(`^at most ${MAX_PAREN_NESTING} nested '\\(' expected but '\\(' found at '`),
      );
      // Far deeper input is still a syntax error, never a stack overflow.
      expect(() => parseNameTree(nest(100_000))).toThrow(DtabSyntaxError);
    });

    it('counts nesting depth, not the number of parenthesised groups', () => {
      const many = Array.from({ length: 500 }, (_, i) => `(/a${i})`).join(' | ');
      expect(parseNameTree(many).kind).toBe('alt');
    });
  });
});

describe('parsePrefix', () => {
  it.each<[string, string[]]>([
    ['/', []],
    ['  /  ', []],
    ['/foo', ['foo']],
    ['/foo/*/bar', ['foo', '*', 'bar']],
    ['/*', ['*']],
    ['/*/*', ['*', '*']],
    ['/s#/*', ['s#', '*']],
    ['/\\x2a', ['\\x2a']],
  ])('parses %j (wildcards as *)', (text, want) => {
    const shown = parsePrefix(text).map((e) => (e === WILDCARD ? '*' : showPath([e]).slice(1)));
    expect(shown).toEqual(want);
  });

  it('holds a wildcard as the empty string, which no label can be', () => {
    expect(parsePrefix('/a/*')).toEqual(['a', WILDCARD]);
    expect(WILDCARD).toBe('');
    expect(parsePrefix('/\\x2a')).toEqual(['*']); // a literal byte 0x2a is a label, not a wildcard
  });

  it.each<[string, string]>([
    ['/foo/*bar', "end of input expected but 'b' found at '/foo/*[b]ar'"],
    ['/foo*', "end of input expected but '*' found at '/foo[*]'"],
    ['/**', "end of input expected but '*' found at '/*[*]'"],
    ['/*/', "label char expected but end of input found at '/*/[]'"],
    ['', "'/' expected but end of input found at '[]'"],
    ['*', "'/' expected but '*' found at '[*]'"],
    ['/a/', "label char expected but end of input found at '/a/[]'"],
  ])('%j fails with %j', (text, message) => {
    expect(syntaxError(() => parsePrefix(text)).message).toBe(message);
  });
});

describe('parseDentry', () => {
  it.each<[string, string]>([
    ['/=>!', '=>!'],
    ['/ => !', '=>!'],
    ['/foo/*/bar => !', 'foo|*|bar=>!'],
    ['/foo/bar/baz => !', 'foo|bar|baz=>!'],
    ['  /a  =>  /b | /c  ', 'a=>Alt(/b,/c)'],
    ['/a=>/b # comment', 'a=>/b'],
    ['/a #c\n=> /b', 'a=>/b'],
    ['/a#=>/b', 'a#=>/b'],
    ['/a=>#c\n/b', 'a=>/b'],
    ['/svc=>1*/v/a & 3*/v/b', 'svc=>Union(1*/v/a,3*/v/b)'],
  ])('parses %j', (text, want) => {
    expect(dtabStruct([parseDentry(text)])).toEqual([want]);
  });

  it.each<[string, string]>([
    ['/foo/*bar/baz => !', "'=' expected but 'b' found at '/foo/*[b]ar/baz => !'"],
    ['/&!', "'=' expected but '&' found at '/[&]!'"],
    ['/a = > /b', "'>' expected but ' ' found at '/a =[ ]> /b'"],
    ['/a =/b', "'>' expected but '/' found at '/a =[/]b'"],
    ['/a => ', "simple expected but end of input found at '/a => []'"],
    ['/a =>', "simple expected but end of input found at '/a =>[]'"],
    ['/a /b', "'=' expected but '/' found at '/a [/]b'"],
    ['/a', "'=' expected but end of input found at '/a[]'"],
    ['/a => /b;', "end of input expected but ';' found at '/a => /b[;]'"],
    ['a => /b', "'/' expected but 'a' found at '[a] => /b'"],
    ['/a -> /b', "'=' expected but '-' found at '/a [-]> /b'"],
  ])('%j fails with %j', (text, message) => {
    expect(syntaxError(() => parseDentry(text)).message).toBe(message);
  });
});

describe('parseDtab', () => {
  it.each<[string, string[]]>([
    ['', []],
    ['   ', []],
    ['# only a comment', []],
    ['  /=>!  ', ['=>!']],
    ['/=>!;', ['=>!']],
    ['/=>!; ', ['=>!']],
    ['/=>!;/foo=>/bar', ['=>!', 'foo=>/bar']],
    ['/=>!;# trailing comment', ['=>!']],
    ['\n  /b => /c;\n  /a => /b;\n  ', ['b=>/c', 'a=>/b']],
    ['/a=>/b # first\n; # between\n/c=>/d # last', ['a=>/b', 'c=>/d']],
    ['/a=>/b;/a=>/c', ['a=>/b', 'a=>/c']],
  ])('parses %j', (text, want) => {
    expect(dtabStruct(parseDtab(text))).toEqual(want);
  });

  it.each<[string, string]>([
    [';', "'/' expected but ';' found at '[;]'"],
    [';/a=>/b', "'/' expected but ';' found at '[;]/a=>/b'"],
    ['/a=>/b;;', "'/' expected but ';' found at '/a=>/b;[;]'"],
    ['/a=>/b;;/c=>/d', "'/' expected but ';' found at '/a=>/b;[;]/c=>/d'"],
    ['/a=>/b; ;/c=>/d', "'/' expected but ';' found at '/a=>/b; [;]/c=>/d'"],
    ['/a=>/b\n/c=>/d', "end of input expected but '/' found at '/a=>/b\n[/]c=>/d'"],
    ['/a=>/b,/c=>/d', "end of input expected but ',' found at '/a=>/b[,]/c=>/d'"],
    ['/a=>', "simple expected but end of input found at '/a=>[]'"],
    ['/a=>/b;/c', "'=' expected but end of input found at '/a=>/b;/c[]'"],
  ])('%j fails with %j', (text, message) => {
    expect(syntaxError(() => parseDtab(text)).message).toBe(message);
  });

  it('reports the index of the offending character', () => {
    expect(syntaxError(() => parseDtab('/a=>/b;;')).index).toBe(7);
    expect(syntaxError(() => parseDtab('/a=>')).index).toBe(4);
  });
});
