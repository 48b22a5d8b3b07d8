// Specs for the balancer (src/proxy/balancer.ts) and the pending limit (src/proxy/pending-limit.ts):
// P2C over peak-EWMA × load, exclusions and fallbacks, fast failers, slow start, version warm-up.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BalancerOptions } from '../../src/proxy/balancer.js';
import {
  endpointCost,
  pickEndpoint,
  pickWeightedBranch,
  seedEwmaMs,
  versionWarmup,
} from '../../src/proxy/balancer.js';
import type { EndpointState } from '../../src/proxy/endpoint-state.js';
import {
  newEndpointState,
  recordFailure,
  recordStart,
  recordSuccess,
} from '../../src/proxy/endpoint-state.js';
import type { OutlierOptions } from '../../src/proxy/outlier.js';
import { considerEjection } from '../../src/proxy/outlier.js';
import { canAccept, DEFAULT_PENDING_LIMIT } from '../../src/proxy/pending-limit.js';

/** A tiny seeded PRNG (mulberry32), so distributions are reproducible. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NOW = 1_000_000; // long after the endpoints below were first seen: all warm
const WINDOW = 30_000;

/** A warm endpoint that has answered, with the given fields. */
function ep(address: string, fields: Partial<EndpointState> = {}): EndpointState {
  const s = newEndpointState(address, 0);
  s.ewmaMs = 10;
  s.lastUpdateMs = NOW;
  s.sampled = true;
  return Object.assign(s, fields);
}

/** How often each address is picked over `n` picks at a fixed time, nothing recorded. */
function shares(
  candidates: readonly EndpointState[],
  n = 10_000,
  opts: BalancerOptions = {},
  seed = 42,
): Record<string, number> {
  const random = mulberry32(seed);
  const counts: Record<string, number> = {};
  for (const c of candidates) counts[c.address] = 0;
  for (let k = 0; k < n; k++) {
    const picked = pickEndpoint(candidates, NOW, random, opts);
    if (picked !== null) counts[picked.address] = (counts[picked.address] ?? 0) + 1;
  }
  for (const key of Object.keys(counts)) counts[key] = (counts[key] ?? 0) / n;
  return counts;
}

interface Outcome {
  readonly latencyMs: number;
  readonly ok: boolean;
}

interface LoadRun {
  readonly fromMs: number;
  readonly requests: number;
  readonly intervalMs: number;
  readonly serve: (e: EndpointState) => Outcome;
  readonly opts?: BalancerOptions;
  /** Consider ejection after each failure. */
  readonly outlier?: OutlierOptions;
  /** Record failures as ordinary responses (the linkerd2#11669 trap), for contrast. */
  readonly naive?: boolean;
  /** Only count picks at or after this time. */
  readonly countFromMs?: number;
  readonly seed?: number;
}

/**
 * Open-loop load: one request every `intervalMs`, each finishing `latencyMs` later, with
 * starts, finishes and ejections recorded as the proxy would. Returns each address's share.
 */
function runLoad(endpoints: readonly EndpointState[], run: LoadRun): Record<string, number> {
  const random = mulberry32(run.seed ?? 7);
  let pending: { at: number; e: EndpointState; out: Outcome }[] = [];
  const counts: Record<string, number> = {};
  for (const e of endpoints) counts[e.address] = 0;
  let counted = 0;
  for (let k = 0; k < run.requests; k++) {
    const now = run.fromMs + k * run.intervalMs;
    const due = pending.filter((p) => p.at <= now).sort((x, y) => x.at - y.at);
    pending = pending.filter((p) => p.at > now);
    for (const { at, e, out } of due) {
      if (out.ok || run.naive) recordSuccess(e, out.latencyMs, at);
      else {
        recordFailure(e, out.latencyMs, at);
        if (run.outlier !== undefined) considerEjection(e, endpoints, at, run.outlier);
      }
    }
    const picked = pickEndpoint(endpoints, now, random, run.opts);
    if (picked === null) continue;
    recordStart(picked);
    const out = run.serve(picked);
    pending.push({ at: now + out.latencyMs, e: picked, out });
    if (now >= (run.countFromMs ?? run.fromMs)) {
      counts[picked.address] = (counts[picked.address] ?? 0) + 1;
      counted += 1;
    }
  }
  for (const key of Object.keys(counts)) counts[key] = (counts[key] ?? 0) / counted;
  return counts;
}

describe('pickEndpoint: what may be picked', () => {
  const random = mulberry32(1);

  it('returns null with no candidates', () => {
    expect(pickEndpoint([], NOW, random)).toBeNull();
  });

  it('picks the only eligible endpoint without comparing', () => {
    const only = ep('a:1', { ewmaMs: 1e6, inflight: 500 });
    const others = [ep('b:1', { draining: true }), ep('c:1', { ejectedUntilMs: NOW + 1 })];
    for (let k = 0; k < 100; k++) expect(pickEndpoint([...others, only], NOW, random)).toBe(only);
  });

  it('never picks a draining endpoint, even the cheapest', () => {
    const draining = ep('a:1', { ewmaMs: 0.01, draining: true });
    const s = shares([draining, ep('b:1', { ewmaMs: 100 }), ep('c:1', { ewmaMs: 100 })]);
    expect(s['a:1']).toBe(0);
  });

  it('returns null when every endpoint is draining', () => {
    const all = [ep('a:1', { draining: true }), ep('b:1', { draining: true })];
    expect(pickEndpoint(all, NOW, random)).toBeNull();
  });

  it('skips ejected endpoints while others are available', () => {
    const ejected = ep('a:1', { ewmaMs: 0.01, ejectedUntilMs: NOW + 1 });
    const s = shares([ejected, ep('b:1'), ep('c:1')]);
    expect(s['a:1']).toBe(0);
  });

  it('takes an endpoint back once its ejection has ended', () => {
    const back = ep('a:1', { ewmaMs: 0.01, ejectedUntilMs: NOW });
    expect(shares([back, ep('b:1')])['a:1']).toBe(1);
  });

  it('falls back to ignoring ejection when every candidate is ejected (never fail outright)', () => {
    const all = [
      ep('a:1', { ejectedUntilMs: NOW + 1 }),
      ep('b:1', { ejectedUntilMs: NOW + 1 }),
      ep('c:1', { draining: true }),
    ];
    const s = shares(all);
    expect(s['a:1']! + s['b:1']!).toBe(1);
    expect(s['a:1']).toBeGreaterThan(0.45);
    expect(s['c:1']).toBe(0);
  });

  it('skips endpoints at the pending limit, and returns null when all are full', () => {
    const full = ep('a:1', { ewmaMs: 0.01, inflight: 3 });
    const s = shares([full, ep('b:1', { inflight: 2 })], 1000, { pendingLimit: 3 });
    expect(s['a:1']).toBe(0);
    expect(pickEndpoint([full], NOW, random, { pendingLimit: 3 })).toBeNull();
  });

  it('never picks a draining or full endpoint, whatever the states (property)', () => {
    const state = fc.record({
      ewmaMs: fc.double({ min: 0, max: 1e5, noNaN: true }),
      inflight: fc.nat(5),
      draining: fc.boolean(),
      ejectedUntilMs: fc.integer({ min: NOW - 10, max: NOW + 10 }),
      firstSeenMs: fc.integer({ min: 0, max: NOW }),
      sampled: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(state, { maxLength: 8 }), fc.integer(), (fields, seed) => {
        const candidates = fields.map((f, i) => ep(`h${i}:1`, f));
        const picked = pickEndpoint(candidates, NOW, mulberry32(seed), { pendingLimit: 5 });
        const open = candidates.filter((c) => !c.draining && c.inflight < 5);
        if (open.length === 0) expect(picked).toBeNull();
        else {
          expect(picked).not.toBeNull();
          expect(open).toContain(picked);
          const healthy = open.filter((c) => c.ejectedUntilMs <= NOW);
          if (healthy.length > 0) expect(healthy).toContain(picked);
        }
      }),
    );
  });
});

describe('canAccept (pending limit)', () => {
  const cases: [number, number, boolean][] = [
    [0, 1000, true],
    [999, 1000, true],
    [1000, 1000, false],
    [5, 0, false],
  ];
  it.each(cases)('%i in flight, cap %i → %s', (inflight, cap, expected) => {
    expect(canAccept({ inflight }, cap)).toBe(expected);
  });

  it('defaults to 1000', () => {
    expect(DEFAULT_PENDING_LIMIT).toBe(1000);
    expect(canAccept({ inflight: 999 })).toBe(true);
    expect(canAccept({ inflight: 1000 })).toBe(false);
  });
});

describe('pickEndpoint: power of two choices', () => {
  it('prefers lower cost: with costs 1:2:4 the shares are 2/3, 1/3 and 0', () => {
    const s = shares([
      ep('a:1', { ewmaMs: 1 }),
      ep('b:1', { ewmaMs: 2 }),
      ep('c:1', { ewmaMs: 4 }),
    ]);
    expect(s['a:1']).toBeCloseTo(2 / 3, 1);
    expect(s['b:1']).toBeCloseTo(1 / 3, 1);
    expect(s['c:1']).toBe(0);
  });

  it('counts in-flight requests: a fast but busy endpoint loses to a slower idle one', () => {
    // 2 ms × (9 + 1) = 20 > 10 ms × (0 + 1) = 10
    const s = shares([ep('busy:1', { ewmaMs: 2, inflight: 9 }), ep('idle:1', { ewmaMs: 10 })]);
    expect(s['idle:1']).toBe(1);
  });

  it('breaks ties at random rather than by list order', () => {
    const s = shares([ep('a:1'), ep('b:1')]);
    expect(s['a:1']).toBeGreaterThan(0.47);
    expect(s['a:1']).toBeLessThan(0.53);
  });

  it('spreads equal endpoints evenly: ~1/n each', () => {
    const s = shares(['a:1', 'b:1', 'c:1', 'd:1'].map((a) => ep(a)));
    for (const v of Object.values(s)) expect(Math.abs(v - 0.25)).toBeLessThan(0.02);
  });

  it('keeps queues level as load builds (in-flight never differs by more than 2)', () => {
    const endpoints = Array.from({ length: 10 }, (_, i) => ep(`h${i}:1`));
    const random = mulberry32(3);
    for (let k = 0; k < 10_000; k++) {
      const picked = pickEndpoint(endpoints, NOW, random);
      if (picked !== null) recordStart(picked);
    }
    const inflight = endpoints.map((e) => e.inflight);
    expect(Math.max(...inflight) - Math.min(...inflight)).toBeLessThanOrEqual(2);
  });

  it('costs idle endpoints lower as their estimate decays, so they are probed again', () => {
    const penalised = ep('a:1', { ewmaMs: 1000, lastUpdateMs: NOW - 100_000 }); // 10 tau ago
    const recent = ep('b:1', { ewmaMs: 5 });
    expect(endpointCost(penalised, [], NOW)).toBeLessThan(endpointCost(recent, [], NOW));
  });
});

describe('a fast-failing endpoint loses traffic (linkerd/linkerd2#11669)', () => {
  // One request per ms for 10 s; "bad" fails in 0.1 ms every time, "good" answers in 5 ms.
  const serve = (e: EndpointState): Outcome =>
    e.address === 'bad:1' ? { latencyMs: 0.1, ok: false } : { latencyMs: 5, ok: true };
  const pair = () => [ep('bad:1', { ewmaMs: 5 }), ep('good:1', { ewmaMs: 5 })];
  const base = { fromMs: NOW, requests: 10_000, intervalMs: 1, serve };

  it('with penalties and ejection, gets < 10 % (in fact almost nothing)', () => {
    const s = runLoad(pair(), { ...base, outlier: {} });
    expect(s['bad:1']).toBeLessThan(0.1);
    expect(s['bad:1']).toBeLessThan(0.01);
  });

  it('with penalties alone (no ejection), still gets < 10 %', () => {
    expect(runLoad(pair(), base)['bad:1']).toBeLessThan(0.1);
  });

  it('whereas counting failures at their own latency hands it > 90 % (the trap)', () => {
    expect(runLoad(pair(), { ...base, naive: true })['bad:1']).toBeGreaterThan(0.9);
  });
});

describe('new endpoints: seeded latency and slow start among siblings', () => {
  it('seedEwmaMs: the median of answered siblings, else the fallback', () => {
    const unsampled = newEndpointState('u:1', 0, 999);
    const cases: [string, EndpointState[], number][] = [
      ['none', [], 1],
      ['only unanswered siblings', [unsampled], 1],
      [
        'odd count',
        [ep('a:1', { ewmaMs: 50 }), ep('b:1', { ewmaMs: 5 }), ep('c:1', { ewmaMs: 7 })],
        7,
      ],
      ['even count', [ep('a:1', { ewmaMs: 4 }), ep('b:1', { ewmaMs: 8 }), unsampled], 6],
    ];
    for (const [what, siblings, expected] of cases) {
      expect(seedEwmaMs(siblings, NOW, 1), what).toBe(expected);
    }
  });

  it('a newcomer is costed at its siblings’ median latency: neither flooded nor starved', () => {
    const noSlowStart = { warmupWindowMs: 0 };
    const newcomer = newEndpointState('new:1', NOW, 1); // its own guess (1 ms) would flood it
    const s = shares(
      [newcomer, ep('a:1', { ewmaMs: 50 }), ep('b:1', { ewmaMs: 50 })],
      10_000,
      noSlowStart,
    );
    expect(Math.abs(s['new:1']! - 1 / 3)).toBeLessThan(0.03);
  });

  // 3 endpoints, one request per ms, 10 ms each; "new:1" first seen at T.
  const T = NOW;
  const serve = (): Outcome => ({ latencyMs: 10, ok: true });
  function shareOfNew(firstSeen: { old: number }, fromMs: number, requests: number): number {
    const endpoints = [
      Object.assign(newEndpointState('old1:1', firstSeen.old), { ewmaMs: 10, sampled: true }),
      Object.assign(newEndpointState('old2:1', firstSeen.old), { ewmaMs: 10, sampled: true }),
      newEndpointState('new:1', T),
    ];
    // Run from T so queues and estimates are realistic, counting only [fromMs, end).
    const total = fromMs - T + requests;
    return runLoad(endpoints, {
      fromMs: T,
      requests: total,
      intervalMs: 1,
      serve,
      countFromMs: fromMs,
    })['new:1']!;
  }

  it('a new endpoint among warm siblings ramps up over the window', () => {
    const early = shareOfNew({ old: 0 }, T, 3_000);
    const middle = shareOfNew({ old: 0 }, T + WINDOW / 2, 3_000);
    const after = shareOfNew({ old: 0 }, T + WINDOW, 3_000);
    expect(early).toBeLessThan(0.05);
    expect(middle).toBeGreaterThan(early);
    expect(middle).toBeLessThan(after - 0.05);
    expect(Math.abs(after - 1 / 3)).toBeLessThan(0.03);
  });

  it('when every endpoint is new, none is held back (slow start among siblings cancels out)', () => {
    expect(Math.abs(shareOfNew({ old: T }, T, 3_000) - 1 / 3)).toBeLessThan(0.03);
  });
});

describe('versionWarmup', () => {
  const cases: [string, number, number, number, number][] = [
    ['just seen', 1000, 1000, WINDOW, 0],
    ['half-way', 0, WINDOW / 2, WINDOW, 0.5],
    ['after the window', 0, 2 * WINDOW, WINDOW, 1],
    ['seen "in the future" (clock skew)', 5000, 1000, WINDOW, 0],
    ['window 0 disables warm-up', 1000, 1000, 0, 1],
  ];
  it.each(cases)('%s', (_what, firstSeen, now, window, expected) => {
    expect(versionWarmup(firstSeen, now, window)).toBe(expected);
  });
});

describe('pickWeightedBranch: a new version ramps its share in', () => {
  const T = NOW; // the canary's first sighting; the stable version is long warm

  function branchShares(
    branches: readonly { weight: number; firstSeenMs: number }[],
    now: number,
    n = 10_000,
  ): number[] {
    const random = mulberry32(11);
    const counts = branches.map(() => 0);
    for (let k = 0; k < n; k++) {
      const i = pickWeightedBranch(branches, now, random, WINDOW);
      counts[i] = (counts[i] ?? 0) + 1;
    }
    return counts.map((c) => c / n);
  }

  const stableAndCanary = [
    { weight: 50, firstSeenMs: 0 },
    { weight: 50, firstSeenMs: T },
  ];
  // [moment, canary share expected]
  const ramp: [string, number, number][] = [
    ['t = 0+: ~0 %', T + 1, 0],
    ['window / 4: a quarter of its share', T + WINDOW / 4, 0.125],
    ['window / 2: half its share', T + WINDOW / 2, 0.25],
    ['end of the window: its full share', T + WINDOW, 0.5],
    ['long after: its full share', T + 10 * WINDOW, 0.5],
  ];
  it.each(ramp)('50/50 with a new canary, %s', (_what, now, expected) => {
    const [stable, canary] = branchShares(stableAndCanary, now);
    expect(Math.abs(canary! - expected)).toBeLessThan(0.015);
    expect(stable! + canary!).toBe(1);
  });

  it('ramps relative to the version’s own share: 90/10 half-way gives the canary 5 %', () => {
    const [, canary] = branchShares(
      [
        { weight: 90, firstSeenMs: 0 },
        { weight: 10, firstSeenMs: T },
      ],
      T + WINDOW / 2,
    );
    expect(Math.abs(canary! - 0.05)).toBeLessThan(0.01);
  });

  it('hands a ramping version’s deficit to the warm versions in proportion', () => {
    const [a, b, canary] = branchShares(
      [
        { weight: 60, firstSeenMs: 0 },
        { weight: 20, firstSeenMs: 0 },
        { weight: 20, firstSeenMs: T },
      ],
      T + 1,
    );
    expect(canary).toBeLessThan(0.001);
    expect(Math.abs(a! - 0.75)).toBeLessThan(0.015);
    expect(Math.abs(b! - 0.25)).toBeLessThan(0.015);
  });

  it('when every version is new, the nominal weights apply (nobody to ramp against)', () => {
    const [a, b] = branchShares(
      [
        { weight: 80, firstSeenMs: T },
        { weight: 20, firstSeenMs: T },
      ],
      T + 1,
    );
    expect(Math.abs(a! - 0.8)).toBeLessThan(0.015);
    expect(Math.abs(b! - 0.2)).toBeLessThan(0.015);
  });

  it('a lone new version takes everything', () => {
    expect(branchShares([{ weight: 1, firstSeenMs: T }], T)).toEqual([1]);
  });

  it('all weights 0 (or invalid) → uniform', () => {
    const s = branchShares(
      [
        { weight: 0, firstSeenMs: 0 },
        { weight: -1, firstSeenMs: 0 },
        { weight: Number.NaN, firstSeenMs: T },
      ],
      T,
    );
    for (const v of s) expect(Math.abs(v - 1 / 3)).toBeLessThan(0.02);
  });

  it('a weight-0 branch is never picked when another has weight', () => {
    const s = branchShares(
      [
        { weight: 0, firstSeenMs: 0 },
        { weight: 5, firstSeenMs: T },
      ],
      T + 1,
    );
    expect(s).toEqual([0, 1]);
  });

  it('returns -1 for no branches', () => {
    expect(pickWeightedBranch([], NOW, mulberry32(1), WINDOW)).toBe(-1);
  });

  it('always returns a branch with positive weight when there is one (property)', () => {
    const branch = fc.record({
      weight: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1000, noNaN: true })),
      firstSeenMs: fc.integer({ min: 0, max: 2 * WINDOW }),
    });
    fc.assert(
      fc.property(
        fc.array(branch, { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 0, max: 3 * WINDOW }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (branches, now, r) => {
          const i = pickWeightedBranch(branches, now, () => r, WINDOW);
          expect(i).toBeGreaterThanOrEqual(0);
          expect(i).toBeLessThan(branches.length);
          if (branches.some((b) => b.weight > 0)) expect(branches[i]!.weight).toBeGreaterThan(0);
        },
      ),
    );
  });
});
