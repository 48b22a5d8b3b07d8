// Specification tests for request-context extraction (src/routing/context.ts).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ContextHeaders, RequestContext } from '../../src/routing/context.js';
import { extractContext, isValidName, nameProblem } from '../../src/routing/context.js';

const NAME_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

function context(headers: ContextHeaders): RequestContext {
  const result = extractContext(headers);
  if (!result.ok) throw new Error(`expected ok, got ${result.error.message}`);
  return result.context;
}

describe('isValidName', () => {
  it.each<[string, boolean]>([
    ['a', true],
    ['0', true],
    ['t-42', true],
    ['shop', true],
    ['a--b', true],
    ['a'.repeat(63), true],
    ['a'.repeat(64), false],
    ['', false],
    ['-a', false],
    ['a-', false],
    ['-', false],
    ['T-42', false],
    ['t_42', false],
    ['t.42', false],
    ['t 42', false],
    ['é', false],
  ])('isValidName(%j) is %s', (name, valid) => {
    expect(isValidName(name)).toBe(valid);
  });

  it('agrees with the reference regular expression', () => {
    const nameish = fc.string({ unit: fc.constantFrom('a', 'z', '0', '9', '-', 'A', '_', '.') });
    fc.assert(
      fc.property(fc.oneof(nameish, fc.string({ maxLength: 70 })), (s) => {
        expect(isValidName(s)).toBe(NAME_RE.test(s));
      }),
    );
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('a', '-'), minLength: 60, maxLength: 66 }),
        (s) => {
          expect(isValidName(s)).toBe(NAME_RE.test(s));
        },
      ),
    );
  });

  it.each<[string, string]>([
    ['', 'is empty'],
    ['a'.repeat(64), 'longer than 63'],
    ['Shop', 'lowercase letters, digits and hyphens'],
    ['-a', 'start and end'],
  ])('nameProblem(%j) explains the reason', (name, reason) => {
    expect(nameProblem(name)).toContain(reason);
  });
});

describe('extractContext', () => {
  it.each<[string, ContextHeaders]>([
    ['no headers', {}],
    ['undefined headers', { baggage: undefined, 'x-turnout-lane': undefined }],
    ['empty headers', { baggage: '', 'x-turnout-lane': '' }],
  ])('returns the shared frozen empty result for %s', (_name, headers) => {
    const a = extractContext(headers);
    expect(a).toEqual({ ok: true, context: { product: null, lane: null, source: 'none' } });
    expect(a).toBe(extractContext({}));
    expect(Object.isFrozen(a)).toBe(true);
    expect(a.ok && Object.isFrozen(a.context)).toBe(true);
  });

  it.each<[string, ContextHeaders, RequestContext]>([
    [
      'product and lane from baggage',
      { baggage: 'turnout-product=shop,turnout-lane=t-42' },
      { product: 'shop', lane: 't-42', source: 'baggage' },
    ],
    [
      'a product alone from baggage',
      { baggage: 'turnout-product=shop' },
      { product: 'shop', lane: null, source: 'baggage' },
    ],
    [
      'the lane header alone',
      { 'x-turnout-lane': 't-42' },
      { product: null, lane: 't-42', source: 'header' },
    ],
    [
      'the lane header winning over the baggage lane',
      { baggage: 'turnout-product=shop,turnout-lane=t-1', 'x-turnout-lane': 't-2' },
      { product: 'shop', lane: 't-2', source: 'header' },
    ],
    [
      'the lane header winning over an invalid baggage lane (ignored, not validated)',
      { baggage: 'turnout-lane=NOT_VALID', 'x-turnout-lane': 't-2' },
      { product: null, lane: 't-2', source: 'header' },
    ],
    [
      'the baggage lane when the lane header is empty',
      { baggage: 'turnout-lane=t-1', 'x-turnout-lane': '' },
      { product: null, lane: 't-1', source: 'baggage' },
    ],
    [
      'foreign members ignored',
      { baggage: 'userId=alice;p, turnout-lane=t-1 ,isProduction=false' },
      { product: null, lane: 't-1', source: 'baggage' },
    ],
    [
      'percent-encoded member values decoded',
      { baggage: 'turnout-lane=t%2D1' },
      { product: null, lane: 't-1', source: 'baggage' },
    ],
    [
      'the last of duplicate members',
      { baggage: 'turnout-lane=a,turnout-lane=b' },
      { product: null, lane: 'b', source: 'baggage' },
    ],
    [
      'empty baggage values as absent',
      { baggage: 'turnout-product=,turnout-lane=' },
      { product: null, lane: null, source: 'none' },
    ],
    [
      'baggage without Turnout members',
      { baggage: 'userId=alice' },
      { product: null, lane: null, source: 'none' },
    ],
  ])('reads %s', (_name, headers, expected) => {
    expect(context(headers)).toEqual(expected);
  });

  it.each<[string, ContextHeaders, string, string, string]>([
    [
      'an upper-case lane header',
      { 'x-turnout-lane': 'T-42' },
      'invalid_lane',
      'x-turnout-lane',
      'lowercase',
    ],
    [
      'a lane header joined by Node',
      { 'x-turnout-lane': 't-1, t-2' },
      'invalid_lane',
      'x-turnout-lane',
      'lowercase',
    ],
    [
      'a lane header with a leading hyphen',
      { 'x-turnout-lane': '-t' },
      'invalid_lane',
      'x-turnout-lane',
      'start and end',
    ],
    [
      'a too-long lane header',
      { 'x-turnout-lane': 'a'.repeat(64) },
      'invalid_lane',
      'x-turnout-lane',
      'longer than 63',
    ],
    [
      'an invalid baggage lane',
      { baggage: 'turnout-lane=t_1' },
      'invalid_lane',
      'baggage.turnout-lane',
      'lowercase',
    ],
    [
      'a baggage lane decoding to an invalid name',
      { baggage: 'turnout-lane=t%201' },
      'invalid_lane',
      'baggage.turnout-lane',
      'lowercase',
    ],
    [
      'an invalid baggage product',
      { baggage: 'turnout-product=Shop' },
      'invalid_product',
      'baggage.turnout-product',
      'lowercase',
    ],
    [
      'an invalid baggage product even with a valid lane header',
      { baggage: 'turnout-product=-shop', 'x-turnout-lane': 't-1' },
      'invalid_product',
      'baggage.turnout-product',
      'start and end',
    ],
    [
      'malformed baggage',
      { baggage: 'turnout-lane=t-1,oops' },
      'baggage_malformed',
      'baggage',
      'list-member 2',
    ],
    [
      'malformed baggage even with a valid lane header',
      { baggage: 'a=%zz', 'x-turnout-lane': 't-1' },
      'baggage_malformed',
      'baggage',
      'percent-escape',
    ],
    [
      'oversized baggage',
      { baggage: `a=${'v'.repeat(9000)}` },
      'baggage_too_large',
      'baggage',
      '8192',
    ],
  ])('rejects %s', (_name, headers, code, field, reason) => {
    const result = extractContext(headers);
    expect(result).toMatchObject({ ok: false, error: { code, field } });
    if (!result.ok) expect(result.error.message).toContain(reason);
  });

  it('quotes and truncates hostile values in error messages', () => {
    const result = extractContext({ 'x-turnout-lane': `\n${'x'.repeat(500)}` });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.message).toContain('"\\nxxx');
      expect(result.error.message.length).toBeLessThan(200);
    }
  });

  it('never throws on random headers', () => {
    const header = fc.option(fc.oneof(fc.string(), fc.string({ unit: 'binary' })), {
      nil: undefined,
    });
    fc.assert(
      fc.property(header, header, (baggage, lane) => {
        const result = extractContext({ baggage, 'x-turnout-lane': lane });
        if (result.ok) {
          const { product, lane: l } = result.context;
          expect(product === null || isValidName(product)).toBe(true);
          expect(l === null || isValidName(l)).toBe(true);
        }
      }),
    );
  });
});

describe('extractContext and invalid UTF-8', () => {
  it('rejects a turnout-lane that decodes to replacement characters', () => {
    expect(extractContext({ baggage: 'turnout-lane=t%ff' })).toMatchObject({
      ok: false,
      error: { code: 'invalid_lane', field: 'baggage.turnout-lane' },
    });
  });
});
