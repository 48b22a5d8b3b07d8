import { describe, expect, it } from 'vitest';
import type { RoundFigures } from '../../bench/proxy/paired.js';
import {
  median,
  medianInterval,
  pairedVerdict,
  pairs,
  resolution,
} from '../../bench/proxy/paired.js';

const GOALS = { cpuRatio: 1.1, addedP99Ms: 0.3, rssMb: 10 };
const NaN_ = Number.NaN;
const INF = Number.POSITIVE_INFINITY;

describe('median', () => {
  it.each([
    [[], NaN_],
    [[3], 3],
    [[5, 1, 3], 3],
    [[4, 1, 3, 2], 2.5],
    [[1, 1, 9, 9], 5],
    [[2, INF, 1], 2],
  ])('median(%j) = %d', (xs, want) => {
    expect(median(xs)).toBe(want);
  });

  it('does not reorder its input', () => {
    const xs = [3, 1, 2];
    median(xs);
    expect(xs).toEqual([3, 1, 2]);
  });
});

describe('pairs', () => {
  const diff = (t: number, f: number) => t - f;
  it.each([
    { name: 'round by round', t: [5, 7, 9], f: [4, 9, 9], want: [1, -2, 0] },
    { name: 'as many pairs as the shorter has rounds', t: [5, 7], f: [4, 6, 8], want: [1, 1] },
    {
      name: "Turnout's unmeasured round counts against it",
      t: [5, NaN_],
      f: [4, 6],
      want: [1, INF],
    },
    {
      name: "the floor's unmeasured round is dropped",
      t: [5, 7, 9],
      f: [4, NaN_, 8],
      want: [1, 1],
    },
    { name: 'no rounds', t: [], f: [], want: [] },
  ])('$name', ({ t, f, want }) => {
    expect(pairs(t, f, diff)).toEqual(want);
  });
});

describe('pairedVerdict', () => {
  const floor: RoundFigures = {
    cpuUsPerReq: [60, 60, 60, 60, 60, 60],
    p99Ms: [2, 2, 2, 2, 2, 2],
    rssMb: [80, 80, 80, 80, 80, 80],
  };

  const same = (x: number) => [x, x, x, x, x, x];
  it.each([
    { cpu: 65.9, p99: 2.29, rss: 89.9, want: ['MET', 'MET', 'MET'] },
    { cpu: 66.1, p99: 2.29, rss: 89.9, want: ['MISSED', 'MET', 'MET'] },
    { cpu: 65.9, p99: 2.31, rss: 89.9, want: ['MET', 'MISSED', 'MET'] },
    { cpu: 65.9, p99: 2.29, rss: 90, want: ['MET', 'MET', 'MET'] },
    { cpu: 65.9, p99: 2.29, rss: 90.1, want: ['MET', 'MET', 'MISSED'] },
  ])(
    'cpu $cpu µs, p99 $p99 ms, rss $rss MB against 60 / 2 / 80: $want',
    ({ cpu, p99, rss, want }) => {
      const v = pairedVerdict(
        { cpuUsPerReq: same(cpu), p99Ms: same(p99), rssMb: same(rss) },
        floor,
        GOALS,
      );
      expect([v.cpu.verdict, v.p99.verdict, v.rss.verdict]).toEqual(want);
      expect(v.cpu.median).toBeCloseTo(cpu / 60, 12);
      expect(v.cpu.pairs).toHaveLength(6);
    },
  );

  it('one disturbed round in six does not decide a verdict, either way', () => {
    const v = pairedVerdict(
      {
        cpuUsPerReq: [61, 62, 63, 200, 61, 62],
        p99Ms: [2.1, 2.1, 2.1, 40, 2.1, 2.1],
        rssMb: [85, 85, 85, 300, 85, 85],
      },
      { ...floor, cpuUsPerReq: [60, 60, 20, 60, 60, 60] },
      GOALS,
    );
    expect(v.cpu.verdict).toBe('MET');
    expect(v.p99.verdict).toBe('MET');
    expect(v.rss.verdict).toBe('MET');
  });

  it('misses a goal when most pairs are over it, whatever the best rounds say', () => {
    const v = pairedVerdict(
      {
        // Turnout's lowest round (55) is below the floor's lowest (60): the old statistic met.
        cpuUsPerReq: [70, 70, 70, 55, 70, 70],
        p99Ms: [1, 3, 3, 3, 3, 3],
        rssMb: [95, 95, 95, 70, 95, 95],
      },
      floor,
      GOALS,
    );
    expect(v.cpu).toMatchObject({ verdict: 'MISSED', goal: 1.1 });
    expect(v.cpu.median).toBeCloseTo(70 / 60, 12);
    expect(v.p99).toMatchObject({ verdict: 'MISSED', median: 1 });
    expect(v.rss).toMatchObject({ verdict: 'MISSED', median: 15 });
  });

  it("Turnout's failed rounds count against it", () => {
    const v = pairedVerdict(
      {
        cpuUsPerReq: [60, NaN_, NaN_, NaN_, 60, 60],
        p99Ms: [2, 2, 2, NaN_, NaN_, NaN_],
        rssMb: [80, 80, 80, 80, 80, 80],
      },
      floor,
      GOALS,
    );
    expect(v.cpu.verdict).toBe('MISSED');
    expect(v.cpu.median).toBe(INF);
    expect(v.p99.verdict).toBe('MISSED');
    expect(v.rss.verdict).toBe('MET');
  });

  it('is n/a with no pair to judge', () => {
    const none = { cpuUsPerReq: [], p99Ms: [], rssMb: [] };
    const v = pairedVerdict(none, floor, GOALS);
    expect([v.cpu.verdict, v.p99.verdict, v.rss.verdict]).toEqual(['n/a', 'n/a', 'n/a']);
    const floorless = pairedVerdict(
      floor,
      { cpuUsPerReq: [NaN_], p99Ms: [NaN_], rssMb: [NaN_] },
      GOALS,
    );
    expect(floorless.cpu.verdict).toBe('n/a');
  });
});

describe('medianInterval', () => {
  const up = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
  it.each([
    // n, expected [low, high] of 1..n, exact coverage (1 − 2·P(Bin(n, ½) ≤ k−1))
    { n: 5, want: null },
    { n: 6, want: { low: 1, high: 6, coverage: 1 - 2 / 64 } },
    // k = 2 would cover only 1 − 2·9/256 ≈ 0.93: [min, max] it is.
    { n: 8, want: { low: 1, high: 8, coverage: 1 - 2 / 256 } },
    { n: 10, want: { low: 2, high: 9, coverage: 1 - (2 * 11) / 1024 } },
    { n: 24, want: { low: 7, high: 18, coverage: 1 - (2 * 190051) / 16777216 } },
  ])('n = $n', ({ n, want }) => {
    const got = medianInterval(up(n).reverse());
    if (want === null) expect(got).toBeNull();
    else {
      expect(got).toMatchObject({ low: want.low, high: want.high });
      expect(got?.coverage).toBeCloseTo(want.coverage, 12);
      expect(got!.coverage).toBeGreaterThanOrEqual(0.95);
    }
  });

  it('a wider level gives a wider interval', () => {
    const xs = up(24);
    const i90 = medianInterval(xs, 0.9)!;
    const i99 = medianInterval(xs, 0.99)!;
    expect(i90.low).toBeGreaterThan(i99.low);
    expect(i90.high).toBeLessThan(i99.high);
  });
});

describe('resolution', () => {
  const goal = (pairs: number[]) =>
    pairedVerdict(
      { cpuUsPerReq: pairs, p99Ms: [], rssMb: [] },
      { cpuUsPerReq: pairs.map(() => 1), p99Ms: [], rssMb: [] },
      GOALS,
    ).cpu;
  it.each([
    { pairs: [1.0, 1.01, 1.02, 1.03, 1.04, 1.05], want: 'within' },
    { pairs: [1.11, 1.12, 1.13, 1.14, 1.15, 1.2], want: 'beyond' },
    { pairs: [0.9, 1.0, 1.05, 1.08, 1.12, 1.2], want: 'unresolved' },
    { pairs: [1.0, 1.0, 1.0, 1.0, 1.0], want: 'n/a' },
  ])('$pairs: $want', ({ pairs, want }) => {
    expect(resolution(goal(pairs))).toBe(want);
  });
});
