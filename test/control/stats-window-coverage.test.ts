// Chart series from the stats window when scrapes are late (issue 16: traffic charts dropped to 0
// and spiked): a bucket no sample landed in is missing, not zero, and a bucket two samples landed
// in is a rate over the time they cover. Table-driven, pure: sample times are the inputs.

import { describe, expect, it } from 'vitest';
import type { ProxySample } from '../../src/release/stats-sample.js';
import type { TrafficKey } from '../../src/release/stats-window.js';
import { StatsWindow } from '../../src/release/stats-window.js';

const KEY: TrafficKey = { product: 'shop', lane: 'stable', module: 'orders', version: '1.0.0' };
const T0 = 1_000_000; // a bucket boundary for bucketMs 1000

/** A cumulative sample: `requests` so far, all in the first latency bound. */
const sample = (requests: number): ProxySample => ({
  keys: [{ key: KEY, requests, errors: 0, buckets: [[Number.POSITIVE_INFINITY, requests]] }],
  configVersion: null,
});

interface Case {
  name: string;
  /** [ms after T0, requests since the previous sample] for one proxy; the first is the baseline. */
  samples: [number, number][];
  now: number;
  /** The last buckets' points, oldest first: [sampled, requests/s]. */
  want: [boolean, number][];
}

const CASES: Case[] = [
  {
    name: 'on time: one sample a second, each a second of traffic',
    samples: [
      [0, 0],
      [1000, 10],
      [2000, 10],
      [3000, 10],
    ],
    now: 3500,
    want: [
      [true, 10],
      [true, 10],
      [true, 10],
    ],
  },
  {
    name: 'a scrape late: the skipped second is missing, the next covers two seconds',
    samples: [
      [0, 0],
      [1000, 10],
      [3000, 20],
    ],
    now: 3500,
    want: [
      [true, 10],
      [false, 0],
      [true, 10],
    ],
  },
  {
    name: 'two scrapes in one second (one early), then one late: rates over the time covered',
    samples: [
      [0, 0],
      [1000, 10],
      [1500, 5],
      [3000, 15],
    ],
    now: 3500,
    want: [
      [true, 10],
      [false, 0],
      [true, 10],
    ],
  },
];

describe('StatsWindow.series with late samples', () => {
  it.each(CASES)('$name', ({ samples, now, want }) => {
    const w = new StatsWindow({ windowMs: 10_000, bucketMs: 1000 });
    let total = 0;
    for (const [at, n] of samples) {
      total += n;
      w.ingest('p1', sample(total), T0 + at);
    }
    const points = w.series({}, T0 + now).slice(-want.length);
    expect(points.map((p) => [p.sampled, Math.round(p.rps * 100) / 100])).toEqual(want);
  });

  it('a bucket with samples but no requests is a real zero, not a missing sample', () => {
    const w = new StatsWindow({ windowMs: 10_000, bucketMs: 1000 });
    w.ingest('p1', sample(5), T0);
    w.ingest('p1', sample(5), T0 + 1000);
    const last = w.series({}, T0 + 1500).at(-1)!;
    expect(last).toMatchObject({ sampled: true, requests: 0, rps: 0 });
  });
});
