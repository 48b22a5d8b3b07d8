// Significance tests for canary analysis, as Kayenta judges a canary: is the lane worse than
// stable by more than chance explains, given how many requests each side has seen? Pure numbers
// in, a statistic and a one-sided p-value out (the alternative is always "the lane is worse").
//
// - Error rate: Fisher's exact test while any expected cell of the 2×2 table is below 5 (the
//   normal approximation is poor there), the pooled two-proportion z-test beyond.
// - Latency: Mann–Whitney U over the two latency histograms. A histogram bucket is a tie group,
//   so U counts each (lane, stable) pair in the same bucket as half; the variance has the usual
//   tie correction. Normal approximation with continuity correction (the samples are hundreds).

export interface Count {
  readonly requests: number;
  readonly errors: number;
}

/** Non-cumulative latency histogram: [upper bound in ms (Infinity for the last), requests]. */
export type Histogram = ReadonlyArray<readonly [number, number]>;

export interface TestResult {
  readonly test: 'fisher-exact' | 'two-proportion-z' | 'mann-whitney-u' | 'binomial';
  /** Fisher and binomial: the lane's error count; z-test: z; Mann–Whitney: U of the lane. */
  readonly statistic: number;
  /** One-sided: the chance of a result at least this bad for the lane if lane and stable were alike. */
  readonly pValue: number;
}

export interface MannWhitneyResult extends TestResult {
  readonly test: 'mann-whitney-u';
  /** U / (n₁·n₂): the chance a lane request is slower than a stable one (ties count half). */
  readonly superiority: number;
}

/** Upper tail of the standard normal distribution, P(Z ≥ z). */
export function normalUpperTail(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

/** Complementary error function; Numerical Recipes' Chebyshev fit, relative error < 1.2e-7. */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t *
                              (-1.13520398 +
                                t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** ln(n!) by summing logs up to a table size, Stirling's series beyond (error < 1e-10 there). */
const LOG_FACTORIAL: number[] = [0];
for (let i = 1; i <= 1024; i++) LOG_FACTORIAL[i] = LOG_FACTORIAL[i - 1]! + Math.log(i);
function logFactorial(n: number): number {
  if (n <= 1024) return LOG_FACTORIAL[n]!;
  return (
    (n + 0.5) * Math.log(n) - n + 0.5 * Math.log(2 * Math.PI) + 1 / (12 * n) - 1 / (360 * n ** 3)
  );
}

function logChoose(n: number, k: number): number {
  return logFactorial(n) - logFactorial(k) - logFactorial(n - k);
}

/**
 * Fisher's exact test, one-sided: P(X ≥ laneErrors) where X, the lane's share of all errors, is
 * hypergeometric given the margins (every request equally likely to be one of the errors).
 */
export function fisherExactGreater(lane: Count, stable: Count): number {
  const total = lane.requests + stable.requests;
  const errors = lane.errors + stable.errors;
  const top = Math.min(errors, lane.requests);
  const denominator = logChoose(total, lane.requests);
  let p = 0;
  for (let x = lane.errors; x <= top; x++) {
    p += Math.exp(
      logChoose(errors, x) + logChoose(total - errors, lane.requests - x) - denominator,
    );
  }
  return Math.min(1, p);
}

/** Is the lane's error rate above stable's by more than chance? Fisher for small counts, else z. */
export function errorRateTest(lane: Count, stable: Count): TestResult {
  const total = lane.requests + stable.requests;
  const errors = lane.errors + stable.errors;
  if (lane.requests === 0 || stable.requests === 0 || errors === 0 || errors === total) {
    // No variation to test: nothing says the lane is worse.
    return { test: 'two-proportion-z', statistic: 0, pValue: 1 };
  }
  const smallestExpected =
    (Math.min(errors, total - errors) * Math.min(lane.requests, stable.requests)) / total;
  if (smallestExpected < 5) {
    return {
      test: 'fisher-exact',
      statistic: lane.errors,
      pValue: fisherExactGreater(lane, stable),
    };
  }
  const pooled = errors / total;
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / lane.requests + 1 / stable.requests));
  const z = (lane.errors / lane.requests - stable.errors / stable.requests) / se;
  return { test: 'two-proportion-z', statistic: z, pValue: normalUpperTail(z) };
}

/**
 * Mann–Whitney U, one-sided (the lane's latencies tend to be larger), from two histograms with
 * the same bucket bounds (a bound missing on one side counts as 0 there).
 */
export function mannWhitneyGreater(lane: Histogram, stable: Histogram): MannWhitneyResult {
  const bounds = [...new Set([...lane.map(([b]) => b), ...stable.map(([b]) => b)])].sort(
    (a, b) => a - b,
  );
  const laneAt = new Map(lane);
  const stableAt = new Map(stable);
  let u = 0;
  let stableBelow = 0;
  let ties = 0;
  let n1 = 0;
  let n2 = 0;
  for (const bound of bounds) {
    const l = laneAt.get(bound) ?? 0;
    const s = stableAt.get(bound) ?? 0;
    u += l * (stableBelow + s / 2);
    stableBelow += s;
    const t = l + s;
    ties += t ** 3 - t;
    n1 += l;
    n2 += s;
  }
  if (n1 === 0 || n2 === 0) {
    return { test: 'mann-whitney-u', statistic: 0, pValue: 1, superiority: 0.5 };
  }
  const n = n1 + n2;
  const mean = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - ties / (n * (n - 1)));
  const superiority = u / (n1 * n2);
  if (variance <= 0) return { test: 'mann-whitney-u', statistic: u, pValue: 1, superiority };
  const z = (u - mean - 0.5) / Math.sqrt(variance);
  return { test: 'mann-whitney-u', statistic: u, pValue: normalUpperTail(z), superiority };
}

/**
 * One-sided binomial test: P(X ≥ errors) for X ~ Binomial(requests, rate). For a lane with no
 * stable traffic to compare with: is its error rate above `rate` (the effect floor) by more than
 * chance?
 */
export function binomialGreater(lane: Count, rate: number): TestResult {
  if (lane.errors === 0) return { test: 'binomial', statistic: 0, pValue: 1 };
  if (rate <= 0) return { test: 'binomial', statistic: lane.errors, pValue: 0 };
  if (rate >= 1) return { test: 'binomial', statistic: lane.errors, pValue: 1 };
  let p = 0;
  for (let x = lane.errors; x <= lane.requests; x++) {
    p += Math.exp(
      logChoose(lane.requests, x) + x * Math.log(rate) + (lane.requests - x) * Math.log1p(-rate),
    );
  }
  return { test: 'binomial', statistic: lane.errors, pValue: Math.min(1, p) };
}

/**
 * Is the lane's error rate above stable's by more than `margin`, beyond chance? One-sided Wald
 * z-test of (lane rate − stable rate − margin) with the unpooled standard error (the rates are
 * not assumed equal under this null). With margin 0 it asks the same as the pooled z-test.
 */
export function twoProportionAbove(lane: Count, stable: Count, margin: number): TestResult {
  if (lane.requests === 0 || stable.requests === 0)
    return { test: 'two-proportion-z', statistic: 0, pValue: 1 };
  const p1 = lane.errors / lane.requests;
  const p2 = stable.errors / stable.requests;
  const se = Math.sqrt((p1 * (1 - p1)) / lane.requests + (p2 * (1 - p2)) / stable.requests);
  const d = p1 - p2 - margin;
  if (se === 0) return { test: 'two-proportion-z', statistic: 0, pValue: d > 0 ? 0 : 1 };
  const z = d / se;
  return { test: 'two-proportion-z', statistic: z, pValue: normalUpperTail(z) };
}
