// Canary analysis: one ticket item's lane traffic against stable traffic of the same module, over
// the same window. Pure: the engine reads the figures from the control plane's stats window.
//
// Verdicts: `wait` while the lane has fewer than minRequests requests (no verdict on too little
// evidence); `fail` when the lane's error rate or p99 is out of bounds; `pass` otherwise.
//
// judge() decides which items a ticket answers for: the versions it changes. An item listed at
// the version already stable is a caller of the changes at most — its errors may come from a
// module the ticket does not touch (an instance killed elsewhere), and they count only when the
// lane's traffic on a changed item it calls shows errors too.

import type { AnalysisPlan } from './plan.js';
import type { Graph } from './planner.js';
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
