// The stats window's pure rules: /stats parsing, deltas between cumulative samples, counter
// resets, window expiry, filters, series, and percentile interpolation against hand-computed cases.

import { describe, expect, it } from 'vitest';
import { createProxyStats } from '../../src/proxy/stats.js';
import type { KeySample, ProxySample } from '../../src/release/stats-sample.js';
import { parseProxySample } from '../../src/release/stats-sample.js';
import type { TrafficKey } from '../../src/release/stats-window.js';
import { quantile, StatsWindow } from '../../src/release/stats-window.js';

const STABLE: TrafficKey = { product: 'shop', lane: 'stable', module: 'orders', version: '1.0.0' };
const LANE: TrafficKey = { product: 'shop', lane: 't-42', module: 'orders', version: '1.1.0' };
const BOUNDS = [1, 5, 10, Number.POSITIVE_INFINITY];

/** A cumulative key sample: `hist` is the non-cumulative count per bound of BOUNDS. */
function key(k: TrafficKey, requests: number, errors: number, hist: number[]): KeySample {
  let sum = 0;
  return {
    key: k,
    requests,
    errors,
    buckets: BOUNDS.map((le, i) => {
      sum += hist[i] ?? 0;
      return [le, sum] as const;
    }),
  };
}
const sample = (...keys: KeySample[]): ProxySample => ({ keys, configVersion: null });
const T0 = 1_000_000; // a bucket boundary for bucketMs 1000

describe('parseProxySample', () => {
  it('reduces the proxy registry JSON to per-key requests, errors and cumulative buckets', async () => {
    const stats = createProxyStats();
    const labels = (endpoint: string, lane = 'stable') =>
      stats.series({ product: 'shop', lane, module: 'orders', version: '1.0.0', endpoint });
    stats.finished(labels('a:1'), 200, 0.003);
    stats.finished(labels('b:1'), 503, 0.02);
    stats.finished(labels('b:1'), 0, 0.2);
    stats.finished(labels('a:1'), 404, 0.0004);
    stats.finished(labels('a:1', 't-1'), 200, 20);
    expect(
      parseProxySample({ metrics: await stats.registry.getMetricsAsJSON() }).configVersion,
    ).toBe(0);
    stats.configApplied(42);
    const json = { version: 3, metrics: await stats.registry.getMetricsAsJSON() };
    const parsed = parseProxySample(JSON.parse(JSON.stringify(json)));
    const stable = parsed.keys.find((k) => k.key.lane === 'stable');
    expect(parsed.configVersion).toBe(42); // the snapshot the proxy has applied
    expect(stable?.key).toEqual(STABLE);
    expect(stable?.requests).toBe(4);
    expect(stable?.errors).toBe(2); // the 503 and the connection error, not the 404
    const cumulative = new Map(stable?.buckets);
    expect(cumulative.get(0.5)).toBe(1);
    expect(cumulative.get(5)).toBe(2);
    expect(cumulative.get(25)).toBe(3);
    expect(cumulative.get(250)).toBe(4);
    expect(cumulative.get(Number.POSITIVE_INFINITY)).toBe(4);
    const lane = parsed.keys.find((k) => k.key.lane === 't-1');
    expect(lane?.requests).toBe(1);
    expect(new Map(lane?.buckets).get(10_000)).toBe(0);
    expect(new Map(lane?.buckets).get(Number.POSITIVE_INFINITY)).toBe(1);
  });

  it('reads requests under way per endpoint, summed over products and lanes', async () => {
    const stats = createProxyStats();
    const at = (endpoint: string, lane: string) =>
      stats.series({ product: 'shop', lane, module: 'orders', version: '1.0.0', endpoint });
    stats.started(at('127.0.0.1:1', 'stable'));
    stats.started(at('127.0.0.1:1', 't-1'));
    stats.started(at('127.0.0.1:2', 'stable'));
    stats.finished(at('127.0.0.1:2', 'stable'), 200, 0.001);
    const parsed = parseProxySample({ metrics: await stats.registry.getMetricsAsJSON() });
    expect(new Map(parsed.inFlight)).toEqual(new Map([['127.0.0.1:1', 2]]));
  });

  it('rejects a document that is not /stats', () => {
    expect(() => parseProxySample({ metrics: 'no' })).toThrow(/not a proxy \/stats document/);
  });
});

describe('quantile', () => {
  it.each([
    // 10 in (0,1], 30 in (1,5], 60 in (5,10]: rank 50 is 10/60 into (5,10]
    [[10, 30, 60, 0], 0.5, 5 + 5 * (10 / 60)],
    [[10, 30, 60, 0], 0.99, 5 + 5 * (59 / 60)],
    [[10, 30, 60, 0], 0.1, 1], // exactly the top of the first bucket
    [[10, 30, 60, 0], 0.05, 0.5], // halfway through the first bucket, from 0
    [[0, 0, 4, 0], 0.5, 7.5],
    [[1, 0, 0, 9], 0.5, 10], // in +Inf: the highest finite bound
    [[0, 0, 0, 0], 0.5, null],
  ])('hist %o, q=%s → %s', (hist, q, expected) => {
    const m = new Map(BOUNDS.map((le, i) => [le, hist[i] ?? 0]));
    const got = quantile(m, q);
    if (expected === null) expect(got).toBeNull();
    else expect(got).toBeCloseTo(expected, 9);
  });
});

describe('StatsWindow', () => {
  it('takes a proxy first sample as a baseline and counts differences after', () => {
    const w = new StatsWindow();
    w.ingest('p1', sample(key(STABLE, 100, 5, [50, 50, 0, 0])), T0);
    expect(w.summary({}, 60_000, T0).requests).toBe(0);
    w.ingest('p1', sample(key(STABLE, 110, 6, [52, 55, 3, 0])), T0 + 1000);
    const s = w.summary({}, 60_000, T0 + 1000);
    expect(s).toMatchObject({ requests: 10, errors: 1, errorRate: 0.1 });
    expect(s.rps).toBeCloseTo(10 / 60, 9);
    // deltas 2 in (0,1], 5 in (1,5], 3 in (5,10]: p50 rank 5 is 3/5 into (1,5]
    expect(s.p50Ms).toBeCloseTo(1 + 4 * (3 / 5), 9);
    expect(s.p99Ms).toBeCloseTo(5 + 5 * ((9.9 - 7) / 3), 9);
    expect(w.keys()).toEqual([STABLE]);
  });

  it('gives the latency histogram behind a summary, per bound, for analysis to compare', () => {
    const w = new StatsWindow();
    w.ingest('p1', sample(key(STABLE, 100, 5, [50, 50, 0, 0])), T0);
    w.ingest('p1', sample(key(STABLE, 110, 6, [52, 55, 3, 0])), T0 + 1000);
    w.ingest('p2', sample(key(LANE, 0, 0, [0, 0, 0, 0])), T0);
    w.ingest('p2', sample(key(LANE, 4, 4, [0, 0, 0, 4])), T0 + 1000);
    expect(w.histogram({ lane: 'stable' }, 60_000, T0 + 1000)).toEqual([
      [1, 2],
      [5, 5],
      [10, 3],
      [Number.POSITIVE_INFINITY, 0],
    ]);
    expect(w.histogram({}, 60_000, T0 + 1000).map(([, n]) => n)).toEqual([2, 5, 3, 4]);
    expect(w.histogram({ lane: 'stable' }, 1000, T0 + 5000)).toEqual([]);
  });

  it('counts a key that appears later from zero', () => {
    const w = new StatsWindow();
    w.ingest('p1', sample(key(STABLE, 10, 0, [10, 0, 0, 0])), T0);
    w.ingest(
      'p1',
      sample(key(STABLE, 10, 0, [10, 0, 0, 0]), key(LANE, 4, 4, [0, 0, 0, 4])),
      T0 + 1000,
    );
    expect(w.summary({ lane: 't-42' }, 60_000, T0 + 1000)).toMatchObject({
      requests: 4,
      errors: 4,
      errorRate: 1,
      p50Ms: 10,
    });
    expect(w.summary({ lane: 'stable' }, 60_000, T0 + 1000)).toMatchObject({
      requests: 0,
      errorRate: 0,
      p50Ms: null,
      p99Ms: null,
    });
    expect(w.keys()).toEqual([LANE]);
  });

  it.each([
    [
      'a count went down',
      [key(STABLE, 1000, 10, [1000, 0, 0, 0])],
      [key(STABLE, 7, 1, [7, 0, 0, 0])],
      7,
    ],
    [
      'a key vanished (the new process has not seen it yet)',
      [key(STABLE, 1000, 10, [1000, 0, 0, 0]), key(LANE, 3, 0, [3, 0, 0, 0])],
      [key(STABLE, 1200, 11, [1200, 0, 0, 0])],
      1200,
    ],
    [
      'one histogram bucket went down',
      [key(STABLE, 10, 0, [5, 5, 0, 0])],
      [key(STABLE, 12, 0, [4, 8, 0, 0])],
      12,
    ],
  ])('treats a restarted proxy (%s) as counting from zero', (_why, before, after, expected) => {
    const w = new StatsWindow();
    w.ingest('p1', sample(...before), T0);
    w.ingest('p1', sample(...after), T0 + 1000);
    expect(w.summary({}, 60_000, T0 + 1000).requests).toBe(expected);
  });

  it('keeps proxies apart and sums them in a summary', () => {
    const w = new StatsWindow();
    w.ingest('p1', sample(key(STABLE, 100, 0, [100, 0, 0, 0])), T0);
    w.ingest('p2', sample(key(STABLE, 5, 0, [5, 0, 0, 0])), T0);
    w.ingest('p1', sample(key(STABLE, 103, 0, [103, 0, 0, 0])), T0 + 1000);
    w.ingest('p2', sample(key(STABLE, 9, 1, [5, 4, 0, 0])), T0 + 1000);
    expect(w.summary(STABLE, 60_000, T0 + 1000)).toMatchObject({ requests: 7, errors: 1 });
  });

  it('drops buckets older than the window and answers per-second series', () => {
    const w = new StatsWindow({ windowMs: 5000, bucketMs: 1000 });
    let total = 0;
    w.ingest('p1', sample(key(STABLE, 0, 0, [0, 0, 0, 0])), T0);
    for (let s = 1; s <= 8; s++) {
      total += s; // s requests in second s
      w.ingest('p1', sample(key(STABLE, total, 0, [total, 0, 0, 0])), T0 + s * 1000 + 200);
    }
    const now = T0 + 8 * 1000 + 500;
    // seconds 4..8 remain
    expect(w.summary({}, 60_000, now).requests).toBe(4 + 5 + 6 + 7 + 8);
    expect(w.summary({}, 2000, now)).toMatchObject({ requests: 7 + 8, rps: 7.5 });
    const series = w.series({}, now);
    expect(series.map((p) => p.atMs)).toEqual([4, 5, 6, 7, 8].map((s) => T0 + s * 1000));
    expect(series.map((p) => p.requests)).toEqual([4, 5, 6, 7, 8]);
    expect(series.map((p) => p.rps)).toEqual([4, 5, 6, 7, 8]);
    // later, with no new samples, everything has left the window
    expect(w.series({}, now + 10_000).every((p) => p.requests === 0 && p.p50Ms === null)).toBe(
      true,
    );
    w.ingest('p1', sample(key(STABLE, total, 0, [total, 0, 0, 0])), now + 10_000);
    expect(w.keys()).toEqual([]);
  });

  it('filters on any subset of the key', () => {
    const w = new StatsWindow();
    const other: TrafficKey = { ...STABLE, product: 'blog' };
    w.ingest('p1', sample(key(STABLE, 0, 0, []), key(LANE, 0, 0, []), key(other, 0, 0, [])), T0);
    w.ingest(
      'p1',
      sample(key(STABLE, 1, 0, [1]), key(LANE, 2, 0, [2]), key(other, 4, 0, [4])),
      T0 + 1000,
    );
    const n = (f: Partial<TrafficKey>) => w.summary(f, 60_000, T0 + 1000).requests;
    expect(n({})).toBe(7);
    expect(n({ product: 'shop' })).toBe(3);
    expect(n({ module: 'orders', version: '1.1.0' })).toBe(2);
    expect(n({ product: 'blog', lane: 'stable' })).toBe(4);
    expect(n({ product: 'nope' })).toBe(0);
  });

  it('forgets a proxy: its next sample is a baseline again', () => {
    const w = new StatsWindow();
    w.ingest('p1', sample(key(STABLE, 10, 0, [10])), T0);
    w.forget('p1');
    w.ingest('p1', sample(key(STABLE, 50, 0, [50])), T0 + 1000);
    expect(w.summary({}, 60_000, T0 + 1000).requests).toBe(0);
  });
});
