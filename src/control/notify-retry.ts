// When a delivery is tried again, and when it is given up: exponential backoff, bounded attempts.
// Pure (the clock is an argument), so the schedule is table-tested.

import type { DeliveryOutcome } from '../store/notifier-model.js';

export interface RetryPolicy {
  /** Delay after the first failed attempt. */
  readonly initialMs: number;
  /** The longest delay. */
  readonly maxMs: number;
  /** Attempts in all, the first included; after the last failed one the delivery is failed. */
  readonly maxAttempts: number;
}

/** 1 s, 2 s, 4 s … up to 5 min; 8 attempts span about 2 minutes. */
export const DEFAULT_RETRY: RetryPolicy = { initialMs: 1000, maxMs: 300_000, maxAttempts: 8 };

/** The wait after failed attempt number `attempt` (1-based). */
export function retryDelayMs(attempt: number, policy: RetryPolicy): number {
  return Math.min(policy.initialMs * 2 ** Math.max(0, attempt - 1), policy.maxMs);
}

/** How an attempt's result is recorded: delivered, due again later, or failed for good. */
export function outcomeOf(
  attempt: number,
  result: { ok: boolean; status: number | null; error: string | null },
  nowMs: number,
  policy: RetryPolicy,
): DeliveryOutcome {
  const attemptAt = new Date(nowMs).toISOString();
  const base = { attemptAt, status: result.status, error: result.error };
  if (result.ok) return { ...base, state: 'delivered', nextAttemptAt: null, error: null };
  if (attempt >= policy.maxAttempts) return { ...base, state: 'failed', nextAttemptAt: null };
  const next = new Date(nowMs + retryDelayMs(attempt, policy)).toISOString();
  return { ...base, state: 'pending', nextAttemptAt: next };
}
