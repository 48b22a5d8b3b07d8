// Specification tests for paths (reference §1): the byte-string data model, the concrete syntax
// read by `parsePath`, Finagle's error messages, and the show form.

import { describe, expect, it } from 'vitest';
import { TurnoutError } from '../../src/errors.js';
import { parsePath } from '../../src/routing/parser.js';
import type { Path } from '../../src/routing/path.js';
import {
  concatPaths,
  EMPTY_PATH,
  elemText,
  isShowable,
  pathStartsWith,
  pathsEqual,
  showElem,
  showPath,
  utf8Path,
} from '../../src/routing/path.js';
import { DtabSyntaxError } from '../../src/routing/syntax-error.js';

/** The error `parsePath` throws for `text` (fails the test when it parses). */
function parseError(text: string): DtabSyntaxError {
  try {
    parsePath(text);
  } catch (e) {
    if (e instanceof DtabSyntaxError) return e;
    throw e;
  }
  throw new Error(`expected ${JSON.stringify(text)} not to parse`);
}

const SHOWABLE = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_:.#$%-';

describe('Path data model', () => {
  it('is a sequence of byte strings; the empty path has no elements', () => {
    expect(EMPTY_PATH).toEqual([]);
    expect(parsePath('/')).toEqual([]);
    expect(parsePath('/foo/bar')).toEqual(['foo', 'bar']);
  });

  it('compares element-wise and case-sensitively, with no normalisation', () => {
    expect(pathsEqual(parsePath('/foo/bar'), ['foo', 'bar'])).toBe(true);
    expect(pathsEqual(parsePath('/Foo'), parsePath('/foo'))).toBe(false);
    expect(pathsEqual(parsePath('/foo/bar'), parsePath('/foo'))).toBe(false);
    expect(pathsEqual(parsePath('/\\x66oo'), parsePath('/foo'))).toBe(true);
  });

  it.each<[string, string, boolean]>([
    ['/s/crawler', '/s', true],
    ['/s/crawler', '/', true],
    ['/s/crawler', '/s/crawler', true],
    ['/s#/foo', '/s', false],
    ['/s', '/s/crawler', false],
    ['/sx', '/s', false],
  ])('startsWith: %s starts with %s is %s (whole elements, never characters)', (p, q, want) => {
    expect(pathStartsWith(parsePath(p), parsePath(q))).toBe(want);
  });

  it('concatenates (Finagle ++), the empty path being the identity', () => {
    const a = parsePath('/a/b');
    expect(concatPaths(a, parsePath('/c'))).toEqual(['a', 'b', 'c']);
    expect(concatPaths(a, EMPTY_PATH)).toBe(a);
    expect(concatPaths(EMPTY_PATH, a)).toBe(a);
  });

  it('utf8Path encodes text elements as UTF-8 bytes (Finagle Path.Utf8)', () => {
    expect(utf8Path('foo', 'bar')).toEqual(['foo', 'bar']);
    expect(utf8Path('é')).toEqual(['\xc3\xa9']);
    expect(utf8Path('é')).toEqual(parsePath('/\\xc3\\xa9'));
    expect(elemText('\xc3\xa9')).toBe('é');
    expect(elemText('\xff')).toBeNull();
  });
});

describe('isShowable', () => {
  it('holds exactly for [0-9A-Za-z] and _ : . # $ % -', () => {
    for (let c = 0; c < 256; c++) {
      expect(isShowable(c), `code ${c}`).toBe(SHOWABLE.includes(String.fromCharCode(c)));
    }
  });

  it('excludes * (a prefix wildcard, never a path char) and every delimiter', () => {
    for (const c of '*/\\ ~!&|,=;()^+@{}[]"\'<>?`') expect(isShowable(c.charCodeAt(0))).toBe(false);
  });
});

describe('parsePath', () => {
  it.each<[string, Path]>([
    ['/', []],
    ['/foo', ['foo']],
    ['/foo/bar', ['foo', 'bar']],
    ['  /foo/bar  ', ['foo', 'bar']],
    ['/\\x66\\x6f\\x6F', ['foo']],
    ['/\\x66\\x6F\\x6f/\\x62ar', ['foo', 'bar']],
    ['/$/inet/127.0.0.1/8080', ['$', 'inet', '127.0.0.1', '8080']],
    ['/srv#/prod', ['srv#', 'prod']],
    ['/#/io.l5d.k8s', ['#', 'io.l5d.k8s']],
    ['/s##', ['s##']],
    ['/#foo', ['#foo']],
    ['/a#b', ['a#b']],
    [`/${SHOWABLE}`, [SHOWABLE]],
    ['/100%/a-b/c_d/e:f', ['100%', 'a-b', 'c_d', 'e:f']],
    ['/\\x00', ['\x00']],
    ['/\\xff\\xFE', ['\xff\xfe']],
    ['/\\x2f', ['/']],
    ['/\\x2a', ['*']],
    ['/a\\x20b', ['a b']],
    ['/\\xc3\\xa9t\\xc3\\xa9', utf8Path('été')],
  ])('parses %j', (text, want) => {
    expect(parsePath(text)).toEqual(want);
  });

  describe('whitespace and comments around a path', () => {
    it.each<[string, Path]>([
      ['\t\n\r\f\v/foo', ['foo']],
      ['/foo \t\r\n', ['foo']],
      ['\u001c\u001d\u001e\u001f/foo', ['foo']],
      ['\u2003/foo\u3000', ['foo']], // Unicode space separators are Java whitespace
      ['\u2028/foo\u2029', ['foo']],
      ['# a comment\n/foo', ['foo']],
      ['/foo # a comment', ['foo']],
      ['/foo #', ['foo']],
      ['# one\n  # two\n/foo # three\n', ['foo']],
      ['/foo\t#c\r\n', ['foo']],
    ])('skips them in %j', (text, want) => {
      expect(parsePath(text)).toEqual(want);
    });

    it('does not treat non-breaking spaces as whitespace (Java Character.isWhitespace)', () => {
      for (const nbsp of ['\u00a0', '\u2007', '\u202f']) {
        expect(() => parsePath(`${nbsp}/foo`)).toThrow(DtabSyntaxError);
      }
      expect(() => parsePath('\u0085/foo')).toThrow(DtabSyntaxError); // NEL is not either
    });

    it('treats # inside a label as an ordinary char, so a comment needs a delimiter before it', () => {
      expect(parsePath('/foo#bar')).toEqual(['foo#bar']);
      expect(parsePath('/foo #bar')).toEqual(['foo']);
    });
  });

  describe('errors', () => {
    it.each<[string, string]>([
      ['invalid-param', "'/' expected but 'i' found at '[i]nvalid-param'"],
      ['/foo^bar', "end of input expected but '^' found at '/foo[^]bar'"],
      ['', "'/' expected but end of input found at '[]'"],
      ['   ', "'/' expected but end of input found at '   []'"],
      ['#', "'/' expected but end of input found at '#[]'"],
      ['foo', "'/' expected but 'f' found at '[f]oo'"],
      ['/foo/bar/', "label char expected but end of input found at '/foo/bar/[]'"],
      ['/foo/', "label char expected but end of input found at '/foo/[]'"],
      ['//', "end of input expected but '/' found at '/[/]'"],
      ['/foo//bar', "label char expected but '/' found at '/foo/[/]bar'"],
      ['/{}', "end of input expected but '{' found at '/[{]}'"],
      ['/\\?', "'x' expected but '?' found at '/\\[?]'"],
      ['/\\x?', "hex char expected but '?' found at '/\\x[?]'"],
      ['/\\x0?', "hex char expected but '?' found at '/\\x0[?]'"],
      ['/\\X41', "'x' expected but 'X' found at '/\\[X]41'"],
      ['/\\x4', "hex char expected but end of input found at '/\\x4[]'"],
      ['/a\\', "'x' expected but end of input found at '/a\\[]'"],
      ['/\\xg0', "hex char expected but 'g' found at '/\\x[g]0'"],
      ['/*', "end of input expected but '*' found at '/[*]'"],
      ['/foo*', "end of input expected but '*' found at '/foo[*]'"],
      ['/a b', "end of input expected but 'b' found at '/a [b]'"],
      ['/a/ b', "label char expected but ' ' found at '/a/[ ]b'"],
      ['/a~', "end of input expected but '~' found at '/a[~]'"],
      ['/a,b', "end of input expected but ',' found at '/a[,]b'"],
      ['/a=b', "end of input expected but '=' found at '/a[=]b'"],
      ['/a;', "end of input expected but ';' found at '/a[;]'"],
      ['/a|b', "end of input expected but '|' found at '/a[|]b'"],
      ['/a&b', "end of input expected but '&' found at '/a[&]b'"],
      ['/a!', "end of input expected but '!' found at '/a[!]'"],
      ['/a+b', "end of input expected but '+' found at '/a[+]b'"],
      ['/a@b', "end of input expected but '@' found at '/a[@]b'"],
      ['~', "'/' expected but '~' found at '[~]'"],
      ['/é', "end of input expected but 'é' found at '/[é]'"],
      ['/caf\u00e9', "end of input expected but 'é' found at '/caf[é]'"],
      ['/foo/\u00e9', "label char expected but 'é' found at '/foo/[é]'"],
      ['/\u00a0', "end of input expected but '\u00a0' found at '/[\u00a0]'"],
      // Like Finagle, which reads UTF-16 chars: an astral character is reported half by half.
      ['/\u{1f600}', "end of input expected but '\ud83d' found at '/[\ud83d]\ude00'"],
    ])('%j fails with %j', (text, message) => {
      expect(parseError(text).message).toBe(message);
    });

    it('throws DtabSyntaxError, a TurnoutError with code dtab_syntax and the offending index', () => {
      const e = parseError('/foo^bar');
      expect(e).toBeInstanceOf(TurnoutError);
      expect(e.name).toBe('DtabSyntaxError');
      expect(e.code).toBe('dtab_syntax');
      expect(e.index).toBe(4);
      expect(parseError('/foo/').index).toBe(5);
      expect(parseError('').index).toBe(0);
    });

    it('requires non-ASCII text to be written as \\xNN escapes of its UTF-8 bytes', () => {
      expect(() => parsePath('/été')).toThrow(DtabSyntaxError);
      expect(parsePath('/\\xc3\\xa9t\\xc3\\xa9')).toEqual(utf8Path('été'));
    });
  });
});

describe('showElem', () => {
  it.each<[string, string]>([
    ['foo', 'foo'],
    [SHOWABLE, SHOWABLE],
    ['a b', '\\x61\\x20\\x62'],
    ['\x00', '\\x00'],
    ['\xff', '\\xff'],
    ['A\x7f', '\\x41\\x7f'],
    ['*', '\\x2a'],
    ['a/b', '\\x61\\x2f\\x62'],
    ['\xc3\xa9', '\\xc3\\xa9'],
    ['\xab\xcd\xef', '\\xab\\xcd\\xef'],
  ])('shows %j as %j (all bytes as-is, or every byte as lowercase \\xNN)', (elem, shown) => {
    expect(showElem(elem)).toBe(shown);
  });
});

describe('showPath', () => {
  it.each<[Path, string]>([
    [[], '/'],
    [['foo'], '/foo'],
    [['foo', 'bar'], '/foo/bar'],
    [['$', 'inet', '127.0.0.1', '8080'], '/$/inet/127.0.0.1/8080'],
    [['ok', 'a b', 'ok'], '/ok/\\x61\\x20\\x62/ok'],
    [['#', 's##'], '/#/s##'],
  ])('shows %j as %j', (path, shown) => {
    expect(showPath(path)).toBe(shown);
  });

  it.each<[string, string]>([
    ['/foo/bar', '/foo/bar'],
    ['  /foo/bar  # comment', '/foo/bar'],
    ['/\\x66\\x6f\\x6F', '/foo'],
    ['/\\x41', '/A'],
    ['/\\x2a', '/\\x2a'],
    ['/a\\x20b', '/\\x61\\x20\\x62'],
    ['/\\xFF', '/\\xff'],
    ['/\\x2D\\x5f', '/-_'],
    ['/\\x2f', '/\\x2f'],
  ])('normalises %j to %j when parsed then shown', (text, shown) => {
    expect(showPath(parsePath(text))).toBe(shown);
  });
});
