// `npm run bench`: the per-request routing decision for a product with 200 modules and 3 lanes,
// in ns/op, beside a reference measured in the same run (a plain Map.get of the answer). The
// version is picked by the proxy's own picker (src/proxy/destination.ts), not `pickBound`.
// Only the ratios are stable on shared machines; absolute figures move with load.

import { DEFAULT_WARMUP_WINDOW_MS } from '../src/proxy/balancer.js';
import { createDestinationPicker } from '../src/proxy/destination.js';
import { extractContext } from '../src/routing/context.js';
import type { Dtab } from '../src/routing/index.js';
import { bind, parseDtab, parsePath, versionNamer } from '../src/routing/index.js';
import type { RouteDecision } from '../src/routing/router.js';
import { createRouter } from '../src/routing/router.js';

const MODULES = 200;
const LANES = 3;

function buildProduct() {
  const base = parseDtab(
    Array.from({ length: MODULES }, (_, i) => `/svc/m${i} => /v/m${i}/1.0.0`).join(';\n'),
  );
  const lanes = new Map<string, Dtab>();
  for (let l = 0; l < LANES; l++) {
    // Each lane changes a handful of modules, as a release ticket does.
    const overlay = Array.from({ length: 5 }, (_, k) => (l * 40 + k * 7) % MODULES)
      .map((m) => `/svc/m${m} => /v/m${m}/2.${l}.0`)
      .join(';');
    lanes.set(`t-${l + 1}`, parseDtab(overlay));
  }
  const endpoints = new Map<string, Map<string, string[]>>();
  for (let i = 0; i < MODULES; i++) {
    const versions = new Map<string, string[]>([
      ['1.0.0', ['127.0.0.1:9001', '127.0.0.1:9002', '127.0.0.1:9003']],
    ]);
    for (let l = 0; l < LANES; l++) versions.set(`2.${l}.0`, [`127.0.0.1:${9100 + l}`]);
    endpoints.set(`m${i}`, versions);
  }
  return { base, lanes, lookup: (m: string, v: string) => endpoints.get(m)?.get(v) };
}

function measure(label: string, iterations: number, fn: (i: number) => unknown): number {
  let sink = 0;
  for (let i = 0; i < Math.min(iterations, 20_000); i++) if (fn(i)) sink++; // warm up the JIT
  const rounds: number[] = [];
  for (let r = 0; r < 7; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) if (fn(i)) sink++;
    rounds.push(Number(process.hrtime.bigint() - start) / iterations);
  }
  rounds.sort((a, b) => a - b);
  const median = rounds[3]!;
  if (sink < 0) console.log(label); // keeps `sink` observable so the loop is not optimised away
  return median;
}

function main(): void {
  const { base, lanes, lookup } = buildProduct();
  const router = createRouter({
    products: [{ name: 'shop', baseDtab: base, lanes }],
    endpoints: lookup,
  });
  const namers = [versionNamer(lookup)];
  const random = () => 0.5;
  // The picker the proxy uses (src/proxy/main.ts): weighted branches with version warm-up.
  const pick = createDestinationPicker(DEFAULT_WARMUP_WINDOW_MS);
  const now = 1_000_000;
  const headers = Array.from({ length: MODULES }, (_, i) => ({
    baggage: `turnout-product=shop,turnout-lane=t-${(i % LANES) + 1},userId=alice`,
  }));
  const names = Array.from({ length: MODULES }, (_, i) => `/svc/m${i}`);

  // Reference: the cheapest possible "decision", a Map.get of a precomputed answer.
  const answers = new Map<string, RouteDecision>();
  for (let i = 0; i < MODULES; i++)
    answers.set(names[i]!, router.route('shop', `t-${(i % LANES) + 1}`, names[i]!)!);
  const mapGet = measure('map', 2_000_000, (i) => answers.get(names[i % MODULES]!));

  const cached = measure('cached', 1_000_000, (i) => {
    const ctx = extractContext(headers[i % MODULES]!);
    if (!ctx.ok) return null;
    const d = router.route(ctx.context.product ?? 'shop', ctx.context.lane, names[i % MODULES]!);
    return d !== null && d.result.state === 'ok' ? pick(d.result.tree, now, random) : null;
  });

  const uncached = measure('uncached', 20_000, (i) => {
    const ctx = extractContext(headers[i % MODULES]!);
    if (!ctx.ok) return null;
    const dtab = router.dtabFor(ctx.context.product ?? 'shop', ctx.context.lane);
    if (dtab === null) return null;
    const r = bind(dtab, parsePath(names[i % MODULES]!), { namers });
    return r.state === 'ok' ? pick(r.tree, now, random) : null;
  });

  const rows = [
    ['reference: Map.get of the answer', mapGet],
    ['cached decision (baggage → route cache → pick)', cached],
    ['uncached decision (baggage → dtab → bind 200 rules → pick)', uncached],
  ] as const;
  console.log(`routing decision, ${MODULES} modules, ${LANES} lanes, node ${process.version}`);
  for (const [label, ns] of rows) {
    console.log(
      `${label.padEnd(62)} ${ns.toFixed(0).padStart(8)} ns/op  ${(ns / mapGet).toFixed(1).padStart(7)}× reference`,
    );
  }
  console.log(
    `goals: cached < 2000 ns/op (${cached < 2000 ? 'met' : 'NOT met'}), uncached < 100000 ns/op (${uncached < 100_000 ? 'met' : 'NOT met'})`,
  );
}

main();
