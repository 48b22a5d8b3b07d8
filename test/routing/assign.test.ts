// Specs for edge lane assignment (src/routing/assign.ts) and its sticky-percentage hash
// (src/routing/hash.ts): match kinds, rule order, explanations, stickiness and distribution.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TurnoutError } from '../../src/errors.js';
import type {
  CompiledLaneRules,
  EdgeRequest,
  LaneAssignment,
  LaneExplanation,
} from '../../src/routing/assign.js';
import {
  assignLane,
  compileLaneRules,
  explainLaneAssignment,
  MAX_REGEX_INPUT,
  PERCENT_BUCKETS,
  parseCookieHeader,
} from '../../src/routing/assign.js';
import { MAX_BUCKETS, stableBucket, stableHash32 } from '../../src/routing/hash.js';
import type { LaneRule } from '../../src/routing/lane-rules.js';
import { laneRulesSchema } from '../../src/routing/lane-rules.js';

/** Rules go through the schema first, as they do when a snapshot is loaded. */
function compile(rules: unknown[]): CompiledLaneRules {
  return compileLaneRules(laneRulesSchema.parse(rules));
}

/** From a trusted hop unless said otherwise: these specs are about matching (trust has its own). */
function request(opts: Partial<EdgeRequest> = {}): EdgeRequest {
  return { headers: {}, query: '', clientAddress: '203.0.113.7', trustedHop: true, ...opts };
}

const STABLE: LaneAssignment = { lane: null, ruleIndex: null, reason: 'no rule matched' };

/** The assignment part of an explanation, to compare with what assignLane returns. */
function assignmentOf({ lane, ruleIndex, reason }: LaneExplanation): LaneAssignment {
  return { lane, ruleIndex, reason };
}

describe('assignLane', () => {
  describe('header rules', () => {
    const equals = compile([{ lane: 't-42', header: { name: 'X-User-Tier', equals: 'internal' } }]);
    const regex = compile([
      { lane: 't-42', header: { name: 'x-user-tier', regex: '^(staff|internal)$' } },
    ]);

    it.each<[string, CompiledLaneRules, EdgeRequest['headers'], boolean]>([
      ['equal value', equals, { 'x-user-tier': 'internal' }, true],
      ['different value', equals, { 'x-user-tier': 'external' }, false],
      ['value differing in case', equals, { 'x-user-tier': 'Internal' }, false],
      ['value with a suffix', equals, { 'x-user-tier': 'internal2' }, false],
      ['empty value', equals, { 'x-user-tier': '' }, false],
      ['absent header', equals, { 'x-other': 'internal' }, false],
      ['undefined header', equals, { 'x-user-tier': undefined }, false],
      [
        'duplicates kept as an array: the first counts',
        equals,
        { 'x-user-tier': ['internal', 'x'] },
        true,
      ],
      [
        'duplicates kept as an array: only the first',
        equals,
        { 'x-user-tier': ['x', 'internal'] },
        false,
      ],
      ['empty array', equals, { 'x-user-tier': [] }, false],
      ['regex match', regex, { 'x-user-tier': 'staff' }, true],
      ['regex miss', regex, { 'x-user-tier': 'staffer' }, false],
      ['regex on an absent header', regex, {}, false],
    ])('%s → matched %s', (_name, compiled, headers, matched) => {
      expect(assignLane(compiled, request({ headers })).lane).toBe(matched ? 't-42' : null);
    });

    it('says which rule matched and why', () => {
      const compiled = compile([
        { lane: 'a', cidr: '10.0.0.0/8' },
        { lane: 'b', query: { name: 'x', equals: '1' } },
        { lane: 't-42', header: { name: 'x-user-tier', equals: 'internal' } },
      ]);
      expect(assignLane(compiled, request({ headers: { 'x-user-tier': 'internal' } }))).toEqual({
        lane: 't-42',
        ruleIndex: 2,
        reason: 'rule 2: header x-user-tier equals "internal"',
      });
      expect(assignLane(regex, request({ headers: { 'x-user-tier': 'staff' } })).reason).toBe(
        'rule 0: header x-user-tier matches /^(staff|internal)$/',
      );
    });

    it('searches unanchored, like every JavaScript regex', () => {
      const compiled = compile([
        { lane: 'a', header: { name: 'user-agent', regex: 'Firefox/1[0-9]{2}' } },
      ]);
      const ua = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
      expect(assignLane(compiled, request({ headers: { 'user-agent': ua } })).lane).toBe('a');
    });

    it(`does not try a regex on values longer than ${MAX_REGEX_INPUT} characters`, () => {
      const compiled = compile([{ lane: 'a', header: { name: 'x', regex: '^a+$' } }]);
      const at = (n: number) =>
        assignLane(compiled, request({ headers: { x: 'a'.repeat(n) } })).lane;
      expect(at(MAX_REGEX_INPUT)).toBe('a');
      expect(at(MAX_REGEX_INPUT + 1)).toBeNull();
    });

    // Regression (issue 11): `^(a+)+$` and a 28-byte header stalled a proxy for 2–12 s under V8's
    // backtracking engine, and each extra byte doubles that; at 1,000 bytes it would never end.
    // With RE2 semantics each of these is one linear pass, so the test finishes at all.
    it.each([
      ['^(a+)+$', 'a'.repeat(1000), `${'a'.repeat(999)}!`],
      ['^(a|a)*$', 'a'.repeat(1000), `${'a'.repeat(999)}!`],
      ['^(x+x+)+y$', `${'x'.repeat(998)}y`, 'x'.repeat(1000)],
      ['^(\\w+\\s?)*$', 'word '.repeat(200).trim(), `${'word '.repeat(199)}word!`],
    ])('matches %s in linear time, on values that would backtrack for ever', (re, hit, miss) => {
      const compiled = compile([{ lane: 'a', header: { name: 'x', regex: re } }]);
      const at = (value: string) => assignLane(compiled, request({ headers: { x: value } })).lane;
      expect(at(hit)).toBe('a');
      expect(at(miss)).toBeNull();
      const explained = explainLaneAssignment(compiled, request({ headers: { x: miss } }));
      expect(explained.lane).toBeNull();
    });

    it('ignores Object.prototype members when headers is a plain object', () => {
      const compiled = compile([
        { lane: 'a', header: { name: 'constructor', regex: '^' } },
        { lane: 'b', header: { name: '__proto__', regex: '^' } },
      ]);
      expect(assignLane(compiled, request())).toEqual(STABLE);
    });
  });

  describe('cookie rules', () => {
    const compiled = compile([
      { lane: 't-42', cookie: { name: 'beta', regex: '^(1|yes)$' } },
      { lane: 't-43', cookie: { name: 'Tier', equals: 'gold card' } },
    ]);
    const lane = (cookie: string | string[] | undefined) =>
      assignLane(compiled, request({ headers: { cookie } })).lane;

    it.each<[string, string | string[] | undefined, string | null]>([
      ['regex match', 'beta=yes', 't-42'],
      ['among other cookies', 'sid=abc; beta=1; theme=dark', 't-42'],
      ['regex miss', 'beta=no', null],
      ['quoted value', 'beta="1"', 't-42'],
      ['spaces around the pair', '  beta = 1 ;x=y', 't-42'],
      ['no space after ;', 'x=y;beta=1', 't-42'],
      ['duplicate name: the first wins', 'beta=no; beta=1', null],
      ['name is case-sensitive', 'Beta=1', null],
      ['name is not a substring match', 'xbeta=1; betax=1', null],
      ['value with =', 'Tier=gold card=x', null],
      ['equals match with a space in the value', 'Tier=gold card', 't-43'],
      ['no = in a piece is skipped', 'beta; beta=1', 't-42'],
      ['several cookie headers', ['sid=1', 'beta=1'], 't-42'],
      ['empty header', '', null],
      ['absent header', undefined, null],
    ])('%s (%j) → %s', (_name, cookie, expected) => {
      expect(lane(cookie)).toBe(expected);
    });

    it('parses the cookie header at most once per request, and only when needed', () => {
      let reads = 0;
      const headers = {
        'x-first': 'go',
        get cookie() {
          reads++;
          return 'a=1; b=2; c=3';
        },
      };
      const many = compile([
        { lane: 'a', cookie: { name: 'z', equals: '1' } },
        { lane: 'b', cookie: { name: 'y', equals: '1' } },
        { lane: 'c', percent: 100, key: { cookie: 'x' } },
        { lane: 'd', cookie: { name: 'c', equals: '3' } },
      ]);
      expect(assignLane(many, request({ headers })).lane).toBe('d');
      expect(reads).toBe(1);

      const headerFirst = compile([
        { lane: 'a', header: { name: 'x-first', equals: 'go' } },
        { lane: 'b', cookie: { name: 'a', equals: '1' } },
      ]);
      assignLane(headerFirst, request({ headers }));
      expect(reads).toBe(1);
    });
  });

  describe('parseCookieHeader', () => {
    it.each<[string, Record<string, string>]>([
      ['', {}],
      ['a=1', { a: '1' }],
      ['a=1; b=2', { a: '1', b: '2' }],
      ['a="x y"; b=""', { a: 'x y', b: '' }],
      ['a="', { a: '"' }],
      ['a=1; a=2', { a: '1' }],
      [' a = 1 ; ; =2; b', { a: '1' }],
      ['a=%41', { a: '%41' }],
      ['a=b=c', { a: 'b=c' }],
    ])('%j', (header, expected) => {
      expect(Object.fromEntries(parseCookieHeader(header))).toEqual(expected);
    });

    it('stays fast on a hostile header with no = in its pieces', () => {
      const header = `${'a;'.repeat(200_000)}b=1`;
      const start = performance.now();
      expect(parseCookieHeader(header).get('b')).toBe('1');
      expect(performance.now() - start).toBeLessThan(500);
    });
  });

  describe('query rules', () => {
    const compiled = compile([
      { lane: 't-42', query: { name: 'lane', equals: 't-42' } },
      { lane: 't-43', query: { name: 'who am i', equals: 'a b&c' } },
    ]);

    it.each<[string, string, string | null]>([
      ['equal value', 'lane=t-42', 't-42'],
      ['among other parameters', 'a=1&lane=t-42&b=2', 't-42'],
      ['different value', 'lane=t-4', null],
      ['percent-encoded value', 'lane=t%2D42', 't-42'],
      ['the first value counts', 'lane=x&lane=t-42', null],
      ['name is case-sensitive', 'Lane=t-42', null],
      ['decoded name and value, + as space', 'who+am%20i=a+b%26c', 't-43'],
      ['bad percent-encoding is kept as is', 'lane=%zz', null],
      ['empty query', '', null],
      ['absent parameter', 'x=1', null],
    ])('%s (%j) → %s', (_name, query, expected) => {
      expect(assignLane(compiled, request({ query })).lane).toBe(expected);
    });

    it('parses the query at most once per request', () => {
      let reads = 0;
      const req = {
        headers: {},
        clientAddress: '::1',
        trustedHop: true,
        get query() {
          reads++;
          return 'b=1';
        },
      };
      const many = compile([
        { lane: 'a', query: { name: 'a', equals: '1' } },
        { lane: 'b', query: { name: 'b', equals: '1' } },
      ]);
      expect(assignLane(many, req).lane).toBe('b');
      expect(reads).toBe(1);
    });
  });

  describe('cidr rules', () => {
    const compiled = compile([
      { lane: 'office', cidr: '10.0.0.0/8' },
      { lane: 'v6', cidr: '2001:db8::/32' },
      { lane: 'home', cidr: '198.51.100.7' },
    ]);

    it.each<[string, string | null]>([
      ['10.1.2.3', 'office'],
      ['::ffff:10.1.2.3', 'office'],
      ['11.0.0.1', null],
      ['2001:db8::1', 'v6'],
      ['2001:db9::1', null],
      ['198.51.100.7', 'home'],
      ['198.51.100.8', null],
      ['', null],
      ['unknown', null],
    ])('client %j → %s', (clientAddress, expected) => {
      expect(assignLane(compiled, request({ clientAddress })).lane).toBe(expected);
    });

    it('says which block matched', () => {
      expect(assignLane(compiled, request({ clientAddress: '10.9.9.9' })).reason).toBe(
        'rule 0: client address in 10.0.0.0/8',
      );
    });
  });

  describe('rule order', () => {
    const compiled = compile([
      { lane: 'first', header: { name: 'x-a', equals: '1' } },
      { lane: 'second', header: { name: 'x-b', equals: '1' } },
      { lane: 'third', cidr: '0.0.0.0/0' },
    ]);

    it.each<[string, EdgeRequest, number | null, string | null]>([
      ['first matching rule wins', request({ headers: { 'x-a': '1', 'x-b': '1' } }), 0, 'first'],
      [
        'a later rule matches when earlier ones do not',
        request({ headers: { 'x-b': '1' } }),
        1,
        'second',
      ],
      ['the last rule', request({ clientAddress: '1.2.3.4' }), 2, 'third'],
      ['no match → stable', request({ clientAddress: '::1' }), null, null],
    ])('%s', (_name, req, ruleIndex, lane) => {
      const result = assignLane(compiled, req);
      expect(result.ruleIndex).toBe(ruleIndex);
      expect(result.lane).toBe(lane);
    });

    it('no match → stable: lane null, ruleIndex null, "no rule matched"', () => {
      expect(assignLane(compiled, request({ clientAddress: '::1' }))).toEqual(STABLE);
    });

    it('no rules → stable', () => {
      expect(assignLane(compileLaneRules([]), request())).toEqual(STABLE);
    });
  });

  describe('compileLaneRules', () => {
    it.each<[string, LaneRule, string]>([
      [
        'a regex that does not compile',
        { lane: 'a', header: { name: 'x', regex: '(' } },
        'rules[0].header.regex',
      ],
      ['a CIDR that does not parse', { lane: 'a', cidr: '10.0.0.0/33' }, 'rules[0].cidr'],
    ])('rejects unvalidated rules with %s', (_name, rule, field) => {
      const error = (() => {
        try {
          compileLaneRules([rule]);
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(TurnoutError);
      expect(error).toMatchObject({ code: 'invalid_config', field });
    });

    it('lower-cases header names even when the schema was skipped', () => {
      const compiled = compileLaneRules([{ lane: 'a', header: { name: 'X-A', equals: '1' } }]);
      expect(assignLane(compiled, request({ headers: { 'x-a': '1' } })).lane).toBe('a');
    });
  });

  it('never throws, whatever the request', () => {
    const compiled = compile([
      { lane: 'a', header: { name: 'x-a', regex: '^(a|b)+$' } },
      { lane: 'b', cookie: { name: 'c', equals: 'x' } },
      { lane: 'c', query: { name: 'q', regex: '\\d' } },
      { lane: 'd', cidr: '10.0.0.0/8' },
      { lane: 'e', cidr: '2001:db8::/32' },
      { lane: 'f', percent: 50, key: { header: 'x-user-id' } },
      { lane: 'g', percent: 50, key: { cookie: 'uid' } },
    ]);
    const names = fc.oneof(
      fc.constantFrom('x-a', 'cookie', 'x-user-id', 'constructor', '__proto__', 'toString'),
      fc.string(),
    );
    const value = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary' }),
      fc.array(fc.string(), { maxLength: 3 }),
      fc.constant(undefined),
    );
    const headers = fc.dictionary(names, value, { maxKeys: 6 });
    const address = fc.oneof(
      fc.ipV4(),
      fc.ipV6(),
      fc.ipV4Extended(),
      fc.string(),
      fc.string({ unit: 'binary' }),
    );
    const query = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.webQueryParameters());
    fc.assert(
      fc.property(headers, query, address, (h, q, clientAddress) => {
        const req = request({ headers: h, query: q, clientAddress });
        const result = assignLane(compiled, req);
        expect(typeof result.reason).toBe('string');
        expect(assignmentOf(explainLaneAssignment(compiled, req))).toEqual(result);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('sticky percentage', () => {
  const KEYS = 100_000;
  const keys = Array.from({ length: KEYS }, (_, i) => `user-${i}`);

  function inLane(percent: number, lane = 't-42'): Set<string> {
    const compiled = compile([{ lane, percent, key: { header: 'x-user-id' } }]);
    const members = new Set<string>();
    for (const key of keys) {
      if (assignLane(compiled, request({ headers: { 'x-user-id': key } })).lane === lane)
        members.add(key);
    }
    return members;
  }

  it.each([1, 10, 50])(
    'puts %i %% of 100,000 keys in the lane, to within ±0.5 points',
    (percent) => {
      const share = (inLane(percent).size / KEYS) * 100;
      expect(Math.abs(share - percent)).toBeLessThanOrEqual(0.5);
    },
  );

  it('never moves a key out of the lane as the percentage grows (1 → 10 → 50 → 100)', () => {
    const steps = [1, 10, 50, 100].map((p) => inLane(p));
    for (let i = 1; i < steps.length; i++) {
      for (const key of steps[i - 1]!) expect(steps[i]!.has(key)).toBe(true);
    }
    expect(steps[3]!.size).toBe(KEYS);
  });

  it.each<[number, number]>([
    [0, 0],
    [100, KEYS],
  ])('percent %i matches %i of %i keys', (percent, expected) => {
    expect(inLane(percent).size).toBe(expected);
  });

  it('salts by lane, so different lanes sample different users', () => {
    const a = inLane(10, 'lane-a');
    const b = inLane(10, 'lane-b');
    let both = 0;
    for (const key of a) if (b.has(key)) both++;
    // Independent 10 % samples overlap on about 1 % of keys; the same sample would overlap on 10 %.
    expect((both / KEYS) * 100).toBeGreaterThan(0.7);
    expect((both / KEYS) * 100).toBeLessThan(1.3);
  });

  it('honours basis points (0.29 % is 29 buckets, despite floating point)', () => {
    const compiled = compile([{ lane: 'a', percent: 0.29, key: { header: 'x-user-id' } }]);
    const bucketOf = (key: string) => stableBucket(key, 'a', PERCENT_BUCKETS);
    const at28 = keys.find((k) => bucketOf(k) === 28)!;
    const at29 = keys.find((k) => bucketOf(k) === 29)!;
    expect(assignLane(compiled, request({ headers: { 'x-user-id': at28 } })).lane).toBe('a');
    expect(assignLane(compiled, request({ headers: { 'x-user-id': at29 } })).lane).toBeNull();
  });

  it('says the bucket in the reason', () => {
    const compiled = compile([{ lane: 't-42', percent: 10, key: { header: 'x-user-id' } }]);
    const key = keys.find((k) => stableBucket(k, 't-42', PERCENT_BUCKETS) < 1000)!;
    const bucket = stableBucket(key, 't-42', PERCENT_BUCKETS);
    expect(assignLane(compiled, request({ headers: { 'x-user-id': key } }))).toEqual({
      lane: 't-42',
      ruleIndex: 0,
      reason: `rule 0: percent 10 on header x-user-id (bucket ${bucket} < 1000)`,
    });
  });

  it.each<[string, EdgeRequest['headers']]>([
    ['absent', {}],
    ['empty', { 'x-user-id': '' }],
    ['an empty array', { 'x-user-id': [] }],
  ])('does not match when the key header is %s, even at 100 %%', (_name, headers) => {
    const compiled = compile([{ lane: 'a', percent: 100, key: { header: 'x-user-id' } }]);
    expect(assignLane(compiled, request({ headers }))).toEqual(STABLE);
  });

  it.each<[string, string | undefined, string | null]>([
    ['a cookie key', 'uid=alice', 'a'],
    ['a quoted cookie key hashes like the unquoted one', 'uid="alice"', 'a'],
    ['no such cookie', 'other=alice', null],
    ['no cookie header', undefined, null],
  ])('keys on %s', (_name, cookie, expected) => {
    const compiled = compile([{ lane: 'a', percent: 100, key: { cookie: 'uid' } }]);
    expect(assignLane(compiled, request({ headers: { cookie } })).lane).toBe(expected);
  });

  it('keys on the cookie value exactly as a header key would hash it', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Za-z0-9-]{1,20}$/),
        fc.integer({ min: 0, max: 100 }),
        (id, percent) => {
          const byHeader = compile([{ lane: 'a', percent, key: { header: 'x-user-id' } }]);
          const byCookie = compile([{ lane: 'a', percent, key: { cookie: 'uid' } }]);
          expect(assignLane(byCookie, request({ headers: { cookie: `uid=${id}` } })).lane).toBe(
            assignLane(byHeader, request({ headers: { 'x-user-id': id } })).lane,
          );
        },
      ),
    );
  });
});

describe('stableBucket', () => {
  /** Textbook FNV-1a over bytes, then murmur3 fmix32: the reference the implementation must equal. */
  function fnv1a(bytes: Iterable<number>): number {
    let h = 0x811c9dc5;
    for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
    return h;
  }
  function fmix32(h: number): number {
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return (h ^ (h >>> 16)) >>> 0;
  }
  const utf8 = (s: string) => new TextEncoder().encode(s);
  const reference = (key: string, salt: string) =>
    fmix32(fnv1a([...utf8(salt), 0xff, ...utf8(key)]));

  it.each<[string, number]>([
    ['', 0x811c9dc5],
    ['a', 0xe40c292c],
    ['foobar', 0xbf9cf968],
  ])('the reference FNV-1a of %j is the published value', (text, hash) => {
    expect(fnv1a(utf8(text))).toBe(hash);
  });

  it('is FNV-1a over UTF-8 (salt, 0xff, key) then fmix32, for any Unicode text', () => {
    const text = fc.oneof(
      fc.string({ unit: 'grapheme' }),
      fc.string({ unit: 'binary' }),
      fc.string(),
    );
    fc.assert(
      fc.property(text, text, (key, salt) => {
        expect(stableHash32(key, salt)).toBe(reference(key, salt));
      }),
      { numRuns: 2000 },
    );
  });

  // Pinned: changing the hash would silently move users between lanes on upgrade.
  it.each<[string, string, number]>([
    ['user-1', 't-42', 8945],
    ['user-2', 't-42', 8915],
    ['alice', 'canary', 8645],
    ['ünïcødé 🚀', 't-1', 6206],
  ])('keeps %j salted %j in bucket %i of 10,000', (key, salt, bucket) => {
    expect(stableBucket(key, salt, PERCENT_BUCKETS)).toBe(bucket);
  });

  it('separates salt from key, so ("ab", "c") and ("a", "bc") differ', () => {
    expect(stableHash32('c', 'ab')).not.toBe(stableHash32('bc', 'a'));
  });

  it('stays in range for every bucket count', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.string(),
        fc.integer({ min: 1, max: MAX_BUCKETS }),
        (key, salt, n) => {
          const b = stableBucket(key, salt, n);
          expect(Number.isInteger(b) && b >= 0 && b < n).toBe(true);
        },
      ),
    );
  });

  it.each([0, -1, 1.5, Number.NaN, MAX_BUCKETS + 1])('rejects %d buckets', (n) => {
    expect(() => stableBucket('k', 's', n)).toThrow(RangeError);
  });
});

describe('explainLaneAssignment', () => {
  const compiled = compile([
    { lane: 'a', header: { name: 'x-user-tier', equals: 'internal' } },
    { lane: 'b', cookie: { name: 'beta', regex: '^1$' } },
    { lane: 'c', query: { name: 'lane', equals: 'c' } },
    { lane: 'd', percent: 0, key: { header: 'x-user-id' } },
    { lane: 'e', percent: 100, key: { header: 'x-user-id' } },
    { lane: 'f', cidr: '10.0.0.0/8' },
  ]);

  it('gives every rule a reason when none matches', () => {
    const req = request({
      headers: { 'x-user-tier': 'external', cookie: 'beta=0' },
      clientAddress: '192.0.2.1',
    });
    const explained = explainLaneAssignment(compiled, req);
    expect(assignmentOf(explained)).toEqual(STABLE);
    expect(
      explained.rules.map((r) => [r.index, r.lane, r.matched, r.wouldMatch, r.reason]),
    ).toEqual([
      [0, 'a', false, false, 'header x-user-tier is "external", not "internal"'],
      [1, 'b', false, false, 'cookie beta "0" does not match /^1$/'],
      [2, 'c', false, false, 'query parameter lane is absent'],
      [3, 'd', false, false, 'percent 0 matches nobody'],
      [4, 'e', false, false, 'header x-user-id is absent, so there is no key to hash'],
      [5, 'f', false, false, 'client address 192.0.2.1 is not in 10.0.0.0/8'],
    ]);
    expect(explained.rules.map((r) => r.rule)).toEqual([
      'header x-user-tier equals "internal"',
      'cookie beta matches /^1$/',
      'query parameter lane equals "c"',
      'percent 0 on header x-user-id',
      'percent 100 on header x-user-id',
      'client address in 10.0.0.0/8',
    ]);
  });

  it('marks only the first match as matched, and shows shadowed rules that would match', () => {
    const req = request({
      headers: { cookie: 'beta=1', 'x-user-id': 'u1' },
      clientAddress: '10.0.0.1',
    });
    const explained = explainLaneAssignment(compiled, req);
    expect(assignmentOf(explained)).toEqual(assignLane(compiled, req));
    expect(assignmentOf(explained).lane).toBe('b');
    expect(explained.rules.map((r) => [r.matched, r.wouldMatch])).toEqual([
      [false, false],
      [true, true],
      [false, false],
      [false, false],
      [false, true],
      [false, true],
    ]);
    expect(explained.rules[1]!.reason).toBe('cookie beta matches /^1$/');
    expect(explained.rules[2]!.reason).toBe(
      'rule 1 matched first; this rule would not match: query parameter lane is absent',
    );
    expect(explained.rules[5]!.reason).toBe(
      'rule 1 matched first; this rule would also match: client address 10.0.0.1 is in 10.0.0.0/8',
    );
  });

  it.each<[string, EdgeRequest, string]>([
    [
      'an address that is not an IP',
      request({ clientAddress: 'garbage' }),
      'client address "garbage" is not an IP address',
    ],
    [
      'an empty key',
      request({ headers: { 'x-user-id': '' } }),
      'header x-user-id is empty, so there is no key to hash',
    ],
    [
      'a hostile value, quoted and cut to 64 characters',
      request({ headers: { 'x-user-tier': `"\n${'z'.repeat(100)}` } }),
      `header x-user-tier is ${JSON.stringify(`"\n${'z'.repeat(62)}`)}…, not "internal"`,
    ],
  ])('explains %s', (_name, req, reason) => {
    const reasons = explainLaneAssignment(compiled, req).rules.map((r) => r.reason);
    expect(reasons).toContain(reason);
  });

  it('explains a percent miss with the bucket', () => {
    const ten = compile([{ lane: 't-42', percent: 10, key: { header: 'x-user-id' } }]);
    const key = Array.from({ length: 100 }, (_, i) => `user-${i}`).find(
      (k) => stableBucket(k, 't-42', PERCENT_BUCKETS) >= 1000,
    )!;
    const bucket = stableBucket(key, 't-42', PERCENT_BUCKETS);
    const [rule] = explainLaneAssignment(ten, request({ headers: { 'x-user-id': key } })).rules;
    expect(rule!.reason).toBe(`percent 10 on header x-user-id: bucket ${bucket} is not below 1000`);
  });

  it('agrees with assignLane on every request', () => {
    const req = fc.record({
      headers: fc.record(
        {
          'x-user-tier': fc.constantFrom('internal', 'external'),
          cookie: fc.constantFrom('beta=1', 'beta=0', 'a=b'),
          'x-user-id': fc.string(),
        },
        { requiredKeys: [] },
      ),
      query: fc.constantFrom('', 'lane=c', 'lane=d'),
      clientAddress: fc.oneof(fc.ipV4(), fc.constant('10.1.1.1')),
    });
    fc.assert(
      fc.property(req, (r) => {
        const explained = explainLaneAssignment(compiled, r);
        const assigned = assignLane(compiled, r);
        expect(assignmentOf(explained)).toEqual(assigned);
        expect(explained.rules.filter((x) => x.matched).map((x) => x.index)).toEqual(
          assigned.ruleIndex === null ? [] : [assigned.ruleIndex],
        );
      }),
    );
  });
});
