// Canary analysis: one ticket item's lane traffic against stable traffic of the same module, over
// the same window. Pure: the engine reads the figures from the control plane's stats window.
//
// Each metric is a significance test, as Kayenta judges a canary (statistics.ts), plus an effect
// floor: a metric fails only when the lane is worse by more than chance explains (one-sided
// p < 1 − confidence) AND by at least the floor, so a significant but negligible difference on a
// large sample passes.
// - Errors (errorRateBeyondFloor): Fisher's exact test at small counts, together with an exact
//   binomial test of the lane against stable's rate + the floor; the two-proportion z-test of the
//   difference less the floor beyond; a binomial test against the floor when stable saw no
//   traffic. Floor: minErrorRateIncrease points.
// - Latency, from minLatencyRequests lane requests: Mann–Whitney U over the two histograms;
//   floor: the lane's median at least minLatencyIncreaseMs above stable's AND minLatencyRatio
//   times it. Mann–Whitney asks whether a typical lane request is slower than a typical stable
//   one, so the effect it is paired with is the typical request's: the median (a Hodges–Lehmann
//   shift would be finer, but the histogram's 2–2.5× wide buckets dominate either). Both floors,
//   because +100 ms means nothing at 2 s and ×3 means nothing at 2 ms. A tail-only regression (1 %
//   of requests a second slower) moves neither U nor the median and passes; if it turns into
//   timeouts the error test sees them.
// Verdicts: `wait` below minRequests lane requests unless the errors already fail (5 failures in
// 5 requests is a clear fail), `fail` when a metric fails, `pass` otherwise.
//
// Repeated looks: the engine re-judges every tick over a window growing from the step's start,
// and each look may be a false significance, so over a step's many looks one is far likelier than
// 1 − confidence. The floors keep that in check: for a lane no worse than stable the observed
// difference shrinks as requests accumulate, and the error tests ask whether it is beyond the
// floor (not merely above 0), so the later looks almost never fail. Simulated with
// scripts/analysis-looks.ts (stable and lane alike, lognormal latencies, 30 looks a step, lane
// 10 req/s, stable 90): with the floors 0 of 1,000 steps failed at a 1 % error rate on both sides
// and 15 of 1,000 at 2 %; with all floors at 0, 84 and 91 of 1,000. At lane 50 req/s and 2 %: 0
// of 300 with, 23 of 300 without.
//
// judge() decides which items a ticket answers for: the versions it changes. An item listed at
// the version already stable is a caller of the changes at most — its errors may come from a
// module the ticket does not touch (an instance killed elsewhere), and they count only when the
// lane's traffic on a changed item it calls shows errors too.

import type { AnalysisPlan } from '../store/plan.js';
import type { Graph } from './planner.js';
import type { MetricTest, Verdict } from './progress.js';
import type { Histogram, TestResult } from './statistics.js';
import {
  binomialGreater,
  errorRateTest,
  mannWhitneyGreater,
  twoProportionAbove,
} from './statistics.js';
import { quantile } from './stats-window.js';

/** The figures analysis needs (from the stats window's summary and histogram). */
export interface Figures {
  readonly requests: number;
  readonly errors: number;
  readonly errorRate: number;
  readonly p99Ms: number | null;
  /** Non-cumulative latency histogram over the same window: [upper bound ms, requests]. */
  readonly latency: Histogram;
}

const pct = (x: number) => `${(x * 100).toFixed(2)} %`;
const ms = (x: number) => `${x.toFixed(1)} ms`;
const num = (x: number) => String(Number(x.toFixed(4)));
const pOf = (p: number) => (p !== 0 && p < 0.0001 ? p.toExponential(1) : num(p));
const points = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(1)} points`;

const errorsWord = (k: number) => `${k} lane error${k === 1 ? '' : 's'}`;

const NAMES: Record<TestResult['test'], (statistic: number) => string> = {
  'fisher-exact': (k) => `Fisher's exact and binomial beyond the floor (${errorsWord(k)})`,
  'two-proportion-z': (z) => `two-proportion z=${z.toFixed(2)} (difference beyond the floor)`,
  binomial: (k) => `binomial against the floor, no stable traffic (${errorsWord(k)})`,
  'mann-whitney-u': (u) => `Mann–Whitney U=${Math.round(u)}`,
};

/** The fields a verdict stores (the schema is strict: a stray field would void the progress). */
const numbers = (r: TestResult) => ({ test: r.test, statistic: r.statistic, pValue: r.pValue });

/** `p=… < α` or `p=… ≥ α`, and whether it is significant. */
function significance(r: TestResult, alpha: number): { significant: boolean; words: string } {
  const significant = r.pValue < alpha;
  return {
    significant,
    words: `${NAMES[r.test](r.statistic)} p=${pOf(r.pValue)} ${significant ? '<' : '≥'} ${num(alpha)}`,
  };
}

/**
 * The error test: is the lane's error rate above stable's plus the floor, beyond chance? At small
 * counts Fisher's exact test (worse at all) and an exact binomial test of the lane against
 * stable's rate + the floor (worse by more than the floor, stable's rate taken as known: it has
 * the far bigger sample) must both be significant; the larger p is the one reported. Beyond, the
 * two-proportion z-test of the difference less the floor. Without stable traffic, the binomial
 * against the floor alone.
 */
function errorRateBeyondFloor(lane: Figures, stable: Figures, floor: number): TestResult {
  if (stable.requests === 0) return binomialGreater(lane, floor);
  const stableCount = { requests: stable.requests, errors: stable.errors };
  const exact = errorRateTest(lane, stableCount);
  if (exact.test === 'fisher-exact') {
    const beyond = binomialGreater(lane, Math.min(1, stable.errorRate + floor));
    return { ...exact, pValue: Math.max(exact.pValue, beyond.pValue) };
  }
  return exact.pValue < 1 ? twoProportionAbove(lane, stableCount, floor) : exact;
}

/**
 * A decision in words. While the lane has fewer requests than a verdict needs, a test that found
 * nothing wrong has not passed the item — the item waits — so its line says `pass so far`.
 */
function decided(decision: 'pass' | 'fail', waiting: boolean): string {
  return decision === 'pass' && waiting ? 'pass so far' : decision;
}

function errorsTest(
  lane: Figures,
  stable: Figures,
  plan: AnalysisPlan,
  waiting: boolean,
): MetricTest {
  const alpha = 1 - plan.confidence;
  const floor = plan.minErrorRateIncrease;
  const r = errorRateBeyondFloor(lane, stable, floor);
  const effect = lane.errorRate - stable.errorRate;
  const big = effect >= floor;
  const s = significance(r, alpha);
  const decision = s.significant && big ? 'fail' : 'pass';
  const rates = `lane ${pct(lane.errorRate)} vs stable ${pct(stable.errorRate)}`;
  return {
    metric: 'errors',
    ...numbers(r),
    effect,
    decision,
    reason: `errors (${rates}): ${s.words} and ${points(effect)} ${big ? '≥' : '<'} ${(floor * 100).toFixed(1)} → ${decided(decision, waiting)}`,
  };
}

function latencyTest(
  lane: Figures,
  stable: Figures,
  plan: AnalysisPlan,
  waiting: boolean,
): MetricTest {
  const r = mannWhitneyGreater(lane.latency, stable.latency);
  const laneMedian = quantile(new Map(lane.latency), 0.5);
  const stableMedian = quantile(new Map(stable.latency), 0.5);
  const base = { metric: 'latency' as const, ...numbers(r) };
  if (lane.requests < plan.minLatencyRequests || laneMedian === null || stableMedian === null) {
    const why =
      lane.requests < plan.minLatencyRequests
        ? `${lane.requests} of ${plan.minLatencyRequests} lane requests needed`
        : 'no stable traffic to compare with';
    return { ...base, effect: null, decision: 'not judged', reason: `latency: not judged, ${why}` };
  }
  const effect = laneMedian - stableMedian;
  const ratio = stableMedian > 0 ? laneMedian / stableMedian : Number.POSITIVE_INFINITY;
  const far = effect >= plan.minLatencyIncreaseMs;
  const times = ratio >= plan.minLatencyRatio;
  const s = significance(r, 1 - plan.confidence);
  const decision = s.significant && far && times ? 'fail' : 'pass';
  const medians = `median ${ms(laneMedian)} vs stable ${ms(stableMedian)}`;
  return {
    ...base,
    effect,
    decision,
    reason: `latency (${medians}): ${s.words}, ${effect >= 0 ? '+' : '−'}${ms(Math.abs(effect))} ${far ? '≥' : '<'} ${plan.minLatencyIncreaseMs} ms and ×${ratio.toFixed(2)} ${times ? '≥' : '<'} ${plan.minLatencyRatio} → ${decided(decision, waiting)}`,
  };
}

export function analyze(
  item: { module: string; version: string },
  lane: Figures,
  stable: Figures,
  plan: AnalysisPlan,
): Verdict {
  const waiting = lane.requests < plan.minRequests;
  const errors = errorsTest(lane, stable, plan, waiting);
  const latency = latencyTest(lane, stable, plan, waiting);
  const tests = [errors, latency];
  const verdict =
    errors.decision === 'fail' || latency.decision === 'fail' ? 'fail' : waiting ? 'wait' : 'pass';
  // A wait names what it waits for (the hold message quotes it); its tests are in `tests`.
  const reason =
    verdict === 'wait'
      ? `${lane.requests} of ${plan.minRequests} lane requests needed for a verdict`
      : tests.map((t) => t.reason).join('; ');
  return {
    module: item.module,
    version: item.version,
    verdict,
    reason,
    lane: { requests: lane.requests, errorRate: lane.errorRate, p99Ms: lane.p99Ms },
    stable: { requests: stable.requests, errorRate: stable.errorRate, p99Ms: stable.p99Ms },
    tests,
  };
}

/** The ticket's verdict: any item failing fails it; any item waiting holds it. */
export function overall(verdicts: readonly Verdict[]): 'pass' | 'fail' | 'wait' {
  if (verdicts.some((v) => v.verdict === 'fail')) return 'fail';
  if (verdicts.some((v) => v.verdict === 'wait')) return 'wait';
  return 'pass';
}

type Item = { readonly module: string; readonly version: string };

/** An item's lane and stable figures over the same window. */
export interface ItemFigures {
  readonly lane: Figures;
  readonly stable: Figures;
}

export interface Judged {
  readonly items: readonly Item[];
  readonly figures: (item: Item) => ItemFigures;
  /** `module@version` of the versions stable traffic is served by (the product's base dtab). */
  readonly stable: ReadonlySet<string>;
  readonly graph: Graph;
  readonly plan: AnalysisPlan;
}

/**
 * The ticket's verdicts, one per item. A changed item is judged on its own lane traffic. An
 * unchanged one passes unless a changed item it reaches through the call graph errs more in the
 * lane than in stable; then the caller is judged too (its errors come from the ticket's change).
 */
export function judge(j: Judged): Verdict[] {
  const unchanged = (i: Item) => j.stable.has(`${i.module}@${i.version}`);
  const changed = new Map(j.items.filter((i) => !unchanged(i)).map((i) => [i.module, i]));
  return j.items.map((item) => {
    const f = j.figures(item);
    if (!unchanged(item)) return analyze(item, f.lane, f.stable, j.plan);
    const erring = reached(item.module, j.graph, changed)
      .map((callee) => ({ callee, ...j.figures(callee) }))
      .filter((c) => c.lane.requests > 0 && c.lane.errorRate > c.stable.errorRate);
    if (erring.length === 0) {
      return {
        ...analyze(item, f.lane, f.stable, j.plan),
        verdict: 'pass',
        reason: `unchanged (the stable version): its lane error rate ${pct(f.lane.errorRate)} is not counted, no changed item it calls errs in the lane`,
      };
    }
    const v = analyze(item, f.lane, f.stable, j.plan);
    const why = erring.map(
      (c) => `${c.callee.module}@${c.callee.version} ${pct(c.lane.errorRate)}`,
    );
    return { ...v, reason: `${v.reason}; counted: it calls ${why.join(', ')} erring in the lane` };
  });
}

/** The changed items `from` calls, directly or through other modules (the graph has no cycles). */
function reached(from: string, graph: Graph, changed: ReadonlyMap<string, Item>): Item[] {
  const seen = new Set<string>();
  const out: Item[] = [];
  const visit = (m: string): void => {
    for (const callee of graph.get(m) ?? []) {
      if (seen.has(callee)) continue;
      seen.add(callee);
      const item = changed.get(callee);
      if (item !== undefined) out.push(item);
      visit(callee);
    }
  };
  visit(from);
  return out;
}
