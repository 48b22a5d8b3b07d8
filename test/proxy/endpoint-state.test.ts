// Specs for per-endpoint balancing state (src/proxy/endpoint-state.ts): in-flight counting,
// peak-EWMA latency, and failures counted as slow responses (linkerd/linkerd2#11669).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EndpointState } from '../../src/proxy/endpoint-state.js';
import {
  DEFAULT_EWMA_TAU_MS,
  ewmaAt,
  failureSampleMs,
  MAX_FAILURE_PENALTY_MS,
  newEndpointState,
  recordFailure,
  recordStart,
  recordSuccess,
} from '../../src/proxy/endpoint-state.js';

const TAU = DEFAULT_EWMA_TAU_MS;
const E1 = Math.exp(-1);

/** An endpoint that has answered before, with estimate `ewmaMs` taken at `atMs`. */
function sampledAt(ewmaMs: number, atMs: number): EndpointState {
  const s = newEndpointState('10.0.0.1:8080', 0);
  s.ewmaMs = ewmaMs;
  s.lastUpdateMs = atMs;
  s.sampled = true;
  return s;
}

describe('newEndpointState', () => {
  it('starts idle, healthy, unsampled, first seen now', () => {
    expect(newEndpointState('10.0.0.1:8080', 1234)).toEqual({
      address: '10.0.0.1:8080',
      inflight: 0,
      ewmaMs: 1,
      lastUpdateMs: 1234,
      sampled: false,
      firstSeenMs: 1234,
      consecutiveFailures: 0,
      ejections: 0,
      ejectedUntilMs: 0,
      draining: false,
    });
  });

  it('takes an initial latency guess', () => {
    expect(newEndpointState('a:1', 0, 40).ewmaMs).toBe(40);
  });
});

describe('in-flight counting', () => {
  it('counts starts and finishes, never below zero', () => {
    const s = newEndpointState('a:1', 0);
    recordStart(s);
    recordStart(s);
    expect(s.inflight).toBe(2);
    recordSuccess(s, 5, 10);
    recordFailure(s, 5, 20);
    expect(s.inflight).toBe(0);
    recordSuccess(s, 5, 30); // a stray finish
    expect(s.inflight).toBe(0);
  });
});

describe('peak-EWMA', () => {
  // [what, estimate, estimate taken at, sample, now, expected estimate]
  const cases: [string, number, number, number, number, number][] = [
    ['a higher sample is taken at once', 10, 0, 50, 1, 50],
    ['a higher sample is taken at once, however recent the last', 10, 5, 50, 5, 50],
    ['a lower sample right after the last changes nothing', 100, 0, 10, 0, 100],
    [
      'a lower sample one tau later moves (1 - 1/e) of the way',
      100,
      0,
      10,
      TAU,
      100 * E1 + 10 * (1 - E1),
    ],
    ['a lower sample two tau later', 100, 0, 10, 2 * TAU, 100 * E1 ** 2 + 10 * (1 - E1 ** 2)],
    ['a lower sample long after replaces the estimate', 100, 0, 10, 100 * TAU, 10],
    ['an equal sample keeps it', 20, 0, 20, TAU, 20],
    ['a clock step backwards counts as no time', 100, 1000, 10, 500, 100],
  ];
  it.each(cases)('%s', (_what, ewma, at, sample, now, expected) => {
    const s = sampledAt(ewma, at);
    recordStart(s);
    recordSuccess(s, sample, now);
    expect(s.ewmaMs).toBeCloseTo(expected, 9);
    expect(s.lastUpdateMs).toBe(Math.max(at, now));
  });

  it('the first response replaces the initial guess, up or down', () => {
    const low = newEndpointState('a:1', 0, 50);
    recordSuccess(low, 2, 1);
    expect(low.ewmaMs).toBe(2);
    const high = newEndpointState('b:1', 0, 1);
    recordSuccess(high, 80, 1);
    expect(high.ewmaMs).toBe(80);
    expect(high.sampled).toBe(true);
  });

  it('honours a custom tau', () => {
    const s = sampledAt(100, 0);
    recordSuccess(s, 0, 1000, 1000);
    expect(s.ewmaMs).toBeCloseTo(100 * E1, 9);
  });

  it('stays within the range of its samples (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            latency: fc.double({ min: 0, max: 1e5, noNaN: true }),
            gap: fc.double({ min: 0, max: 1e5, noNaN: true }),
          }),
          { minLength: 1, maxLength: 50 },
        ),
        (samples) => {
          const s = newEndpointState('a:1', 0);
          let now = 0;
          for (const { latency, gap } of samples) {
            now += gap;
            recordSuccess(s, latency, now);
          }
          const ls = samples.map((x) => x.latency);
          expect(s.ewmaMs).toBeGreaterThanOrEqual(Math.min(...ls) - 1e-9);
          expect(s.ewmaMs).toBeLessThanOrEqual(Math.max(...ls) + 1e-9);
        },
      ),
    );
  });
});

describe('ewmaAt: reading decays towards zero, so idle endpoints get probed again', () => {
  const cases: [string, number, number][] = [
    ['at the sample time', 0, 100],
    ['one tau later', TAU, 100 * E1],
    ['before the sample time (clock step back)', -TAU, 100],
  ];
  it.each(cases)('%s', (_what, elapsed, expected) => {
    const s = sampledAt(100, 50_000);
    expect(ewmaAt(s, 50_000 + elapsed)).toBeCloseTo(expected, 9);
    expect(s.ewmaMs).toBe(100); // reading never changes the state
  });
});

describe('failures count as slow responses (linkerd/linkerd2#11669)', () => {
  // [what, current estimate, failure latency, penalty floor, sample fed to the EWMA]
  const cases: [string, number, number, number, number][] = [
    ['a fast failure costs at least the penalty', 5, 0.1, 1000, 1000],
    ['four times a high estimate', 500, 0.1, 1000, 2000],
    ['a slow failure (timeout) costs its latency', 5, 30_000, 1000, 30_000],
    ['compounding is capped', 5000, 0.1, 1000, MAX_FAILURE_PENALTY_MS],
    ['a penalty floor above the cap still applies', 5000, 0.1, 20_000, 20_000],
  ];
  it.each(cases)('%s', (_what, ewma, latency, penalty, expected) => {
    expect(failureSampleMs(ewma, latency, penalty)).toBe(expected);
  });

  it('an endpoint failing in 0.1 ms looks slower than one answering in 5 ms', () => {
    const failing = sampledAt(5, 0);
    const healthy = sampledAt(5, 0);
    recordFailure(failing, 0.1, 1);
    recordSuccess(healthy, 5, 1);
    expect(failing.ewmaMs).toBe(1000);
    expect(failing.ewmaMs).toBeGreaterThan(100 * healthy.ewmaMs);
  });

  it('whereas recording the same failure as a response would make it look fastest (the trap)', () => {
    const naive = sampledAt(5, 0);
    recordSuccess(naive, 0.1, 60_000);
    expect(naive.ewmaMs).toBeLessThan(5);
  });

  it('repeated failures compound up to the cap, from the decayed estimate', () => {
    const s = sampledAt(5, 0);
    const seen: number[] = [];
    for (let i = 1; i <= 4; i++) {
      recordFailure(s, 0.1, i);
      seen.push(Math.round(s.ewmaMs));
    }
    expect(seen).toEqual([1000, 4000, 10_000, 10_000]);
    // Long idle: the estimate has decayed, so the next failure compounds from there (≈ the floor).
    recordFailure(s, 0.1, 4 + 10 * TAU);
    expect(s.ewmaMs).toBeGreaterThanOrEqual(1000);
    expect(s.ewmaMs).toBeLessThan(1001);
  });

  it('counts consecutive failures; a success resets them', () => {
    const s = newEndpointState('a:1', 0);
    recordFailure(s, 1, 1);
    recordFailure(s, 1, 2);
    expect(s.consecutiveFailures).toBe(2);
    recordSuccess(s, 1, 3);
    expect(s.consecutiveFailures).toBe(0);
  });
});
