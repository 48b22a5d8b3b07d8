// Retry policy: which failed requests may be retried, how long to wait, and a budget (as in
// Finagle and linkerd) that keeps retries from multiplying load during an outage. Pure.

import type { FailureKind } from './forward.js';

export interface RetryBudgetOptions {
  /** How long a deposit or withdrawal counts (default 10 s). */
  readonly ttlMs?: number;
  /** Retries allowed per second even with no traffic (default 10). */
  readonly minRetriesPerSec?: number;
  /** Retries allowed as a fraction of requests: 0.2 = 20 % (the default); may exceed 1. */
  readonly percentCanRetry?: number;
  /** Time buckets the window is kept in (default 10): memory is fixed, expiry is this coarse. */
  readonly buckets?: number;
}

export interface RetryBudget {
  /** Counts one original request (not a retry). */
  deposit(nowMs: number): void;
  /** Takes one retry from the budget; false (and nothing taken) when the budget is spent. */
  tryWithdraw(nowMs: number): boolean;
  /** Retries still allowed now (may be fractional), for metrics and tests. */
  balance(nowMs: number): number;
}

export const DEFAULT_RETRY_TTL_MS = 10_000;
export const DEFAULT_MIN_RETRIES_PER_SEC = 10;
export const DEFAULT_PERCENT_CAN_RETRY = 0.2;
export const DEFAULT_BUDGET_BUCKETS = 10;
/** Absorbs float error in reserve + percent × requests (0.1 × 3 is 0.30000000000000004). */
const EPSILON = 1e-9;

/**
 * A leaky token bucket: tokens = minRetriesPerSec × ttl + percentCanRetry × requests − retries,
 * counting only requests and retries of the last ttl. So within any ttl window, retries ≤
 * floor + percent × requests. Counts live in a ring of time buckets; a bucket is cleared when
 * time moves past it. Time should be monotonic: a step backwards counts in the newest bucket.
 */
export function createRetryBudget(opts: RetryBudgetOptions = {}): RetryBudget {
  const ttlMs = opts.ttlMs ?? DEFAULT_RETRY_TTL_MS;
  const minPerSec = opts.minRetriesPerSec ?? DEFAULT_MIN_RETRIES_PER_SEC;
  const percent = opts.percentCanRetry ?? DEFAULT_PERCENT_CAN_RETRY;
  const buckets = opts.buckets ?? DEFAULT_BUDGET_BUCKETS;
  checkOptions(ttlMs, minPerSec, percent, buckets);

  const reserve = minPerSec * (ttlMs / 1000);
  const bucketMs = ttlMs / buckets;
  const requests = new Array<number>(buckets).fill(0);
  const retries = new Array<number>(buckets).fill(0);
  let current = Number.NEGATIVE_INFINITY; // number of the newest bucket (time / bucketMs)

  /** Moves to the bucket holding `nowMs`, clearing the ones the window has left behind. */
  function advance(nowMs: number): number {
    const bucket = Math.floor(nowMs / bucketMs);
    if (bucket > current) {
      const steps = Math.min(buckets, bucket - current);
      for (let k = 0; k < steps; k++) {
        const slot = ringSlot(bucket - k, buckets);
        requests[slot] = 0;
        retries[slot] = 0;
      }
      current = bucket;
    }
    return ringSlot(current, buckets);
  }

  function balance(nowMs: number): number {
    advance(nowMs);
    return reserve + percent * sum(requests) - sum(retries);
  }

  return {
    deposit(nowMs) {
      const slot = advance(nowMs);
      requests[slot] = (requests[slot] ?? 0) + 1;
    },
    tryWithdraw(nowMs) {
      if (balance(nowMs) < 1 - EPSILON) return false;
      const slot = ringSlot(current, buckets);
      retries[slot] = (retries[slot] ?? 0) + 1;
      return true;
    },
    balance,
  };
}

/**
 * Full-jitter exponential backoff (AWS architecture blog): uniform in [0, min(cap, base × 2^attempt)),
 * where `attempt` counts retries already made (0 before the first). Jitter spreads the retries of
 * many clients that failed together, so they do not hit the recovering endpoint in lockstep.
 */
export function backoffMs(attempt: number, random: () => number, baseMs = 5, capMs = 200): number {
  const exponent = Math.min(Math.max(0, Math.floor(attempt)), 30); // 2^30 × base ≫ any cap
  const ceiling = Math.min(capMs, baseMs * 2 ** exponent);
  return Math.min(Math.max(0, random()), 1) * ceiling;
}

export interface RetryCandidate {
  /** The request method as received (methods are case-sensitive: RFC 9110 §9.1). */
  readonly method: string;
  /**
   * How the attempt failed before the upstream answered: `connect` (the upstream never saw the
   * request), `reset` (an open connection closed before any response byte), `timeout`, `other`;
   * null when the upstream answered with `status`.
   */
  readonly failure: FailureKind | null;
  /** The upstream's status, when it answered. */
  readonly status?: number | undefined;
  /** Some request body was read and cannot be replayed; also true while a body may still be sent. */
  readonly bodyConsumed: boolean;
}

/** RFC 9110 §9.2.2 idempotent methods: repeating them has the effect of sending them once. */
const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set([
  'GET',
  'HEAD',
  'OPTIONS',
  'TRACE',
  'PUT',
  'DELETE',
]);

/**
 * The proxy's one retry policy: whether a failed attempt may be sent again (the budget and the
 * attempt limit permitting). A body that was read cannot be sent again, so nothing is. A
 * connection failure is safe for any method: the upstream never saw the request. A reset before
 * any response byte and a 503 are retried only for idempotent methods, since the upstream may
 * have acted first. Timeouts, other errors and other statuses may have been processed: never.
 * With `failure: null, status: 503` it also says whether a 503 is worth holding back.
 */
export function isRetryable(attempt: RetryCandidate): boolean {
  if (attempt.bodyConsumed) return false;
  if (attempt.failure === 'connect') return true;
  const idempotent = IDEMPOTENT_METHODS.has(attempt.method);
  if (attempt.failure === 'reset') return idempotent;
  if (attempt.failure !== null) return false;
  return attempt.status === 503 && idempotent;
}

function checkOptions(ttlMs: number, minPerSec: number, percent: number, buckets: number): void {
  if (!(ttlMs > 0) || !Number.isFinite(ttlMs)) throw new RangeError(`ttlMs must be > 0: ${ttlMs}`);
  if (!(minPerSec >= 0) || !Number.isFinite(minPerSec))
    throw new RangeError(`minRetriesPerSec must be ≥ 0: ${minPerSec}`);
  if (!(percent >= 0) || !Number.isFinite(percent))
    throw new RangeError(`percentCanRetry must be ≥ 0: ${percent}`);
  if (!Number.isInteger(buckets) || buckets < 1)
    throw new RangeError(`buckets must be a positive integer: ${buckets}`);
}

function ringSlot(bucket: number, size: number): number {
  return ((bucket % size) + size) % size;
}

function sum(xs: readonly number[]): number {
  let total = 0;
  for (const x of xs) total += x;
  return total;
}
