// Specs for passive outlier ejection (src/proxy/outlier.ts): when an endpoint is ejected, for how
// long, how much of a version may be out at once, and how the ejection history decays.

import { describe, expect, it } from 'vitest';
import type { EndpointState } from '../../src/proxy/endpoint-state.js';
import { newEndpointState, recordFailure, recordSuccess } from '../../src/proxy/endpoint-state.js';
import {
  considerEjection,
  decayEjections,
  ejectionDurationMs,
  isEjected,
  maxEjected,
} from '../../src/proxy/outlier.js';

const S = 1000;

function endpoint(address: string, fields: Partial<EndpointState> = {}): EndpointState {
  return Object.assign(newEndpointState(address, 0), fields);
}

/** Records `n` failures at `nowMs`, then asks whether to eject. */
function failTimes(
  e: EndpointState,
  n: number,
  nowMs: number,
  siblings: readonly EndpointState[] = [e, endpoint('other:1')],
): boolean {
  for (let k = 0; k < n; k++) recordFailure(e, 1, nowMs);
  return considerEjection(e, siblings, nowMs);
}

describe('ejectionDurationMs: base × 2^ejections, capped', () => {
  const cases: [number, number][] = [
    [0, 10 * S],
    [1, 20 * S],
    [2, 40 * S],
    [4, 160 * S],
    [5, 300 * S], // 320 s, capped at 5 min
    [1000, 300 * S],
  ];
  it.each(cases)('after %i ejections: %i ms', (ejections, expected) => {
    expect(ejectionDurationMs(ejections)).toBe(expected);
  });

  it('takes its base and cap from the options', () => {
    expect(ejectionDurationMs(3, { baseEjectionMs: 100, maxEjectionMs: 500 })).toBe(500);
    expect(ejectionDurationMs(2, { baseEjectionMs: 100, maxEjectionMs: 500 })).toBe(400);
  });
});

describe('maxEjected: never more than a share of the version', () => {
  // [endpoints in the version, share, most that may be ejected at once]
  const cases: [number, number, number][] = [
    [0, 0.5, 0],
    [1, 0.5, 0], // a lone endpoint: nothing to shift its traffic to
    [2, 0.5, 1],
    [3, 0.5, 1],
    [4, 0.5, 2],
    [10, 0.5, 5],
    [3, 0.1, 1], // at least one of several, or a small version could never shed a bad endpoint
    [4, 1, 4],
  ];
  it.each(cases)('%i endpoints at share %s → %i', (size, share, expected) => {
    expect(maxEjected(size, { maxEjectedShare: share })).toBe(expected);
  });
});

describe('considerEjection', () => {
  it('ejects after 5 consecutive failures, not before', () => {
    const e = endpoint('a:1');
    expect(failTimes(e, 4, 100)).toBe(false);
    expect(isEjected(e, 100)).toBe(false);
    expect(failTimes(e, 1, 100)).toBe(true);
    expect(e.ejectedUntilMs).toBe(100 + 10 * S);
    expect(e.ejections).toBe(1);
    expect(e.consecutiveFailures).toBe(0); // a returning endpoint must fail 5 times again
  });

  it('honours a custom threshold', () => {
    const e = endpoint('a:1');
    recordFailure(e, 1, 0);
    expect(considerEjection(e, [e, endpoint('b:1')], 0, { consecutiveFailures: 1 })).toBe(true);
  });

  it('a success resets the run of failures', () => {
    const e = endpoint('a:1');
    failTimes(e, 4, 0);
    recordSuccess(e, 1, 1);
    expect(failTimes(e, 4, 2)).toBe(false);
    expect(failTimes(e, 1, 3)).toBe(true);
  });

  it('an ejected endpoint returns exactly when its time is up', () => {
    const e = endpoint('a:1');
    failTimes(e, 5, 0);
    expect(isEjected(e, 10 * S - 1)).toBe(true);
    expect(isEjected(e, 10 * S)).toBe(false);
  });

  it('does not eject again while already ejected', () => {
    const e = endpoint('a:1');
    failTimes(e, 5, 0);
    expect(failTimes(e, 5, S)).toBe(false);
    expect(e.ejectedUntilMs).toBe(10 * S);
    expect(e.ejections).toBe(1);
  });

  it('doubles each ejection of an endpoint that keeps failing, up to 5 minutes', () => {
    const e = endpoint('a:1');
    const lengths: number[] = [];
    let now = 0;
    for (let k = 0; k < 7; k++) {
      failTimes(e, 5, now);
      lengths.push((e.ejectedUntilMs - now) / S);
      now = e.ejectedUntilMs; // fails again as soon as it is back
    }
    expect(lengths).toEqual([10, 20, 40, 80, 160, 300, 300]);
  });

  it('never ejects a lone endpoint', () => {
    const e = endpoint('a:1');
    expect(failTimes(e, 50, 0, [e])).toBe(false);
    expect(failTimes(e, 50, 0, [])).toBe(false);
  });

  it('never ejects more than half of a version; ejects the next once one returns', () => {
    const version = ['a:1', 'b:1', 'c:1', 'd:1'].map((a) => endpoint(a));
    const [a, b, c] = version as [EndpointState, EndpointState, EndpointState];
    expect(failTimes(a, 5, 0, version)).toBe(true);
    expect(failTimes(b, 5, 0, version)).toBe(true);
    expect(failTimes(c, 5, 0, version)).toBe(false); // 2 of 4 are out
    expect(failTimes(c, 1, 10 * S, version)).toBe(true); // a and b are back
  });

  it('ejects one of two', () => {
    const version = [endpoint('a:1'), endpoint('b:1')];
    const [a, b] = version as [EndpointState, EndpointState];
    expect(failTimes(a, 5, 0, version)).toBe(true);
    expect(failTimes(b, 5, 0, version)).toBe(false);
  });

  it('counts the endpoint once whether or not the siblings include it', () => {
    const a = endpoint('a:1');
    const b = endpoint('b:1', { ejectedUntilMs: S });
    const c = endpoint('c:1');
    // 3 endpoints, 1 already out: may not eject a second, either way of passing siblings.
    expect(failTimes(a, 5, 0, [a, b, c])).toBe(false);
    expect(failTimes(a, 5, 0, [b, c])).toBe(false);
    // Same address as a different object (a state rebuilt elsewhere) is still "a".
    expect(failTimes(a, 5, 0, [endpoint('a:1'), b])).toBe(false);
  });
});

describe('decayEjections: healthy time earns back a shorter next ejection', () => {
  it('forgets one ejection after a healthy period as long as the last ejection', () => {
    const e = endpoint('a:1');
    failTimes(e, 5, 0); // out 0 – 10 s
    decayEjections(e, 20 * S - 1);
    expect(e.ejections).toBe(1);
    decayEjections(e, 20 * S);
    expect(e.ejections).toBe(0);
    expect(failTimes(e, 5, 20 * S)).toBe(true);
    expect(e.ejectedUntilMs - 20 * S).toBe(10 * S); // back to the base length
  });

  it('steps down one ejection per period, not all at once', () => {
    const e = endpoint('a:1', { ejections: 3, ejectedUntilMs: 100 * S }); // last one was 40 s
    const at = (t: number) => {
      decayEjections(e, t);
      return e.ejections;
    };
    expect(at(139 * S)).toBe(3);
    expect(at(140 * S)).toBe(2); // 40 s healthy
    expect(at(159 * S)).toBe(2);
    expect(at(160 * S)).toBe(1); // 20 s more
    expect(at(170 * S)).toBe(0); // 10 s more
    expect(isEjected(e, 170 * S)).toBe(false);
  });

  it('catches up several periods in one call', () => {
    const e = endpoint('a:1', { ejections: 3, ejectedUntilMs: 100 * S });
    decayEjections(e, 165 * S);
    expect(e.ejections).toBe(1);
  });

  it('is applied before ejecting: an endpoint healthy for long gets a short ejection', () => {
    const e = endpoint('a:1', { ejections: 2, ejectedUntilMs: 0 }); // last was 20 s
    expect(failTimes(e, 5, 3600 * S)).toBe(true);
    expect(e.ejectedUntilMs - 3600 * S).toBe(10 * S);
  });

  it('does nothing while ejected', () => {
    const e = endpoint('a:1', { ejections: 2, ejectedUntilMs: 100 * S });
    decayEjections(e, 99 * S);
    expect(e.ejections).toBe(2);
  });
});
