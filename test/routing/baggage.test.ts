// Specification tests for the W3C Baggage parser/serialiser (src/routing/baggage.ts).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BaggageMember } from '../../src/routing/baggage.js';
import {
  encodeBaggageValue,
  MAX_BAGGAGE_BYTES,
  MAX_BAGGAGE_MEMBERS,
  parseBaggage,
  readTurnoutBaggage,
  serializeBaggage,
  withTurnoutContext,
} from '../../src/routing/baggage.js';

const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const tokenArb = fc.string({ unit: fc.constantFrom(...TCHARS), minLength: 1, maxLength: 12 });

function m(key: string, value: string, properties: string[] = []): BaggageMember {
  return { key, value, properties };
}

function members(header: string | undefined): BaggageMember[] {
  const result = parseBaggage(header);
  if (!result.ok) throw new Error(`expected ok, got ${result.error.message}`);
  return result.members;
}

function errorCode(header: string): string | undefined {
  const result = parseBaggage(header);
  return result.ok ? undefined : result.error.code;
}

/** n members `k0=v,k1=v,...`. */
function manyMembers(n: number): string {
  return Array.from({ length: n }, (_, i) => `k${i}=v`).join(',');
}

describe('parseBaggage', () => {
  it.each<[string, string | undefined, BaggageMember[]]>([
    ['a missing header', undefined, []],
    ['an empty header', '', []],
    ['a blank header', ' \t ', []],
    [
      'the spec example with properties',
      'key1=value1;property1;property2, key2 = value2, key3=value3; propertyKey=propertyValue',
      [
        m('key1', 'value1', ['property1', 'property2']),
        m('key2', 'value2'),
        m('key3', 'value3', ['propertyKey=propertyValue']),
      ],
    ],
    [
      'the spec example of percent-encoded values',
      'userId=alice,serverNode=DF%2028,isProduction=false',
      [m('userId', 'alice'), m('serverNode', 'DF 28'), m('isProduction', 'false')],
    ],
    [
      'a Turnout context',
      'turnout-product=shop,turnout-lane=t-42',
      [m('turnout-product', 'shop'), m('turnout-lane', 't-42')],
    ],
  ])('parses %s', (_name, header, expected) => {
    expect(members(header)).toEqual(expected);
  });

  it.each<[string, string, BaggageMember[]]>([
    ['around commas', 'a=1 ,\tb=2', [m('a', '1'), m('b', '2')]],
    ['around "="', 'a \t= 1', [m('a', '1')]],
    ['around ";" and property "="', 'a=1 ; p = v ;\tq', [m('a', '1', ['p = v', 'q'])]],
    ['leading and trailing', '  a=1  ', [m('a', '1')]],
    ['from Node joining repeated headers with ", "', 'a=1, b=2', [m('a', '1'), m('b', '2')]],
  ])('accepts optional whitespace %s', (_name, header, expected) => {
    expect(members(header)).toEqual(expected);
  });

  it.each<[string, string, BaggageMember[]]>([
    ['in the middle', 'a=1,,b=2', [m('a', '1'), m('b', '2')]],
    ['with whitespace', 'a=1, ,\t, b=2', [m('a', '1'), m('b', '2')]],
    ['leading (empty first header joined by Node)', ', a=1', [m('a', '1')]],
    ['trailing', 'a=1,', [m('a', '1')]],
    ['only', ',,,', []],
  ])('ignores empty list-members %s (RFC 7230 §7)', (_name, header, expected) => {
    expect(members(header)).toEqual(expected);
  });

  it.each<[string, string, string]>([
    ['a space', 'a=%20', ' '],
    ['a two-byte character', 'a=%C3%A9', 'é'],
    ['a three-byte character', 'a=%E2%82%AC', '€'],
    ['a four-byte character', 'a=%F0%9F%98%80', '😀'],
    ['lowercase hex', 'a=%c3%a9', 'é'],
    ['an escaped percent sign', 'a=100%25', '100%'],
    ['escaped delimiters', 'a=%2C%3B%22%5C', ',;"\\'],
    ['a plus sign left alone', 'a=1+1', '1+1'],
    ['an "=" inside the value', 'a=b=c', 'b=c'],
    ['an empty value', 'a=', ''],
  ])('percent-decodes UTF-8 values: %s', (_name, header, value) => {
    expect(members(header)).toEqual([m('a', value)]);
  });

  it('keeps property text raw (not decoded)', () => {
    expect(members('a=1;p=%20x;%zz')).toEqual([m('a', '1', ['p=%20x', '%zz'])]);
  });

  it('keeps duplicate keys in order', () => {
    expect(members('a=1,a=2')).toEqual([m('a', '1'), m('a', '2')]);
  });

  it.each<[string, string]>([
    ['no "="', 'a'],
    ['no key', '=1'],
    ['a space inside the key', 'a b=1'],
    ['a non-token key character "@"', 'k@y=1'],
    ['a non-token key character "/"', 'a/b=1'],
    ['a non-ASCII key', 'clé=1'],
    ['a space inside the value', 'a=1 2'],
    ['a double quote in the value', 'a="x"'],
    ['a backslash in the value', 'a=x\\y'],
    ['a control character in the value', 'a=x\u0001'],
    ['a raw non-ASCII value', 'a=é'],
    ['an empty property', 'a=1;'],
    ['an empty property between others', 'a=1;;p'],
    ['a property without a key', 'a=1;=v'],
    ['a truncated escape', 'a=%4'],
    ['a lone percent sign', 'a=100%'],
    ['a non-hex escape', 'a=%zz'],
    ['one bad member among good ones', 'a=1,b c=2,d=3'],
  ])('rejects the whole header as malformed for %s', (_name, header) => {
    expect(parseBaggage(header)).toMatchObject({
      ok: false,
      error: { code: 'baggage_malformed', field: 'baggage', message: expect.any(String) },
    });
  });

  it('names the member and position in the error message', () => {
    const result = parseBaggage('a=1,b=%zz');
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.message).toContain('list-member 2');
      expect(result.error.message).toContain('offset 6');
    }
  });

  it.each<[string, string, string | undefined]>([
    [`${MAX_BAGGAGE_MEMBERS} members`, manyMembers(MAX_BAGGAGE_MEMBERS), undefined],
    [
      `${MAX_BAGGAGE_MEMBERS + 1} members`,
      manyMembers(MAX_BAGGAGE_MEMBERS + 1),
      'baggage_too_large',
    ],
    [
      `${MAX_BAGGAGE_MEMBERS} members plus empty ones`,
      `,${manyMembers(MAX_BAGGAGE_MEMBERS)},,`,
      undefined,
    ],
    [`${MAX_BAGGAGE_BYTES} bytes`, `k=${'v'.repeat(MAX_BAGGAGE_BYTES - 2)}`, undefined],
    [
      `${MAX_BAGGAGE_BYTES + 1} bytes`,
      `k=${'v'.repeat(MAX_BAGGAGE_BYTES - 1)}`,
      'baggage_too_large',
    ],
    ['a huge header of garbage', '"'.repeat(100_000), 'baggage_too_large'],
  ])('enforces the spec limits: %s', (_name, header, code) => {
    expect(errorCode(header)).toBe(code);
  });

  it('never throws on random strings', () => {
    const units = ['grapheme', 'binary', 'binary-ascii', 'grapheme-ascii'] as const;
    for (const unit of units) {
      fc.assert(
        fc.property(fc.string({ unit }), (s) => {
          const result = parseBaggage(s);
          expect(typeof result.ok).toBe('boolean');
        }),
      );
    }
  });

  it('never throws on strings built from baggage delimiters and escapes', () => {
    const piece = fc.constantFrom(
      'a',
      'k-1',
      '=',
      ',',
      ';',
      ' ',
      '\t',
      '%',
      '%2',
      '%41',
      '%ff',
      '%C3',
      '"',
      'é',
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), (parts) => {
        const result = parseBaggage(parts.join(''));
        if (result.ok) expect(serializeBaggage(result.members)).toBeTypeOf('string');
      }),
    );
  });
});

describe('serializeBaggage', () => {
  it.each<[string, BaggageMember[], string]>([
    ['no members', [], ''],
    ['plain members', [m('a', '1'), m('b', 't-42')], 'a=1,b=t-42'],
    ['properties', [m('a', '1', ['p', 'q=v'])], 'a=1;p;q=v'],
    ['a space and delimiters', [m('a', ' ,;"\\')], 'a=%20%2C%3B%22%5C'],
    ['a percent sign', [m('a', '100%')], 'a=100%25'],
    ['non-ASCII as UTF-8', [m('a', 'é€😀')], 'a=%C3%A9%E2%82%AC%F0%9F%98%80'],
    ['a control character', [m('a', '\n')], 'a=%0A'],
    ['a lone surrogate as U+FFFD', [m('a', '\ud800')], 'a=%EF%BF%BD'],
    [
      'baggage-octets left alone',
      [m('a', "!#$&'()*+-./:<=>?@[]^_`{|}~")],
      "a=!#$&'()*+-./:<=>?@[]^_`{|}~",
    ],
  ])('serialises %s', (_name, input, expected) => {
    expect(serializeBaggage(input)).toBe(expected);
  });

  it.each<[string, BaggageMember]>([
    ['an empty key', m('', '1')],
    ['a key with a space', m('a b', '1')],
    ['a key with "="', m('a=b', '1')],
    ['an empty property', m('a', '1', [''])],
    ['a property with ","', m('a', '1', ['p,q'])],
    ['a property with a bad value', m('a', '1', ['p=x y'])],
  ])('throws a RangeError for %s', (_name, member) => {
    expect(() => serializeBaggage([member])).toThrow(RangeError);
  });

  it('returns the same string when a value needs no encoding', () => {
    const value = 't-42';
    expect(encodeBaggageValue(value)).toBe(value);
  });

  it('round-trips keys and values through parseBaggage', () => {
    const memberArb = fc.record({
      key: tokenArb,
      value: fc.oneof(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' })),
      properties: fc.array(
        fc.oneof(
          tokenArb,
          fc.tuple(tokenArb, tokenArb).map(([k, v]) => `${k}=${v}`),
        ),
        { maxLength: 3 },
      ),
    });
    fc.assert(
      fc.property(fc.array(memberArb, { maxLength: 8 }), (ms) => {
        expect(members(serializeBaggage(ms))).toEqual(ms);
      }),
    );
  });
});

describe('withTurnoutContext', () => {
  it.each<[string, string | undefined, { product?: string; lane?: string }, string]>([
    ['no header and no context', undefined, {}, ''],
    [
      'no header',
      undefined,
      { product: 'shop', lane: 't-42' },
      'turnout-product=shop,turnout-lane=t-42',
    ],
    ['only a lane', '', { lane: 't-42' }, 'turnout-lane=t-42'],
    ['empty context values (treated as absent)', 'a=1', { product: '', lane: '' }, 'a=1'],
    [
      'foreign members, preserved verbatim with their whitespace and encoding',
      'a = %41 ;p ,b=x%2Cy',
      { lane: 't-1' },
      'a = %41 ;p,b=x%2Cy,turnout-lane=t-1',
    ],
    [
      'existing Turnout members, replaced and appended last',
      'turnout-lane=old,a=1,turnout-product=old;p,b=2',
      { product: 'shop', lane: 'new' },
      'a=1,b=2,turnout-product=shop,turnout-lane=new',
    ],
    [
      'duplicate Turnout members, all removed',
      'turnout-lane=x,turnout-lane=y',
      { lane: 'z' },
      'turnout-lane=z',
    ],
    [
      'a Turnout key missing from ctx, dropped rather than kept stale',
      'turnout-product=old,turnout-lane=old',
      { lane: 't-2' },
      'turnout-lane=t-2',
    ],
    ['nothing left', 'turnout-lane=old', {}, ''],
    ['empty list-members, dropped', 'a=1,,b=2', {}, 'a=1,b=2'],
    ['a malformed header, keeping nothing from it', 'a=1,b c', { lane: 't-1' }, 'turnout-lane=t-1'],
    ['a foreign member with invalid UTF-8, kept verbatim', 'a=%ff', {}, 'a=%ff'],
    ['a value needing encoding', undefined, { lane: 'x y' }, 'turnout-lane=x%20y'],
    [
      'a similar but foreign key, kept',
      'turnout-lanes=1',
      { lane: 'a' },
      'turnout-lanes=1,turnout-lane=a',
    ],
  ])('handles %s', (_name, header, ctx, expected) => {
    expect(withTurnoutContext(header, ctx)).toBe(expected);
  });

  it('drops foreign members from the end to stay within the member limit', () => {
    const out = withTurnoutContext(manyMembers(MAX_BAGGAGE_MEMBERS), { product: 'p', lane: 'l' });
    const parsed = members(out);
    expect(parsed).toHaveLength(MAX_BAGGAGE_MEMBERS);
    expect(parsed.slice(-3).map((x) => x.key)).toEqual([
      `k${MAX_BAGGAGE_MEMBERS - 3}`,
      'turnout-product',
      'turnout-lane',
    ]);
  });

  it('drops foreign members from the end to stay within the byte limit', () => {
    const header = `a=1,big=${'v'.repeat(MAX_BAGGAGE_BYTES - 20)},c=3`;
    expect(header.length).toBeLessThanOrEqual(MAX_BAGGAGE_BYTES);
    const out = withTurnoutContext(header, { lane: 't-42' });
    expect(out.length).toBeLessThanOrEqual(MAX_BAGGAGE_BYTES);
    expect(members(out).map((x) => x.key)).toEqual(['a', 'turnout-lane']);
  });

  it.each<[string, { product?: string; lane?: string }, string]>([
    ['the exact context, passed on as it came', { product: 'shop', lane: 't-42' }, 'same'],
    ['the exact product alone', { product: 'shop' }, 'same'],
    ['a lane the header lacks', { product: 'shop', lane: 't-1' }, 'rebuilt'],
    ['a shorter product', { product: 'sho' }, 'rebuilt'],
    ['a value that needs encoding', { product: 'a%b' }, 'rebuilt'],
  ])('on %s: the same answer as rebuilding it from a foreign-free header', (_n, ctx, how) => {
    const exact = ctx.lane === undefined ? `turnout-product=${ctx.product}` : undefined;
    const header =
      how === 'same'
        ? (exact ?? `turnout-product=${ctx.product},turnout-lane=${ctx.lane}`)
        : ctx.product === 'a%b'
          ? 'turnout-product=a%b'
          : 'turnout-product=shop';
    const rebuilt = serializeBaggage(
      [
        ['turnout-product', ctx.product],
        ['turnout-lane', ctx.lane],
      ]
        .filter((m): m is [string, string] => m[1] !== undefined)
        .map(([key, value]) => ({ key, value, properties: [] })),
    );
    expect(withTurnoutContext(header, ctx)).toBe(rebuilt);
    if (how === 'same') expect(withTurnoutContext(header, ctx)).toBe(header);
  });

  it('always yields a parseable header with exactly the given context', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme-ascii' }),
        fc.option(fc.string({ unit: 'grapheme', minLength: 1 }), { nil: undefined }),
        fc.option(fc.string({ unit: 'grapheme', minLength: 1 }), { nil: undefined }),
        (header, product, lane) => {
          const out = withTurnoutContext(header, { product, lane });
          const turnout = readTurnoutBaggage(out);
          expect(turnout).toEqual({ ok: true, product, lane });
        },
      ),
    );
  });
});

describe('readTurnoutBaggage', () => {
  it.each<[string, string | undefined, { product: string | undefined; lane: string | undefined }]>([
    ['nothing from no header', undefined, { product: undefined, lane: undefined }],
    [
      'both members',
      'a=1,turnout-product=shop,turnout-lane=t-42',
      { product: 'shop', lane: 't-42' },
    ],
    [
      'the last of duplicate members',
      'turnout-lane=a,turnout-lane=b',
      { product: undefined, lane: 'b' },
    ],
    ['decoded values', 'turnout-lane=t%2D1', { product: undefined, lane: 't-1' }],
  ])('reads %s', (_name, header, expected) => {
    expect(readTurnoutBaggage(header)).toEqual({ ok: true, ...expected });
  });

  it('rejects a header that parseBaggage rejects', () => {
    expect(readTurnoutBaggage('turnout-lane=a,x')).toMatchObject({
      ok: false,
      error: { code: 'baggage_malformed' },
    });
  });
});

describe('parseBaggage and invalid UTF-8', () => {
  it.each([
    ['a stray byte', 'a=%ff', '\ufffd'],
    ['a lone continuation byte', 'a=%80', '\ufffd'],
    ['a truncated sequence', 'a=x%C3', 'x\ufffd'],
    ['an overlong encoding', 'a=%C0%AF', '\ufffd\ufffd'],
    ['valid bytes around a bad one', 'a=%C3%A9%ff%C3%A9', '\u00e9\ufffd\u00e9'],
  ])('replaces %s with U+FFFD as the spec requires', (_name, header, value) => {
    const r = parseBaggage(header);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.members[0]?.value).toBe(value);
  });
});
