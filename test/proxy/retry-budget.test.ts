// Specs for the retry policy (src/proxy/retry-budget.ts): the budget's floor and percentage,
// its time window, full-jitter backoff bounds, and which failures may be retried at all.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AttemptResult, FailureKind } from '../../src/proxy/forward.js';
import type { RetryCandidate } from '../../src/proxy/retry-budget.js';
import { backoffMs, createRetryBudget, isRetryable } from '../../src/proxy/retry-budget.js';
import { retryCandidate } from '../../src/proxy/retry-stage.js';

const S = 1000;

/** Withdraws until refused (or `max`), returning how many retries were granted. */
function drain(budget: ReturnType<typeof createRetryBudget>, nowMs: number, max = 100_000): number {
  let granted = 0;
  while (granted < max && budget.tryWithdraw(nowMs)) granted += 1;
  return granted;
}

describe('retry budget', () => {
  it('with no traffic allows the floor: 10/s × 10 s = 100 retries, then refuses', () => {
    const budget = createRetryBudget();
    expect(drain(budget, 0)).toBe(100);
    expect(budget.tryWithdraw(0)).toBe(false);
  });

  // [requests deposited, min retries/s, percent, retries granted]
  const cases: [number, number, number, number][] = [
    [1000, 10, 0.2, 300], // 100 floor + 20 % of 1000
    [1000, 0, 0.2, 200], // percentage only
    [3, 0, 0.1, 0], // 0.3 of a retry is not one
    [30, 0, 0.1, 3], // 0.1 × 30 is 3.0000000000000004 in floats: still exactly 3
    [1000, 0, 0, 0],
    [10, 0, 1, 10],
  ];
  it.each(cases)(
    '%i requests, floor %i/s, %s → %i retries',
    (requests, floor, percent, expected) => {
      const budget = createRetryBudget({ minRetriesPerSec: floor, percentCanRetry: percent });
      for (let k = 0; k < requests; k++) budget.deposit(5 * S);
      expect(drain(budget, 5 * S)).toBe(expected);
    },
  );

  it('a refused withdrawal takes nothing', () => {
    const budget = createRetryBudget({ minRetriesPerSec: 0, percentCanRetry: 0.5 });
    budget.deposit(0);
    expect(budget.tryWithdraw(0)).toBe(false);
    budget.deposit(0);
    expect(budget.tryWithdraw(0)).toBe(true);
  });

  it('forgets requests and retries older than the window', () => {
    const budget = createRetryBudget({ minRetriesPerSec: 0 });
    for (let k = 0; k < 100; k++) budget.deposit(0);
    expect(drain(budget, 0)).toBe(20);
    expect(budget.balance(9 * S)).toBeCloseTo(0, 9); // still inside the 10 s window
    expect(budget.balance(10 * S)).toBe(0); // both the deposits and the retries are gone
    for (let k = 0; k < 10; k++) budget.deposit(10 * S);
    expect(drain(budget, 10 * S)).toBe(2);
  });

  it('a long idle gap clears everything', () => {
    const budget = createRetryBudget();
    drain(budget, 0);
    expect(budget.balance(3_600 * S)).toBe(100);
  });

  it('under steady failure, retries settle at ≈ 20 % of requests plus the floor', () => {
    // 100 requests/s for 60 s, every one failing once and asking for a retry.
    const budget = createRetryBudget();
    let retries = 0;
    let requests = 0;
    for (let t = 0; t < 60 * S; t += 10) {
      budget.deposit(t);
      const granted = budget.tryWithdraw(t);
      if (t >= 30 * S) {
        requests += 1;
        if (granted) retries += 1;
      }
    }
    // Per 10 s window: (100 floor + 0.2 × 1000 requests) / 1000 requests = 30 %.
    expect(retries / requests).toBeGreaterThan(0.28);
    expect(retries / requests).toBeLessThan(0.32);
  });

  it('tolerates the clock stepping backwards (counts in the newest bucket)', () => {
    const budget = createRetryBudget({ minRetriesPerSec: 0 });
    for (let k = 0; k < 10; k++) budget.deposit(20 * S);
    expect(drain(budget, 15 * S)).toBe(2);
  });

  const bad: [string, object][] = [
    ['ttlMs 0', { ttlMs: 0 }],
    ['negative floor', { minRetriesPerSec: -1 }],
    ['NaN percent', { percentCanRetry: Number.NaN }],
    ['negative percent', { percentCanRetry: -0.1 }],
    ['fractional buckets', { buckets: 2.5 }],
    ['no buckets', { buckets: 0 }],
  ];
  it.each(bad)('rejects %s', (_what, opts) => {
    expect(() => createRetryBudget(opts)).toThrow(RangeError);
  });
});

describe('backoffMs: full-jitter exponential', () => {
  // [retries made so far, random(), expected delay]
  const cases: [number, number, number][] = [
    [0, 0, 0],
    [0, 0.5, 2.5], // ceiling 5 ms
    [1, 0.5, 5], // ceiling 10 ms
    [3, 0.5, 20], // ceiling 40 ms
    [5, 0.5, 80], // ceiling 160 ms
    [6, 0.5, 100], // 320 capped at 200 ms
    [1000, 0.5, 100],
    [-3, 0.5, 2.5], // nonsense attempts count as the first
  ];
  it.each(cases)('attempt %i, random %s → %s ms', (attempt, r, expected) => {
    expect(backoffMs(attempt, () => r)).toBe(expected);
  });

  it('takes its base and cap from the arguments', () => {
    expect(backoffMs(2, () => 0.5, 100, 1000)).toBe(200);
    expect(backoffMs(10, () => 0.5, 100, 1000)).toBe(500);
  });

  it('stays in [0, min(cap, base × 2^attempt)) (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, r) => {
          const d = backoffMs(attempt, () => r);
          expect(d).toBeGreaterThanOrEqual(0);
          expect(d).toBeLessThan(Math.min(200, 5 * 2 ** attempt));
        },
      ),
    );
  });
});

describe('isRetryable: the one retry policy the proxy uses', () => {
  const c = (
    method: string,
    failure: FailureKind | null,
    status: number | undefined,
    bodyConsumed: boolean,
  ): RetryCandidate => ({ method, failure, status, bodyConsumed });

  // [why, attempt, retryable]
  const cases: [string, RetryCandidate, boolean][] = [
    ['connection failed, GET', c('GET', 'connect', undefined, false), true],
    [
      'connection failed, POST with no body read: never reached the upstream',
      c('POST', 'connect', undefined, false),
      true,
    ],
    ['connection failed, PATCH', c('PATCH', 'connect', undefined, false), true],
    [
      'connection failed but the body was read and is gone',
      c('POST', 'connect', undefined, true),
      false,
    ],
    ['reset before any response byte, GET', c('GET', 'reset', undefined, false), true],
    ['reset, PUT with no body read', c('PUT', 'reset', undefined, false), true],
    ['reset, POST: the upstream may have acted', c('POST', 'reset', undefined, false), false],
    ['reset, GET whose body was read', c('GET', 'reset', undefined, true), false],
    [
      'timeout, GET: the upstream may still be working',
      c('GET', 'timeout', undefined, false),
      false,
    ],
    ['other error, GET', c('GET', 'other', undefined, false), false],
    ['503 GET', c('GET', null, 503, false), true],
    ['503 HEAD', c('HEAD', null, 503, false), true],
    ['503 OPTIONS', c('OPTIONS', null, 503, false), true],
    ['503 TRACE', c('TRACE', null, 503, false), true],
    ['503 PUT', c('PUT', null, 503, false), true],
    ['503 DELETE', c('DELETE', null, 503, false), true],
    ['503 POST: not idempotent', c('POST', null, 503, false), false],
    ['503 PATCH: not idempotent', c('PATCH', null, 503, false), false],
    ['503 PUT with a body (it streams: never held back)', c('PUT', null, 503, true), false],
    ['503 lower-case get: methods are case-sensitive', c('get', null, 503, false), false],
    ['500 GET: the upstream may have acted', c('GET', null, 500, false), false],
    ['502 GET', c('GET', null, 502, false), false],
    ['504 GET', c('GET', null, 504, false), false],
    ['200 GET', c('GET', null, 200, false), false],
  ];
  it.each(cases)('%s → %s', (_why, attempt, expected) => {
    expect(isRetryable(attempt)).toBe(expected);
  });
});

describe('retryCandidate: what the policy is asked about an attempt', () => {
  const failed = (failure: FailureKind, responseStarted: boolean, bodyRead: boolean) =>
    ({
      kind: 'failed',
      error: new Error('x'),
      failure,
      responseStarted,
      bodyRead,
    }) as const;
  const cases: [string, string, boolean, AttemptResult, RetryCandidate | null][] = [
    [
      'answered and passed on: nothing to ask',
      'GET',
      false,
      { kind: 'responded', status: 502 },
      null,
    ],
    [
      'a held 503',
      'GET',
      false,
      { kind: 'held-503' },
      { method: 'GET', failure: null, status: 503, bodyConsumed: false },
    ],
    ['failed after the status line went out', 'GET', false, failed('reset', true, false), null],
    [
      'a reset before any response byte',
      'GET',
      false,
      failed('reset', false, false),
      { method: 'GET', failure: 'reset', bodyConsumed: false },
    ],
    [
      'a connect failure of a POST whose body was read',
      'POST',
      true,
      failed('connect', false, true),
      { method: 'POST', failure: 'connect', bodyConsumed: true },
    ],
  ];
  it.each(cases)('%s', (_why, method, hasBody, result, expected) => {
    expect(retryCandidate(method, hasBody, result)).toEqual(expected);
  });
});
