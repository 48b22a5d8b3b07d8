// The traffic charts' pure logic (web/src/chart-data.ts), table-driven: keys aligned on one time
// axis with missing samples as null (never 0) and the running bucket left out, and time-axis ticks
// spaced by the width a label needs.

import { describe, expect, it } from 'vitest';
import type { ChartPoint } from '../../web/src/chart-data.js';
import { alignSeries, TIME_LABEL_PX, timeLabel, timeTicks } from '../../web/src/chart-data.js';

const T = 1_700_000_000_000; // a whole second

/** A point at T + s seconds with `rps` requests/s (null: a bucket no sample landed in). */
function pt(s: number, rps: number | null): ChartPoint {
  return {
    atMs: T + s * 1000,
    requests: rps ?? 0,
    rps: rps ?? 0,
    errorRate: 0,
    p50Ms: rps === null || rps === 0 ? null : 5,
    p99Ms: rps === null || rps === 0 ? null : 9,
    sampled: rps !== null,
  };
}

describe('alignSeries', () => {
  it.each<{ name: string; keys: ChartPoint[][]; x: number[]; values: (number | null)[][] }>([
    {
      name: 'a missing sample is null, a sampled second without traffic is 0',
      keys: [[pt(0, 4), pt(1, null), pt(2, 0), pt(3, 4), pt(4, 1)]],
      x: [0, 1, 2, 3],
      values: [[4, null, 0, 4]],
    },
    {
      name: 'keys fetched a second apart share one axis; the newest bucket (still running) is out',
      keys: [
        [pt(0, 1), pt(1, 2), pt(2, 3)],
        [pt(1, 5), pt(2, 6), pt(3, 7)],
      ],
      x: [0, 1, 2],
      values: [
        [1, 2, 3],
        [null, 5, 6],
      ],
    },
    {
      name: 'points from an older API without `sampled` count as sampled',
      keys: [[{ ...pt(0, 2), sampled: undefined }, pt(1, 3)]],
      x: [0],
      values: [[2]],
    },
    { name: 'no keys: nothing to draw', keys: [], x: [], values: [] },
  ])('$name', ({ keys, x, values }) => {
    const got = alignSeries(keys, (p) => p.rps);
    expect(got.x).toEqual(x.map((s) => (T + s * 1000) / 1000));
    expect(got.values).toEqual(values);
  });

  it('latency with no requests in a sampled bucket is null (nothing measured), not 0', () => {
    const got = alignSeries([[pt(0, 3), pt(1, 0), pt(2, 3), pt(3, 3)]], (p) => p.p99Ms);
    expect(got.values).toEqual([[9, null, 9]]);
  });
});

describe('timeTicks', () => {
  const t0 = 1_700_000_000; // seconds
  it.each<[string, number, number, number]>([
    // name, range (s), width (px), expected step (s)
    ['a minute on a wide chart: every 10 s', 60, 600, 10],
    ['a minute on a phone-width chart: every 30 s', 60, 200, 30],
    ['a minute on a tiny chart: every minute', 60, 90, 60],
    ['ten seconds on a wide chart: every 1 s', 10, 900, 1],
    ['five minutes, medium: every minute', 300, 400, 60],
  ])('%s', (_name, range, width, step) => {
    const ticks = timeTicks(t0, t0 + range, width);
    expect(ticks.length).toBeGreaterThan(0);
    for (const t of ticks) expect(t % step).toBe(0);
    for (let i = 1; i < ticks.length; i++) expect(ticks[i]! - ticks[i - 1]!).toBe(step);
    expect(ticks[0]).toBeGreaterThanOrEqual(t0);
    expect(ticks.at(-1)).toBeLessThanOrEqual(t0 + range);
  });

  it('never puts two labels closer than a label’s width, at any width and range', () => {
    for (const range of [5, 30, 59, 60, 61, 120, 600, 3600]) {
      for (const width of [80, 120, 200, 333, 500, 800, 1200, 1900]) {
        const ticks = timeTicks(t0, t0 + range, width);
        const px = (t: number) => ((t - t0) / range) * width;
        for (let i = 1; i < ticks.length; i++)
          expect(px(ticks[i]!) - px(ticks[i - 1]!), `${range} s on ${width} px`).toBeGreaterThan(
            TIME_LABEL_PX - 1e-6,
          );
      }
    }
  });

  it('answers nothing for an empty range or no width', () => {
    expect(timeTicks(t0, t0, 500)).toEqual([]);
    expect(timeTicks(t0, t0 + 60, 0)).toEqual([]);
  });

  it('labels HH:MM:SS', () => {
    expect(timeLabel(t0)).toMatch(/^\d\d:\d\d:\d\d$/);
  });
});
