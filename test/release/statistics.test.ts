// Specs for the significance tests behind canary analysis (src/release/statistics.ts). Expected
// values were computed independently (exact binomials with Python's math.comb, erfc from libm).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Histogram } from '../../src/release/statistics.js';
import {
  binomialGreater,
  errorRateTest,
  fisherExactGreater,
  mannWhitneyGreater,
  normalUpperTail,
  twoProportionAbove,
} from '../../src/release/statistics.js';

const count = (requests: number, errors: number) => ({ requests, errors });

describe('normalUpperTail', () => {
  it.each([
    [0, 0.5],
    [1.959963984540054, 0.025],
    [3, 0.0013498980316300957],
    [-2, 0.9772498680518208],
  ])('P(Z ≥ %d) = %d', (z, p) => {
    expect(normalUpperTail(z)).toBeCloseTo(p, 6);
  });
});

describe('fisherExactGreater', () => {
  it.each([
    ['the lady tasting tea (3 of 4 against 1 of 4)', count(4, 3), count(4, 1), 17 / 70],
    ['5 errors in 10 against 1 in 100', count(10, 5), count(100, 1), 1.1863566824506031e-5],
    ['2 errors in 50 against none in 2,000', count(50, 2), count(2000, 0), 5.832708400290445e-4],
    ['3 in 200 against 10 in 5,000', count(200, 3), count(5000, 10), 0.01204885998614052],
  ])('%s', (_name, lane, stable, p) => {
    expect(fisherExactGreater(lane, stable) / p).toBeCloseTo(1, 6);
  });

  it('is 1 when the lane has no errors (nothing at least as bad is less likely)', () => {
    expect(fisherExactGreater(count(100, 0), count(100, 3))).toBeCloseTo(1, 12);
  });
});

describe('errorRateTest', () => {
  it('uses Fisher while an expected cell is below 5', () => {
    const r = errorRateTest(count(50, 2), count(2000, 0));
    expect(r.test).toBe('fisher-exact');
    expect(r.statistic).toBe(2);
    expect(r.pValue).toBeCloseTo(5.832708400290445e-4, 9);
  });

  it('uses the pooled two-proportion z-test beyond: a 2× error rate at 1,000 requests is clear', () => {
    const r = errorRateTest(count(1000, 100), count(10_000, 500));
    expect(r.test).toBe('two-proportion-z');
    expect(r.statistic).toBeCloseTo(6.63856255679743, 6);
    expect(r.pValue / 1.583784558855554e-11).toBeCloseTo(1, 4);
  });

  it('does not call 6 % against 5 % at 1,000 requests significant', () => {
    const r = errorRateTest(count(1000, 60), count(10_000, 500));
    expect(r.statistic).toBeCloseTo(1.371677704975666, 6);
    expect(r.pValue).toBeCloseTo(0.08508189596418422, 6);
  });

  it.each([
    ['no lane requests', count(0, 0), count(100, 5)],
    ['no stable requests', count(100, 5), count(0, 0)],
    ['no errors anywhere', count(100, 0), count(1000, 0)],
    ['every request failed on both sides', count(10, 10), count(20, 20)],
  ])('has nothing to say with %s (p = 1)', (_name, lane, stable) => {
    expect(errorRateTest(lane, stable).pValue).toBe(1);
  });

  it('never calls a lane with a lower error rate worse', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 1, max: 5000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (n1, n2, r1, r2) => {
          const lane = count(n1, Math.floor(n1 * Math.min(r1, r2)));
          const stable = count(n2, Math.ceil(n2 * Math.max(r1, r2)));
          if (lane.errors / n1 > stable.errors / n2) return;
          expect(errorRateTest(lane, stable).pValue).toBeGreaterThan(0.4);
        },
      ),
    );
  });
});

/** The samples a histogram stands for, each at its bucket's bound. */
function expand(h: Histogram): number[] {
  return h.flatMap(([bound, n]) => Array<number>(n).fill(bound));
}

describe('mannWhitneyGreater', () => {
  it('counts U over every pair, ties half (checked against the pairs themselves)', () => {
    const bucket = fc.constantFrom(5, 10, 25, 50, 100, 250, Number.POSITIVE_INFINITY);
    const histogram = fc
      .array(fc.tuple(bucket, fc.integer({ min: 0, max: 30 })), { maxLength: 7 })
      .map((pairs) => [...new Map(pairs)] as Histogram);
    fc.assert(
      fc.property(histogram, histogram, (lane, stable) => {
        const xs = expand(lane);
        const ys = expand(stable);
        let u = 0;
        for (const x of xs) for (const y of ys) u += x > y ? 1 : x === y ? 0.5 : 0;
        const r = mannWhitneyGreater(lane, stable);
        expect(r.statistic).toBeCloseTo(u, 9);
        if (xs.length > 0 && ys.length > 0) {
          expect(r.superiority).toBeCloseTo(u / (xs.length * ys.length), 12);
        }
      }),
    );
  });

  const bounds = [5, 10, 25, 50, 100, 250, 500, 1000, Number.POSITIVE_INFINITY];
  const shape = (weights: number[], total: number): Histogram =>
    bounds.map((b, i) => [b, Math.round((weights[i] ?? 0) * total)] as const);
  const healthy = [0.1, 0.3, 0.4, 0.15, 0.04, 0.01, 0, 0, 0];

  it('finds nothing between identical distributions', () => {
    const r = mannWhitneyGreater(shape(healthy, 400), shape(healthy, 4000));
    expect(r.superiority).toBeCloseTo(0.5, 9);
    expect(r.pValue).toBeGreaterThan(0.4);
  });

  it('finds a 300 ms regression in 200 requests at once', () => {
    // Every request ~300 ms slower: the mass moves from ≤ 50 ms to the 250–500 ms buckets.
    const slow = [0, 0, 0, 0, 0, 0.1, 0.8, 0.1, 0];
    const r = mannWhitneyGreater(shape(slow, 200), shape(healthy, 4000));
    expect(r.superiority).toBeGreaterThan(0.99);
    expect(r.pValue).toBeLessThan(1e-20);
  });

  it('calls a faster lane not worse', () => {
    const fast = [0.5, 0.4, 0.1, 0, 0, 0, 0, 0, 0];
    expect(mannWhitneyGreater(shape(fast, 400), shape(healthy, 4000)).pValue).toBeGreaterThan(0.99);
  });

  it('has nothing to say with an empty side, or when every request is in one bucket', () => {
    expect(mannWhitneyGreater([], shape(healthy, 100)).pValue).toBe(1);
    expect(mannWhitneyGreater(shape(healthy, 100), []).pValue).toBe(1);
    expect(mannWhitneyGreater([[10, 50]], [[10, 500]]).pValue).toBe(1);
  });
});

// Values from exact binomials (Python's math.comb) and erfc, computed independently.
describe('binomialGreater (a lane against a rate, no stable traffic or stable + floor)', () => {
  it.each([
    ['5 errors in 5 against 1 %', count(5, 5), 0.01, 1.0000000000000002e-10],
    ['3 errors in 6 against 1 %', count(6, 3), 0.01, 1.955359e-5],
    ['1 error in 5 against 2 %', count(5, 1), 0.02, 0.0960792032],
  ])('%s', (_name, lane, rate, p) => {
    expect(binomialGreater(lane, rate).pValue / p).toBeCloseTo(1, 6);
  });

  it('is 1 with no errors, 0 with errors against a rate of 0', () => {
    expect(binomialGreater(count(100, 0), 0.01).pValue).toBe(1);
    expect(binomialGreater(count(100, 1), 0).pValue).toBe(0);
  });
});

describe('twoProportionAbove (the difference less a margin)', () => {
  it('a 2× error rate at 1,000 requests is 4 points beyond a 1-point margin: clear', () => {
    const r = twoProportionAbove(count(1000, 100), count(10_000, 500), 0.01);
    expect(r.statistic).toBeCloseTo(4.109323975500113, 6);
    expect(r.pValue / 1.9840952534992546e-5).toBeCloseTo(1, 4);
  });

  it('0.5 points more on 100,000 requests is below a 1-point margin: p = 1', () => {
    const r = twoProportionAbove(count(100_000, 1500), count(1_000_000, 10_000), 0.01);
    expect(r.statistic).toBeCloseTo(-12.592820612808007, 6);
    expect(r.pValue).toBeCloseTo(1, 12);
  });
});
