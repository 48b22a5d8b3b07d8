// Specs for the lane rule schema (src/routing/lane-rules.ts): the operator-facing YAML shape, and
// that every rejection names the field path and the reason.

import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { fieldPath } from '../../src/config/load.js';
import type { LaneRule } from '../../src/routing/lane-rules.js';
import {
  laneRuleSchema,
  laneRulesSchema,
  MAX_LANE_RULES,
  MAX_REGEX_LENGTH,
} from '../../src/routing/lane-rules.js';

/** Every issue as `path: message`, paths spelled as in config errors (`[0].header.regex`). */
function problems(input: unknown): string[] {
  const result = laneRulesSchema.safeParse(input);
  if (result.success) return [];
  return result.error.issues.map((i) => `${fieldPath(i.path)}: ${i.message}`);
}

describe('laneRulesSchema', () => {
  it('accepts the documented YAML shape', () => {
    const yaml = `
- lane: t-42
  header: { name: x-user-tier, equals: internal }
- lane: t-42
  cookie: { name: beta, regex: "^(1|yes)$" }
- lane: t-42
  query: { name: lane, equals: t-42 }
- lane: t-42
  cidr: 10.0.0.0/8
- lane: t-42
  percent: 10
  key: { header: x-user-id }
- lane: t-43
  percent: 2.5
  key: { cookie: uid }
`;
    expect(laneRulesSchema.parse(parseYaml(yaml))).toEqual<LaneRule[]>([
      { lane: 't-42', header: { name: 'x-user-tier', equals: 'internal' } },
      { lane: 't-42', cookie: { name: 'beta', regex: '^(1|yes)$' } },
      { lane: 't-42', query: { name: 'lane', equals: 't-42' } },
      { lane: 't-42', cidr: '10.0.0.0/8' },
      { lane: 't-42', percent: 10, key: { header: 'x-user-id' } },
      { lane: 't-43', percent: 2.5, key: { cookie: 'uid' } },
    ]);
  });

  it.each<[string, unknown, LaneRule]>([
    [
      'header names are lower-cased',
      { lane: 'a', header: { name: 'X-User-Tier', equals: 'Internal' } },
      { lane: 'a', header: { name: 'x-user-tier', equals: 'Internal' } },
    ],
    [
      'percent-key header names are lower-cased',
      { lane: 'a', percent: 1, key: { header: 'X-User-Id' } },
      { lane: 'a', percent: 1, key: { header: 'x-user-id' } },
    ],
    [
      'cookie names keep their case',
      { lane: 'a', cookie: { name: 'Beta', equals: '1' } },
      { lane: 'a', cookie: { name: 'Beta', equals: '1' } },
    ],
    [
      'query names may be any text',
      { lane: 'a', query: { name: 'a b[]', equals: '' } },
      { lane: 'a', query: { name: 'a b[]', equals: '' } },
    ],
    [
      'a bare address is a one-address block',
      { lane: 'a', cidr: '2001:db8::1' },
      { lane: 'a', cidr: '2001:db8::1' },
    ],
    [
      'percent 0 and 100 are allowed',
      { lane: 'a', percent: 100, key: { header: 'x' } },
      { lane: 'a', percent: 100, key: { header: 'x' } },
    ],
    [
      'percent has up to 2 decimals',
      { lane: 'a', percent: 0.29, key: { header: 'x' } },
      { lane: 'a', percent: 0.29, key: { header: 'x' } },
    ],
    [
      'a regex of exactly the maximum length',
      { lane: 'a', header: { name: 'x', regex: 'a'.repeat(MAX_REGEX_LENGTH) } },
      { lane: 'a', header: { name: 'x', regex: 'a'.repeat(MAX_REGEX_LENGTH) } },
    ],
  ])('accepts: %s', (_name, input, expected) => {
    expect(laneRuleSchema.parse(input)).toEqual(expected);
  });

  it('accepts its own output (a validated snapshot can be re-validated)', () => {
    const rules = laneRulesSchema.parse([
      { lane: 'a', header: { name: 'X-A', regex: '^b' } },
      { lane: 'b', percent: 12.34, key: { cookie: 'uid' } },
    ]);
    expect(laneRulesSchema.parse(JSON.parse(JSON.stringify(rules)))).toEqual(rules);
  });

  it.each<[string, unknown, string]>([
    ['rules not a list', { lane: 'a' }, ': rules must be a list'],
    ['rule not an object', ['cidr'], '[0]: a rule is an object with lane and one of'],
    [
      'no match',
      [{ lane: 'a' }],
      '[0]: a rule needs one match: header, cookie, query, cidr, percent',
    ],
    [
      'two matches',
      [{ lane: 'a', header: { name: 'x', equals: '1' }, cidr: '10.0.0.0/8' }],
      '[0]: a rule has exactly one match, not header and cidr',
    ],
    ['missing lane', [{ cidr: '10.0.0.0/8' }], '[0].lane: lane is required'],
    [
      'bad lane name',
      [{ lane: 'T-42', cidr: '10.0.0.0/8' }],
      '[0].lane: lane "T-42" may contain only lowercase letters, digits and hyphens',
    ],
    ['lane name too long', [{ lane: 'a'.repeat(64), cidr: '10.0.0.0/8' }], '[0].lane: lane "aaaa'],
    [
      'unknown field',
      [{ lane: 'a', cidr: '10.0.0.0/8', note: 'x' }],
      '[0]: a cidr rule has unknown field "note"; allowed: lane, cidr',
    ],
    [
      'unknown field in a match',
      [{ lane: 'a', header: { name: 'x', equal: '1' } }],
      '[0].header: a header match has unknown field "equal"; allowed: name, trust, equals, regex',
    ],
    [
      'match not an object',
      [{ lane: 'a', header: 'x-user-tier' }],
      '[0].header: a header match must be an object',
    ],
    [
      'both equals and regex',
      [{ lane: 'a', header: { name: 'x', equals: '1', regex: '1' } }],
      '[0].header: a header match has exactly one of equals or regex',
    ],
    [
      'neither equals nor regex',
      [{ lane: 'a', query: { name: 'x' } }],
      '[0].query: a query match has exactly one of equals or regex',
    ],
    [
      'missing name',
      [{ lane: 'a', cookie: { equals: '1' } }],
      '[0].cookie.name: cookie name is required',
    ],
    [
      'header name not a token',
      [{ lane: 'a', header: { name: 'x user', equals: '1' } }],
      '[0].header.name: a header name is an HTTP token',
    ],
    [
      'cookie name not a token',
      [{ lane: 'a', cookie: { name: 'a=b', equals: '1' } }],
      '[0].cookie.name: a cookie name is an HTTP token',
    ],
    [
      'empty query name',
      [{ lane: 'a', query: { name: '', equals: '1' } }],
      '[0].query.name: a query parameter name is not empty',
    ],
    [
      'equals not a string',
      [{ lane: 'a', header: { name: 'x', equals: 1 } }],
      '[0].header.equals: equals must be a string',
    ],
    [
      'regex does not compile',
      [{ lane: 'a', cookie: { name: 'beta', regex: '^(1|yes$' } }],
      '[0].cookie.regex: missing closing ): `^(1|yes$` (lane regexes use RE2 syntax',
    ],
    [
      'a backreference (RE2 has none: it cannot be matched in linear time)',
      [{ lane: 'a', header: { name: 'x', regex: '^(a)\\1$' } }],
      '[0].header.regex: invalid escape sequence: `\\1` (lane regexes use RE2 syntax',
    ],
    [
      'a lookahead',
      [{ lane: 'a', query: { name: 'q', regex: '^(?=a)' } }],
      '[0].query.regex: invalid or unsupported Perl syntax: `(?=`',
    ],
    [
      'regex too long',
      [{ lane: 'a', header: { name: 'x', regex: 'a'.repeat(MAX_REGEX_LENGTH + 1) } }],
      `[0].header.regex: regex is longer than ${MAX_REGEX_LENGTH} characters`,
    ],
    [
      'empty regex',
      [{ lane: 'a', header: { name: 'x', regex: '' } }],
      '[0].header.regex: regex is empty',
    ],
    [
      'cidr syntax',
      [{ lane: 'a', cidr: '10.0.0.256/8' }],
      '[0].cidr: cidr "10.0.0.256/8": address "10.0.0.256" is not IPv4 or IPv6',
    ],
    [
      'cidr prefix',
      [{ lane: 'a', cidr: '::/129' }],
      '[0].cidr: cidr "::/129": prefix length must be a whole number from 0 to 128',
    ],
    [
      'cidr host bits',
      [{ lane: 'a', cidr: '10.1.2.3/8' }],
      '[0].cidr: cidr "10.1.2.3/8": host bits are set; did you mean 10.0.0.0/8?',
    ],
    ['cidr not a string', [{ lane: 'a', cidr: 8 }], '[0].cidr: cidr must be a string'],
    [
      'percent below 0',
      [{ lane: 'a', percent: -1, key: { header: 'x' } }],
      '[0].percent: percent is from 0 to 100',
    ],
    [
      'percent above 100',
      [{ lane: 'a', percent: 100.01, key: { header: 'x' } }],
      '[0].percent: percent is from 0 to 100',
    ],
    [
      'percent with 3 decimals',
      [{ lane: 'a', percent: 10.005, key: { header: 'x' } }],
      '[0].percent: percent has at most 2 decimals',
    ],
    [
      'percent as a string',
      [{ lane: 'a', percent: '10%', key: { header: 'x' } }],
      '[0].percent: percent must be a number',
    ],
    ['percent without key', [{ lane: 'a', percent: 10 }], '[0].key: a percent key is required'],
    [
      'key with header and cookie',
      [{ lane: 'a', percent: 10, key: { header: 'x', cookie: 'y' } }],
      '[0].key: a percent key has exactly one of header or cookie',
    ],
    [
      'key with neither',
      [{ lane: 'a', percent: 10, key: {} }],
      '[0].key: a percent key has exactly one of header or cookie',
    ],
    [
      'key on a query parameter',
      [{ lane: 'a', percent: 10, key: { query: 'uid' } }],
      '[0].key: a percent key has unknown field "query"; allowed: header, cookie, trust',
    ],
    [
      'an error in a later rule',
      [
        { lane: 'a', cidr: '10.0.0.0/8' },
        { lane: 'b', cidr: '10.0.0.0/8' },
        { lane: 'c', cidr: 'x' },
      ],
      '[2].cidr: cidr "x": address "x" is not IPv4 or IPv6',
    ],
  ])('rejects %s, naming the field and the reason', (_name, input, expected) => {
    const found = problems(input);
    expect(found.length).toBeGreaterThan(0);
    expect(found.some((p) => p.startsWith(expected))).toBe(true);
  });

  it('reports every problem in a rule set, each at its own path', () => {
    expect(
      problems([
        { lane: 'Bad', header: { name: 'x', equals: '1' } },
        { lane: 'ok', cookie: { name: 'c', regex: '(' } },
      ]),
    ).toEqual([
      '[0].lane: lane "Bad" may contain only lowercase letters, digits and hyphens',
      '[1].cookie.regex: missing closing ): `(` (lane regexes use RE2 syntax, which has no backreferences or lookaround)',
    ]);
  });

  it(`rejects more than ${MAX_LANE_RULES} rules`, () => {
    const rules = Array.from({ length: MAX_LANE_RULES + 1 }, () => ({ lane: 'a', cidr: '::/0' }));
    expect(problems(rules)).toEqual([`: at most ${MAX_LANE_RULES} rules`]);
    expect(problems(rules.slice(1))).toEqual([]);
  });
});

describe('laneRulesSchema and headers the edge strips', () => {
  it.each(['x-turnout-lane', 'X-Turnout-Override', 'baggage'])(
    'refuses a rule on %s, which could never match',
    (name) => {
      const r = laneRulesSchema.safeParse([{ lane: 't-1', header: { name, equals: 'x' } }]);
      expect(r.success).toBe(false);
      if (!r.success)
        expect(r.error.issues[0]?.message).toContain('strips x-turnout-* and baggage');
    },
  );
});
