import { describe, expect, it } from 'vitest';
import type { Figures, ItemFigures } from '../../src/release/analysis.js';
import { analyze, judge, overall } from '../../src/release/analysis.js';
import { errorRateTest } from '../../src/release/statistics.js';
import { quantile } from '../../src/release/stats-window.js';
import { analysisSchema, planSchema, readPlan } from '../../src/store/plan.js';
import { GRAPH } from './fixtures.js';

// Defaults: confidence 0.99; errors fail from +1 point; latency from 50 lane requests, when the
// median is ≥ 100 ms and ≥ 1.5 × stable's; no verdict below 20 lane requests.
const plan = analysisSchema.parse({});
const item = { module: 'orders', version: '2.0.0' };

/** The proxy's histogram bounds (src/proxy/stats.ts), in ms. */
const BOUNDS = [0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, Infinity];

/** Figures as the stats window gives them: each latency counted in its histogram bucket. */
function sample(latencies: readonly number[], errors = 0): Figures {
  const counts = new Map(BOUNDS.map((b) => [b, 0]));
  for (const l of latencies) {
    const b = BOUNDS.find((bound) => l <= bound)!;
    counts.set(b, counts.get(b)! + 1);
  }
  const requests = latencies.length;
  return {
    requests,
    errors,
    errorRate: requests === 0 ? 0 : errors / requests,
    p99Ms: requests === 0 ? null : quantile(counts, 0.99),
    latency: [...counts],
  };
}

/** n latencies spread evenly over [fromMs, toMs] (a synthetic, reproducible sample). */
const spread = (n: number, fromMs: number, toMs: number) =>
  Array.from({ length: n }, (_, i) => fromMs + ((toMs - fromMs) * (i + 0.5)) / n);
/** n requests between 2 and 20 ms, `errors` of them failing: a healthy service. */
const healthy = (n: number, errors = 0) => sample(spread(n, 2, 20), errors);

describe('analyze: synthetic samples at the edges', () => {
  const stable = healthy(10_000, 100);
  it.each([
    // --- tiny samples
    ['no lane traffic yet', sample([]), stable, 'wait', /^0 of 20 lane requests needed/],
    ['19 clean lane requests', healthy(19), stable, 'wait', /^19 of 20 /],
    // Nothing wrong found, but too few requests for a verdict: the test has not passed the item.
    [
      '19 clean: the errors test says so far',
      healthy(19),
      stable,
      'wait',
      /errors .* → pass so far;/,
    ],
    ['20 clean lane requests', healthy(20), stable, 'pass', /errors .* → pass;/],
    [
      'every one of 5 requests failed: Fisher makes it a clear fail before 20',
      healthy(5, 5),
      healthy(1000),
      'fail',
      /^errors \(lane 100.00 % vs stable 0.00 %\): Fisher's exact and binomial beyond the floor \(5 lane errors\) p=1\.0e-10 < 0\.01 and \+100\.0 points ≥ 1\.0 → fail/,
    ],
    [
      '1 failure in 5 against a 1 % stable rate is chance: wait',
      healthy(5, 1),
      stable,
      'wait',
      /^5 of 20 .*Fisher's exact and binomial beyond the floor \(1 lane error\) p=0\.0961 ≥ 0\.01/,
    ],
    [
      'one slow request (a GC pause) among 49: latency not judged yet',
      sample([...spread(48, 2, 20), 900]),
      stable,
      'pass',
      /latency: not judged, 49 of 50 lane requests needed/,
    ],
    // --- identical distributions
    [
      'the same service on both sides',
      healthy(1000, 10),
      stable,
      'pass',
      /p=0\.\d+ ≥ 0\.01.*p=0\.\d+ ≥ 0\.01/,
    ],
    // --- real regressions
    [
      'a real 300 ms regression at 200 requests',
      sample(spread(200, 302, 320)),
      stable,
      'fail',
      /latency \(median 3\d\d\.\d ms vs stable 1\d\.\d ms\): Mann–Whitney U=\d+ p=.* < 0\.01, \+\d+\.\d ms ≥ 100 ms and ×\d+\.\d\d ≥ 1\.5 → fail/,
    ],
    [
      'a 2× error rate at 1,000 requests (10 % against 5 %)',
      healthy(1000, 100),
      healthy(10_000, 500),
      'fail',
      /^errors \(lane 10.00 % vs stable 5.00 %\): two-proportion z=4\.11 \(difference beyond the floor\) p=2\.0e-5 < 0\.01 and \+5\.0 points ≥ 1\.0 → fail/,
    ],
    // --- significant but negligible
    [
      '0.5 points more errors on 100,000 requests: significant, below the floor',
      healthy(100_000, 1500),
      healthy(1_000_000, 10_000),
      'pass',
      /two-proportion z=-12\.59 \(difference beyond the floor\) p=1 ≥ 0\.01 and \+0\.5 points < 1\.0 → pass/,
    ],
    [
      'a healthy lane of fresh instances slightly slower under load, with a slow tail',
      sample([...spread(294, 3, 40), 150, 200, 250, 300, 350, 400]),
      stable,
      'pass',
      /latency \(median \d+\.\d ms vs stable \d+\.\d ms\): Mann–Whitney U=\d+ p=.* < 0\.01, \+\d+\.\d ms < 100 ms .* → pass/,
    ],
    [
      '+230 ms on a 1 s service: above the ms floor, below the ratio',
      sample(spread(200, 860, 1200)), // median ≈ 1229 ms (interpolated in its bucket)
      sample(spread(5000, 800, 1200)), // median 1000 ms
      'pass',
      /≥ 100 ms and ×1\.\d\d < 1\.5 → pass/,
    ],
    // --- nothing to compare with: no stable traffic (a module new with the ticket)
    [
      'half of 100 requests failing with no stable traffic',
      healthy(100, 50),
      sample([]),
      'fail',
      /binomial against the floor, no stable traffic \(50 lane errors\) p=.* < 0\.01 .* → fail; latency: not judged, no stable traffic/,
    ],
    ['a clean lane with no stable traffic', healthy(100), sample([]), 'pass', /p=1 ≥ 0\.01/],
  ])('%s → %s', (_name, lane, stableSide, verdict, reason) => {
    const v = analyze(item, lane, stableSide, plan);
    expect(v.verdict).toBe(verdict);
    // A wait's reason names what it waits for; every verdict's tests say the rest in words.
    expect([v.reason, ...(v.tests ?? []).map((t) => t.reason)].join('; ')).toMatch(reason);
    if (verdict === 'wait')
      expect(v.reason).toMatch(/^\d+ of 20 lane requests needed for a verdict$/);
    expect(v).toMatchObject({
      module: 'orders',
      version: '2.0.0',
      lane: { requests: lane.requests, errorRate: lane.errorRate, p99Ms: lane.p99Ms },
      stable: { requests: stableSide.requests },
    });
    expect(v.tests?.map((t) => t.metric)).toEqual(['errors', 'latency']);
  });

  it('each test is recorded: name, statistic, one-sided p, effect and decision', () => {
    const v = analyze(item, sample(spread(200, 302, 320), 20), healthy(10_000, 100), plan);
    const [errors, latency] = v.tests ?? [];
    expect(errors).toMatchObject({ metric: 'errors', test: 'fisher-exact', decision: 'fail' });
    expect(errors?.statistic).toBe(20); // an expected cell below 5 (120 errors × 200 / 10,200)
    expect(errors?.effect).toBeCloseTo(0.09, 12);
    expect(errors?.pValue).toBeLessThan(0.01);
    expect(latency).toMatchObject({ metric: 'latency', test: 'mann-whitney-u', decision: 'fail' });
    expect(latency?.statistic).toBe(200 * 10_000); // every lane request slower than every stable one
    expect(latency?.effect).toBeGreaterThan(250);
    expect(v.reason).toBe(`${errors?.reason}; ${latency?.reason}`);
  });

  it("confidence is the plan's: 8.3 % against 5.5 % at 1,000 requests (p ≈ 0.023 beyond the floor) fails at 0.95, not at 0.99", () => {
    const lane = healthy(1000, 83);
    const stable = healthy(10_000, 550);
    expect(analyze(item, lane, stable, plan).verdict).toBe('pass');
    const looser = analysisSchema.parse({ confidence: 0.95 });
    expect(analyze(item, lane, stable, looser).verdict).toBe('fail');
    expect(analyze(item, lane, stable, looser).reason).toMatch(
      /z=2\.00 \(difference beyond the floor\) p=0\.023 < 0\.05/,
    );
  });

  it('the negligible difference is significant by itself: the floor is what passes it', () => {
    const r = errorRateTest(
      { requests: 100_000, errors: 1500 },
      { requests: 1_000_000, errors: 10_000 },
    );
    expect(r.pValue).toBeLessThan(1e-40);
  });

  it("the effect floors are the plan's", () => {
    const lane = sample(spread(200, 40, 60));
    const stable = healthy(10_000);
    expect(analyze(item, lane, stable, plan).verdict).toBe('pass');
    const strict = analysisSchema.parse({ minLatencyIncreaseMs: 20, minErrorRateIncrease: 0 });
    expect(analyze(item, lane, stable, strict).verdict).toBe('fail');
    expect(analyze(item, healthy(1000, 3), healthy(1000), strict).verdict).toBe('pass'); // p ≈ 0.12
    expect(analyze(item, healthy(1000, 8), healthy(1000), strict).verdict).toBe('fail');
  });

  it('overall: a failure wins over waiting, waiting over passing', () => {
    const v = (verdict: 'pass' | 'fail' | 'wait') => ({
      ...analyze(item, sample([]), sample([]), plan),
      verdict,
    });
    expect(overall([v('pass'), v('wait'), v('fail')])).toBe('fail');
    expect(overall([v('pass'), v('wait')])).toBe('wait');
    expect(overall([v('pass')])).toBe('pass');
    expect(overall([])).toBe('pass');
  });
});

describe('plan: the thresholds before the tests (issue 12)', () => {
  // As `release canary` stored it before: the old thresholds with their defaults filled in.
  const stored = {
    replicas: 2,
    canary: { steps: [10, 50], pauseMs: 60_000, segments: [], key: { header: 'x-user-id' } },
    analysis: {
      maxErrorRate: 0.05,
      maxErrorRateIncrease: 0.02,
      maxP99Ratio: 3,
      p99SlackMs: 250,
      minRequests: 20,
      minLatencyRequests: 200,
      windowMs: 30_000,
    },
  };

  it('a stored ticket keeps its canary steps; the increase becomes the error floor, the rest goes', () => {
    const plan = readPlan(stored);
    expect(plan).toMatchObject({ replicas: 2, canary: { steps: [10, 50], pauseMs: 60_000 } });
    expect(plan.analysis).toEqual({
      confidence: 0.99,
      minErrorRateIncrease: 0.02,
      minLatencyIncreaseMs: 100,
      minLatencyRatio: 1.5,
      minRequests: 20,
      minLatencyRequests: 200,
      windowMs: 30_000,
    });
  });

  it('a new plan naming a retired threshold is refused, naming the field and its replacement', () => {
    const r = planSchema.safeParse({ analysis: { maxErrorRate: 0.05 } });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]).toMatchObject({ path: ['analysis', 'maxErrorRate'] });
    expect(r.error?.issues[0]?.message).toMatch(/^retired: .*minErrorRateIncrease/);
  });
});

// Which items a ticket answers for, as Given / When / Then: given the shop (web → orders →
// account, web → catalog) on 1.0.0 and a ticket that lists web at its stable version beside a
// change, when the lane's traffic is judged, then only errors that come from the change count.
describe('judge: the ticket answers for what it changes', () => {
  const STABLE = new Set(['web@1.0.0', 'orders@1.0.0', 'account@1.0.0', 'catalog@1.0.0']);
  /** n requests at 10 ms, a share of them errors. */
  const f = (n: number, errorRate: number): Figures => ({
    ...sample(spread(n, 6, 10)),
    errors: Math.round(n * errorRate),
    errorRate: n === 0 ? 0 : Math.round(n * errorRate) / n,
  });
  const clean = f(1000, 0);
  /** Lane figures by module (stable: clean unless given); a module absent had no lane traffic. */
  const observed =
    (lane: Record<string, Figures>, stable: Record<string, Figures> = {}) =>
    (i: { module: string }): ItemFigures => ({
      lane: lane[i.module] ?? f(0, 0),
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
      observed({ catalog: f(100, 0.5), web: f(200, 0.3), orders: f(200, 0) }),
    );
    expect(overall(v)).toBe('pass');
    expect(v[0]).toMatchObject({ module: 'web', verdict: 'pass', lane: { errorRate: 0.3 } });
    expect(v[0]?.reason).toMatch(/^unchanged .*30.00 % is not counted/);
    expect(v[1]).toMatchObject({ module: 'orders', verdict: 'pass' });
  });

  it("the ticket's own item errs: fail, whatever its callers do", () => {
    const v = verdicts([web, orders2], observed({ web: f(200, 0), orders: f(200, 0.3) }));
    expect(overall(v)).toBe('fail');
    expect(v[1]).toMatchObject({ module: 'orders', verdict: 'fail' });
    expect(v[1]?.reason).toMatch(/^errors \(lane 30.00 % vs stable 0.00 %\): .* → fail/);
    expect(verdicts([orders2], observed({ orders: f(200, 0.3) }))[0]?.verdict).toBe('fail');
  });

  it("an unchanged caller's errors coincide with errors on the ticket's item in the lane: they count", () => {
    // orders@2.0.0 alone passes (1 error in 200: chance); web, calling it, fails at 30 %.
    const v = verdicts([web, orders2], observed({ web: f(200, 0.3), orders: f(200, 0.005) }));
    expect(v[1]).toMatchObject({ module: 'orders', verdict: 'pass' });
    expect(v[0]).toMatchObject({ module: 'web', verdict: 'fail' });
    expect(v[0]?.reason).toMatch(
      /^errors \(lane 30.00 % vs stable 0.00 %\): .* → fail;.*counted: it calls orders@2.0.0 0.50 %/,
    );
    expect(overall(v)).toBe('fail');
  });

  it('through modules the ticket does not list: web reaches account@2.0.0 via orders', () => {
    const account2 = { module: 'account', version: '2.0.0' };
    const erring = observed({ web: f(200, 0.3), account: f(200, 0.005) });
    expect(overall(verdicts([web, account2], erring))).toBe('fail');
    const quiet = observed({ web: f(200, 0.3), account: f(200, 0) });
    expect(overall(verdicts([web, account2], quiet))).toBe('pass');
  });

  it('a changed item erring no more in the lane than in stable does not make the caller count', () => {
    const same = observed({ web: f(200, 0.3), orders: f(200, 0.03) }, { orders: f(1000, 0.03) });
    expect(overall(verdicts([web, orders2], same))).toBe('pass');
  });
});
