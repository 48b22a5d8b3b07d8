// Repeated looks at a healthy canary: lane and stable drawn alike (same error rate, the same
// lognormal latencies), judged once a second for a 30 s step as the engine does, the window
// growing from the step's start. Prints how many steps some look failed, with the default plan
// and with every effect floor at 0. Seeded, so a run repeats exactly.
//   npx tsx scripts/analysis-looks.ts <lane req/s> <stable req/s> <error rate> <steps>
// The figures in src/release/analysis.ts and the README come from `10 90 0.01 1000`,
// `10 90 0.02 1000` and `50 450 0.02 300`.

import type { Figures } from '../src/release/analysis.js';
import { analyze } from '../src/release/analysis.js';
import { analysisSchema } from '../src/store/plan.js';

const BOUNDS = [0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, Infinity];
let seed = 12345;
const random = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
/** Lognormal around 8 ms (Box–Muller). */
const latency = () =>
  8 *
  Math.exp(0.8 * Math.sqrt(-2 * Math.log(random() || 1e-12)) * Math.cos(2 * Math.PI * random()));

interface Side {
  requests: number;
  errors: number;
  hist: Map<number, number>;
}
const side = (): Side => ({ requests: 0, errors: 0, hist: new Map(BOUNDS.map((b) => [b, 0])) });
function serve(s: Side, n: number, errorRate: number): void {
  for (let i = 0; i < n; i++) {
    s.requests++;
    if (random() < errorRate) s.errors++;
    const l = latency();
    const bound = BOUNDS.find((b) => l <= b) ?? Infinity;
    s.hist.set(bound, (s.hist.get(bound) ?? 0) + 1);
  }
}
const figures = (s: Side): Figures => ({
  requests: s.requests,
  errors: s.errors,
  errorRate: s.requests === 0 ? 0 : s.errors / s.requests,
  p99Ms: null,
  latency: [...s.hist],
});

const [laneRps, stableRps, errorRate, steps] = process.argv.slice(2).map(Number);
if ([laneRps, stableRps, errorRate, steps].some((x) => x === undefined || Number.isNaN(x))) {
  console.error('usage: analysis-looks.ts <lane req/s> <stable req/s> <error rate> <steps>');
  process.exit(2);
}
const plans = {
  'default plan': analysisSchema.parse({}),
  'floors at 0': analysisSchema.parse({
    minErrorRateIncrease: 0,
    minLatencyIncreaseMs: 0,
    minLatencyRatio: 1,
  }),
};
for (const [name, plan] of Object.entries(plans)) {
  seed = 12345;
  let failedSteps = 0;
  for (let k = 0; k < steps!; k++) {
    const lane = side();
    const stable = side();
    let failed = false;
    for (let t = 0; t < 30; t++) {
      serve(lane, laneRps!, errorRate!);
      serve(stable, stableRps!, errorRate!);
      const v = analyze({ module: 'm', version: 'v' }, figures(lane), figures(stable), plan);
      if (v.verdict === 'fail') failed = true;
    }
    if (failed) failedSteps++;
  }
  console.log(
    `${name}: lane ${laneRps}/s, stable ${stableRps}/s, error rate ${errorRate}, 30 looks a step: ${failedSteps} of ${steps} healthy steps failed`,
  );
}
