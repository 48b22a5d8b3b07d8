import { describe, expect, it } from 'vitest';
import { laneOverlay, laneRules, versionsNamed, withStable } from '../../src/release/routes.js';
import { laneRulesSchema } from '../../src/routing/lane-rules.js';
import { parseDtab } from '../../src/routing/parser.js';
import { planSchema } from '../../src/store/plan.js';
import { item } from './fixtures.js';

describe('withStable', () => {
  it.each([
    {
      base: '',
      items: [item('orders', '2.0.0')],
      out: '/svc/orders => /v/orders/2.0.0;',
    },
    {
      base: '/svc/web => /v/web/1.0.0;/svc/orders => /v/orders/1.0.0;',
      items: [item('orders', '2.0.0')],
      out: '/svc/web => /v/web/1.0.0;\n/svc/orders => /v/orders/2.0.0;',
    },
    {
      // A base stored compact (an older promotion, or applied so) comes out in one spacing too.
      base: '/svc/web=>/v/web/1.0.0;/svc/orders=>/v/orders/1.0.0',
      items: [item('orders', '2.0.0')],
      out: '/svc/web => /v/web/1.0.0;\n/svc/orders => /v/orders/2.0.0;',
    },
    {
      // Every rule for exactly /svc/orders goes; a longer prefix and other services stay.
      base: '/svc/orders => /v/orders/1.0.0;/svc/orders/admin => /v/orders/0.9.0;/svc/orders => /v/orders/1.1.0;/svc/* => /$/fail',
      items: [item('orders', '2.0.0'), item('account', '1.2.0')],
      out: '/svc/orders/admin => /v/orders/0.9.0;\n/svc/* => /$/fail;\n/svc/orders => /v/orders/2.0.0;\n/svc/account => /v/account/1.2.0;',
    },
  ])('$base with $items', ({ base, items, out }) => {
    const result = withStable(base, items);
    expect(result).toBe(out);
    expect(() => parseDtab(result)).not.toThrow();
  });
});

describe('laneRules', () => {
  const canary = planSchema.parse({
    canary: {
      steps: [10, 50],
      segments: [{ header: { name: 'X-User-Tier', equals: 'internal' } }],
    },
  }).canary;

  const header = { name: 'x-prerelease', value: 'Zq3-random_secret' };

  it('pre-release: only the header, matching the ticket’s secret and not the lane name', () => {
    const rules = laneRules('t-4', header, null);
    expect(rules).toEqual([
      {
        lane: 't-4',
        header: { name: 'x-prerelease', equals: 'Zq3-random_secret', trust: 'any-client' },
      },
    ]);
    expect(JSON.stringify(rules)).not.toContain('"equals":"t-4"');
  });

  it('canary: header, segments (given the lane, header lower-cased), then the sticky share; all valid rules', () => {
    const rules = laneRules('t-4', header, { plan: canary!, percent: 10 });
    expect(rules).toEqual([
      {
        lane: 't-4',
        header: { name: 'x-prerelease', equals: 'Zq3-random_secret', trust: 'any-client' },
      },
      { lane: 't-4', header: { name: 'x-user-tier', equals: 'internal' } },
      { lane: 't-4', percent: 10, key: { header: 'x-user-id' } },
    ]);
    expect(laneRulesSchema.safeParse(rules).success).toBe(true);
  });
});

describe('versionsNamed', () => {
  it('finds /v/ leaves in alternations and unions, ignores other names and bad text', () => {
    const dtab =
      '/svc/a => /v/a/1 | /v/a/0;/svc/b => 0.9*/v/b/2 & 0.1*/v/b/3;/svc/c => /$/inet/127.0.0.1/80';
    expect([...versionsNamed(dtab)].sort()).toEqual(['a@0', 'a@1', 'b@2', 'b@3']);
    expect(versionsNamed('not a dtab').size).toBe(0);
    expect([...versionsNamed(laneOverlay([item('orders', '2.0.0')]))]).toEqual(['orders@2.0.0']);
  });
});

describe('plan', () => {
  it.each([
    [{ canary: { steps: [10, 5] } }, 'canary.steps[1]', /increase/],
    [{ canary: { steps: [] } }, 'canary.steps', /at least one step/],
    [{ canary: { steps: [0] } }, 'canary.steps[0]', /above 0/],
    [
      { canary: { steps: [10], segments: [{ lane: 'x', header: { name: 'a', equals: '1' } }] } },
      'canary.segments[0]',
      /no lane/,
    ],
    [
      { canary: { steps: [10], segments: [{ header: { name: 'x-turnout-lane', equals: '1' } }] } },
      'canary.segments[0].header.name',
      /strips/,
    ],
    [{ surge: 0 }, 'surge', /./],
    [{ prereleaseHeader: 'baggage' }, 'prereleaseHeader', /strips/],
    [{ bogus: 1 }, '', /bogus/],
  ])('%j is refused at %s', (input, field, message) => {
    const r = planSchema.safeParse(input);
    expect(r.success).toBe(false);
    const issue = r.error!.issues[0]!;
    expect(
      issue.path
        .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
        .join('')
        .replace(/^\./, '')
        .replace(/\.\[/g, '['),
    ).toBe(field);
    expect(`${issue.message} ${JSON.stringify(issue)}`).toMatch(message);
  });

  it('{} is a complete plan with safe defaults', () => {
    expect(planSchema.parse({})).toMatchObject({
      replicas: 1,
      surge: 2,
      canary: null,
      prereleaseHeader: 'x-prerelease',
    });
  });
});
