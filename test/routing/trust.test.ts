// Specs for where lane rules may take their values from (`trust` on header, cookie, query and
// percent-key rules) and for signed rule values (src/routing/signed-value.ts).

import { describe, expect, it } from 'vitest';
import type { EdgeRequest } from '../../src/routing/assign.js';
import { assignLane, compileLaneRules, explainLaneAssignment } from '../../src/routing/assign.js';
import { laneRulesSchema } from '../../src/routing/lane-rules.js';
import { signOverride } from '../../src/routing/override.js';
import { signValue, verifySignedValue } from '../../src/routing/signed-value.js';

const SECRET = 'test-secret-0123456789';
const NOW = Date.UTC(2026, 0, 1);
const HOUR = 3_600_000;

function compile(rules: unknown[]) {
  return compileLaneRules(laneRulesSchema.parse(rules));
}

function request(opts: Partial<EdgeRequest>): EdgeRequest {
  return { headers: {}, query: '', clientAddress: '203.0.113.7', ...opts };
}

const signedBy = { secrets: [SECRET], nowMs: NOW };
const sign = (name: string, value: string) => signValue(name, value, SECRET, NOW + HOUR, NOW);

describe('rule trust: who may choose a segment or sticky key', () => {
  const tier = (trust?: string) =>
    compile([{ lane: 'a', header: { name: 'x-user-tier', equals: 'internal', trust } }]);
  const key = (trust?: string) =>
    compile([{ lane: 'a', percent: 100, key: { header: 'x-user-id', trust } }]);
  const cookie = (trust?: string) =>
    compile([{ lane: 'a', cookie: { name: 'tier', equals: 'internal', trust } }]);
  const query = (trust?: string) =>
    compile([{ lane: 'a', query: { name: 'tier', equals: 'internal', trust } }]);

  it.each([
    // [what, rules, request, lane]
    [
      'a segment header from an untrusted client (default trust)',
      tier(),
      { headers: { 'x-user-tier': 'internal' } },
      null,
    ],
    [
      'a segment header from a trusted hop',
      tier(),
      { headers: { 'x-user-tier': 'internal' }, trustedHop: true },
      'a',
    ],
    [
      'a sticky key from an untrusted client (default trust)',
      key(),
      { headers: { 'x-user-id': 'u1' } },
      null,
    ],
    [
      'a sticky key from a trusted hop',
      key(),
      { headers: { 'x-user-id': 'u1' }, trustedHop: true },
      'a',
    ],
    [
      'a cookie from an untrusted client (default trust)',
      cookie(),
      { headers: { cookie: 'tier=internal' } },
      null,
    ],
    [
      'a query parameter from an untrusted client (default trust)',
      query(),
      { query: 'tier=internal' },
      null,
    ],
    [
      'trusted-hop said explicitly',
      tier('trusted-hop'),
      { headers: { 'x-user-tier': 'internal' } },
      null,
    ],
    [
      'any-client: a segment header from anyone',
      tier('any-client'),
      { headers: { 'x-user-tier': 'internal' } },
      'a',
    ],
    [
      'any-client: a sticky key from anyone',
      key('any-client'),
      { headers: { 'x-user-id': 'u1' } },
      'a',
    ],
    [
      'signed: a bare value is not enough, even from a trusted hop',
      tier('signed'),
      { headers: { 'x-user-tier': 'internal' }, trustedHop: true, signed: signedBy },
      null,
    ],
    [
      'signed: a signed value from anyone',
      tier('signed'),
      { headers: { 'x-user-tier': sign('x-user-tier', 'internal') }, signed: signedBy },
      'a',
    ],
    [
      'signed: a signed cookie from anyone',
      cookie('signed'),
      { headers: { cookie: `sid=1; tier=${sign('tier', 'internal')}` }, signed: signedBy },
      'a',
    ],
    [
      'signed: a signed sticky key',
      key('signed'),
      { headers: { 'x-user-id': sign('x-user-id', 'u1') }, signed: signedBy },
      'a',
    ],
    [
      'signed: a value signed for another name',
      tier('signed'),
      { headers: { 'x-user-tier': sign('x-user-id', 'internal') }, signed: signedBy },
      null,
    ],
    [
      'signed: a value signed with another secret',
      tier('signed'),
      {
        headers: {
          'x-user-tier': signValue('x-user-tier', 'internal', 'other-secret', NOW + HOUR, NOW),
        },
        signed: signedBy,
      },
      null,
    ],
    [
      'signed: an expired value',
      tier('signed'),
      {
        headers: { 'x-user-tier': sign('x-user-tier', 'internal') },
        signed: { secrets: [SECRET], nowMs: NOW + 2 * HOUR },
      },
      null,
    ],
    [
      'signed: no secret configured',
      tier('signed'),
      { headers: { 'x-user-tier': sign('x-user-tier', 'internal') } },
      null,
    ],
    [
      'signed: a signed value of another value',
      tier('signed'),
      { headers: { 'x-user-tier': sign('x-user-tier', 'external') }, signed: signedBy },
      null,
    ],
  ] as [string, ReturnType<typeof compile>, Partial<EdgeRequest>, string | null][])(
    '%s → %s',
    (_what, rules, req, lane) => {
      expect(assignLane(rules, request(req)).lane).toBe(lane);
      // The explainer decides the same, and says why.
      expect(explainLaneAssignment(rules, request(req)).lane).toBe(lane);
    },
  );

  it('a signed sticky key hashes the value it carries, not the token', () => {
    const rules = compile([
      { lane: 'a', percent: 50, key: { header: 'x-user-id', trust: 'signed' } },
    ]);
    const byValue = compile([
      { lane: 'a', percent: 50, key: { header: 'x-user-id', trust: 'any-client' } },
    ]);
    for (let i = 0; i < 50; i++) {
      const token = signValue('x-user-id', `u${i}`, SECRET, NOW + HOUR + i * 1000, NOW);
      expect(
        assignLane(rules, request({ headers: { 'x-user-id': token }, signed: signedBy })).lane,
      ).toBe(assignLane(byValue, request({ headers: { 'x-user-id': `u${i}` } })).lane);
    }
  });

  it('explains why a value was not read', () => {
    const rules = compile([
      { lane: 'a', header: { name: 'x-user-tier', equals: 'internal' } },
      { lane: 'a', percent: 100, key: { header: 'x-user-id' } },
      { lane: 'a', cookie: { name: 'tier', equals: 'internal', trust: 'signed' } },
    ]);
    const e = explainLaneAssignment(
      rules,
      request({
        headers: { 'x-user-tier': 'internal', 'x-user-id': 'u1', cookie: 'tier=internal' },
      }),
    );
    expect(e.rules.map((r) => r.reason)).toEqual([
      'header x-user-tier is not read: the client is not a trusted hop',
      'header x-user-id is not read: the client is not a trusted hop, so there is no key to hash',
      'cookie tier is not read: it is not a valid signed value (no secret is configured to verify signed values)',
    ]);
    expect(e.rules.map((r) => r.rule)).toEqual([
      'header x-user-tier equals "internal"',
      'percent 100 on header x-user-id',
      'cookie tier equals "internal" (signed values only)',
    ]);
  });

  it('lists the headers that only trusted hops may set, for the edge to strip', () => {
    const rules = compile([
      { lane: 'a', header: { name: 'X-User-Tier', equals: 'internal' } },
      { lane: 'a', header: { name: 'x-prerelease', equals: 'secret', trust: 'any-client' } },
      { lane: 'a', header: { name: 'x-signed', equals: 'v', trust: 'signed' } },
      { lane: 'a', percent: 10, key: { header: 'x-user-id' } },
      { lane: 'a', percent: 10, key: { cookie: 'uid' } },
      { lane: 'a', cookie: { name: 'beta', equals: '1' } },
    ]);
    expect([...rules.hopHeaders].sort()).toEqual(['x-user-id', 'x-user-tier']);
  });

  it('rejects an unknown trust, naming the field and the choices', () => {
    const r = laneRulesSchema.safeParse([
      { lane: 'a', header: { name: 'x', equals: '1', trust: 'anyone' } },
    ]);
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual([0, 'header', 'trust']);
    expect(r.error?.issues[0]?.message).toBe(
      'trust is one of trusted-hop, signed, any-client (default trusted-hop)',
    );
  });
});

describe('signed values', () => {
  it('round-trips a value for its name until it expires', () => {
    const token = signValue('tier', 'gold card é', SECRET, NOW + HOUR, NOW);
    expect(verifySignedValue(token, 'tier', [SECRET], NOW)).toEqual({
      ok: true,
      value: 'gold card é',
    });
    expect(verifySignedValue(token, 'tier', ['new-secret', SECRET], NOW + HOUR)).toEqual({
      ok: true,
      value: 'gold card é',
    });
    expect(verifySignedValue(token, 'tier', [SECRET], NOW + HOUR + 1000).ok).toBe(false);
    expect(verifySignedValue(token, 'Tier', [SECRET], NOW).ok).toBe(false);
  });

  it('never accepts an override token as a signed value (another tag, another signed text)', () => {
    const override = signOverride('/svc/a=>/v/a/1', SECRET, NOW + HOUR, NOW);
    expect(verifySignedValue(override, 'x', [SECRET], NOW).ok).toBe(false);
  });

  it.each([
    [
      'a tampered value',
      (t: string) =>
        t.replace(/^(s1\.\d+\.)[^.]+/, `$1${Buffer.from('internal').toString('base64url')}`),
    ],
    ['a tampered expiry', (t: string) => t.replace(/^s1\.(\d+)/, (_m, e) => `s1.${Number(e) + 1}`)],
    ['a truncated token', (t: string) => t.slice(0, -2)],
    ['three parts', (t: string) => t.split('.').slice(1).join('.')],
    ['padding', (t: string) => `${t}=`],
  ])('refuses %s', (_what, change) => {
    const token = signValue('tier', 'external', SECRET, NOW + HOUR, NOW);
    expect(verifySignedValue(change(token), 'tier', [SECRET], NOW).ok).toBe(false);
  });

  it.each([
    ['an empty secret', () => signValue('a', 'b', '', NOW + HOUR, NOW), 'secret'],
    ['an expiry in the past', () => signValue('a', 'b', SECRET, NOW - 1000, NOW), 'expiresAt'],
    [
      'an expiry over 400 days ahead',
      () => signValue('a', 'b', SECRET, NOW + 401 * 24 * HOUR, NOW),
      'expiresAt',
    ],
    [
      'a value over 4096 bytes',
      () => signValue('a', 'é'.repeat(2049), SECRET, NOW + HOUR, NOW),
      'value',
    ],
  ])('refuses to sign with %s, naming the field', (_what, fn, field) => {
    expect(fn).toThrowError(expect.objectContaining({ code: 'invalid_argument', field }));
  });
});
