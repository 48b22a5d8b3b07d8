// Canary analysis: one ticket item's lane traffic against stable traffic of the same module, over
// the same window. Pure: the engine reads the figures from the control plane's stats window.
//
// Verdicts: `wait` while the lane has fewer than minRequests requests (no verdict on too little
// evidence); `fail` when the lane's error rate or p99 is out of bounds; `pass` otherwise.

import type { AnalysisPlan } from './plan.js';
import type { Verdict } from './progress.js';

/** The figures analysis needs (a subset of the stats window's TrafficSummary). */
export interface Figures {
  readonly requests: number;
  readonly errorRate: number;
  readonly p99Ms: number | null;
}

const pct = (x: number) => `${(x * 100).toFixed(2)} %`;
const ms = (x: number | null) => (x === null ? 'n/a' : `${x.toFixed(1)} ms`);

export function analyze(
  item: { module: string; version: string },
  lane: Figures,
  stable: Figures,
  plan: AnalysisPlan,
): Verdict {
  const base = {
    module: item.module,
    version: item.version,
    lane: { requests: lane.requests, errorRate: lane.errorRate, p99Ms: lane.p99Ms },
    stable: { requests: stable.requests, errorRate: stable.errorRate, p99Ms: stable.p99Ms },
  };
  const errorLimit = Math.max(plan.maxErrorRate, stable.errorRate + plan.maxErrorRateIncrease);
  // Errors fail a canary even on a small sample once they alone exceed what minRequests allows:
  // 5 failures in 5 requests need not wait for 20.
  const surelyOver = lane.errorRate * lane.requests > errorLimit * plan.minRequests;
  if (lane.requests < plan.minRequests && !surelyOver) {
    return {
      ...base,
      verdict: 'wait',
      reason: `${lane.requests} of ${plan.minRequests} lane requests needed for a verdict`,
    };
  }
  if (lane.errorRate > errorLimit) {
    return {
      ...base,
      verdict: 'fail',
      reason: `error rate ${pct(lane.errorRate)} > limit ${pct(errorLimit)} (stable ${pct(stable.errorRate)})`,
    };
  }
  const judgeLatency = lane.requests >= plan.minLatencyRequests;
  if (judgeLatency && lane.p99Ms !== null && stable.p99Ms !== null) {
    const limit = Math.max(stable.p99Ms * plan.maxP99Ratio, stable.p99Ms + plan.p99SlackMs);
    if (lane.p99Ms > limit) {
      return {
        ...base,
        verdict: 'fail',
        reason: `p99 ${ms(lane.p99Ms)} > limit ${ms(limit)} (stable ${ms(stable.p99Ms)})`,
      };
    }
  }
  return {
    ...base,
    verdict: 'pass',
    reason: `error rate ${pct(lane.errorRate)} ≤ ${pct(errorLimit)}, p99 ${ms(lane.p99Ms)} (stable ${ms(stable.p99Ms)})${judgeLatency ? '' : `; latency not judged below ${plan.minLatencyRequests} requests`}`,
  };
}

/** The ticket's verdict: any item failing fails it; any item waiting holds it. */
export function overall(verdicts: readonly Verdict[]): 'pass' | 'fail' | 'wait' {
  if (verdicts.some((v) => v.verdict === 'fail')) return 'fail';
  if (verdicts.some((v) => v.verdict === 'wait')) return 'wait';
  return 'pass';
}
