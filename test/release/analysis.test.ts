import { describe, expect, it } from 'vitest';
import type { ItemFigures } from '../../src/release/analysis.js';
import { analyze, judge, overall } from '../../src/release/analysis.js';
import { analysisSchema } from '../../src/release/plan.js';
import { GRAPH } from './fixtures.js';

const plan = analysisSchema.parse({ minLatencyRequests: 100, p99SlackMs: 50, maxP99Ratio: 2 }); // 5 % errors, +2 points over stable, p99 ×2 and +50 ms, 20 requests (100 for latency)
const item = { module: 'orders', version: '2.0.0' };
const f = (requests: number, errorRate: number, p99Ms: number | null) => ({
  requests,
  errorRate,
  p99Ms,
});

describe('analyze', () => {
  it.each([
    { lane: f(0, 0, null), stable: f(100, 0, 10), verdict: 'wait', reason: /0 of 20/ },
    { lane: f(19, 0, 10), stable: f(100, 0, 10), verdict: 'wait', reason: /19 of 20/ },
    { lane: f(20, 0, 10), stable: f(100, 0, 10), verdict: 'pass', reason: /≤/ },
    { lane: f(100, 0.05, 10), stable: f(100, 0, 10), verdict: 'pass', reason: /5.00 %/ },
    {
      lane: f(100, 0.06, 10),
      stable: f(100, 0, 10),
      verdict: 'fail',
      reason: /error rate 6.00 % > limit 5.00 %/,
    },
    // stable itself erring at 10 %: the lane may be at most 2 points worse
    { lane: f(100, 0.11, 10), stable: f(100, 0.1, 10), verdict: 'pass', reason: /≤ 12.00 %/ },
    { lane: f(100, 0.13, 10), stable: f(100, 0.1, 10), verdict: 'fail', reason: /> limit 12.00 %/ },
    // latency: limit is max(2 × stable, stable + 50 ms)
    { lane: f(100, 0, 60), stable: f(100, 0, 10), verdict: 'pass', reason: /p99 60.0 ms/ },
    {
      lane: f(100, 0, 61),
      stable: f(100, 0, 10),
      verdict: 'fail',
      reason: /p99 61.0 ms > limit 60.0 ms/,
    },
    { lane: f(100, 0, 399), stable: f(100, 0, 200), verdict: 'pass', reason: /p99/ },
    { lane: f(100, 0, 401), stable: f(100, 0, 200), verdict: 'fail', reason: /limit 400.0 ms/ },
    { lane: f(100, 0, 500), stable: f(0, 0, null), verdict: 'pass', reason: /stable n\/a/ },
    // too few requests to judge a p99: a single slow one must not abort a healthy canary
    {
      lane: f(99, 0, 900),
      stable: f(1000, 0, 10),
      verdict: 'pass',
      reason: /latency not judged below 100 requests/,
    },
    // every one of 5 requests failed: over the limit whatever the next 15 do
    { lane: f(5, 1, 3), stable: f(100, 0, 10), verdict: 'fail', reason: /100.00 %/ },
    { lane: f(5, 0.2, 3), stable: f(100, 0, 10), verdict: 'wait', reason: /5 of 20/ },
  ])('lane $lane vs stable $stable → $verdict', ({ lane, stable, verdict, reason }) => {
    const v = analyze(item, lane, stable, plan);
    expect(v.verdict).toBe(verdict);
    expect(v.reason).toMatch(reason);
    expect(v).toMatchObject({
      module: 'orders',
      version: '2.0.0',
      lane: { requests: lane.requests },
    });
  });

  it('defaults: a healthy lane 120 ms slower at the tail on a busy machine passes; a 400 ms fault fails', () => {
    const defaults = analysisSchema.parse({});
    expect(defaults).toMatchObject({ p99SlackMs: 250, maxP99Ratio: 3 });
    expect(analyze(item, f(300, 0, 140.5), f(1000, 0, 24.3), defaults).verdict).toBe('pass');
    expect(analyze(item, f(300, 0, 430), f(1000, 0, 24.3), defaults).verdict).toBe('fail');
  });

  it('overall: a failure wins over waiting, waiting over passing', () => {
    const v = (verdict: 'pass' | 'fail' | 'wait') => ({
      ...analyze(item, f(0, 0, null), f(0, 0, null), plan),
      verdict,
    });
    expect(overall([v('pass'), v('wait'), v('fail')])).toBe('fail');
    expect(overall([v('pass'), v('wait')])).toBe('wait');
    expect(overall([v('pass')])).toBe('pass');
    expect(overall([])).toBe('pass');
  });
});

// Which items a ticket answers for, as Given / When / Then: given the shop (web → orders →
// account, web → catalog) on 1.0.0 and a ticket that lists web at its stable version beside a
// change, when the lane's traffic is judged, then only errors that come from the change count.
describe('judge: the ticket answers for what it changes', () => {
  const STABLE = new Set(['web@1.0.0', 'orders@1.0.0', 'account@1.0.0', 'catalog@1.0.0']);
  const clean = f(1000, 0, 10);
  /** Lane figures by module (stable: clean unless given); a module absent had no lane traffic. */
  const observed =
    (
      lane: Record<string, ReturnType<typeof f>>,
      stable: Record<string, ReturnType<typeof f>> = {},
    ) =>
    (i: { module: string }): ItemFigures => ({
      lane: lane[i.module] ?? f(0, 0, null),
      stable: stable[i.module] ?? clean,
    });
  const verdicts = (
    items: { module: string; version: string }[],
    figures: (i: { module: string }) => ItemFigures,
  ) => judge({ items, figures, stable: STABLE, graph: GRAPH, plan });
  const web = { module: 'web', version: '1.0.0' };
  const orders2 = { module: 'orders', version: '2.0.0' };

  it('a module outside the items errs (an instance of catalog killed), and the unchanged caller with it: pass', () => {
    const v = verdicts(
      [web, orders2],
      observed({ catalog: f(100, 0.5, 10), web: f(200, 0.3, 10), orders: f(200, 0, 10) }),
    );
    expect(overall(v)).toBe('pass');
    expect(v[0]).toMatchObject({ module: 'web', verdict: 'pass', lane: { errorRate: 0.3 } });
    expect(v[0]?.reason).toMatch(/^unchanged .*30.00 % is not counted/);
    expect(v[1]).toMatchObject({ module: 'orders', verdict: 'pass' });
  });

  it("the ticket's own item errs: fail, whatever its callers do", () => {
    const v = verdicts([web, orders2], observed({ web: f(200, 0, 10), orders: f(200, 0.3, 10) }));
    expect(overall(v)).toBe('fail');
    expect(v[1]).toMatchObject({ module: 'orders', verdict: 'fail' });
    expect(v[1]?.reason).toMatch(/^error rate 30.00 % > limit 5.00 %/);
    expect(verdicts([orders2], observed({ orders: f(200, 0.3, 10) }))[0]?.verdict).toBe('fail');
  });

  it("an unchanged caller's errors coincide with errors on the ticket's item in the lane: they count", () => {
    // orders@2.0.0 alone stays under its limit (3 %); web, calling it, fails at 30 %.
    const v = verdicts(
      [web, orders2],
      observed({ web: f(200, 0.3, 10), orders: f(200, 0.03, 10) }),
    );
    expect(v[1]).toMatchObject({ module: 'orders', verdict: 'pass' });
    expect(v[0]).toMatchObject({ module: 'web', verdict: 'fail' });
    expect(v[0]?.reason).toMatch(
      /^error rate 30.00 % > limit 5.00 %.*counted: it calls orders@2.0.0 3.00 %/,
    );
    expect(overall(v)).toBe('fail');
  });

  it('through modules the ticket does not list: web reaches account@2.0.0 via orders', () => {
    const account2 = { module: 'account', version: '2.0.0' };
    const erring = observed({ web: f(200, 0.3, 10), account: f(200, 0.04, 10) });
    expect(overall(verdicts([web, account2], erring))).toBe('fail');
    const quiet = observed({ web: f(200, 0.3, 10), account: f(200, 0, 10) });
    expect(overall(verdicts([web, account2], quiet))).toBe('pass');
  });

  it('a changed item erring no more in the lane than in stable does not make the caller count', () => {
    const same = observed(
      { web: f(200, 0.3, 10), orders: f(200, 0.03, 10) },
      { orders: f(1000, 0.03, 10) },
    );
    expect(overall(verdicts([web, orders2], same))).toBe('pass');
  });
});
