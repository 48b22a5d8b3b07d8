// When to restart an instance that exited unexpectedly: exponential backoff, forgiven once the
// instance had stayed up long enough (so a crash a day does not wait as long as a crash loop).

export interface BackoffPolicy {
  /** The first restart's delay. */
  readonly initialMs: number;
  /** The longest delay. */
  readonly maxMs: number;
  /** An instance that stayed up this long before exiting starts again from initialMs. */
  readonly resetAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = {
  initialMs: 500,
  maxMs: 30_000,
  resetAfterMs: 60_000,
};

/** Delay before the restart that follows `failures` consecutive failed runs (0 = the first). */
export function restartDelayMs(failures: number, policy: BackoffPolicy): number {
  // 2^failures overflows to Infinity long before the clamp matters; min() keeps that harmless.
  return Math.min(policy.initialMs * 2 ** failures, policy.maxMs);
}

/** After an exit following `uptimeMs` of running: how long to wait, and the new failure count. */
export function nextRestart(
  failures: number,
  uptimeMs: number,
  policy: BackoffPolicy,
): { delayMs: number; failures: number } {
  const counted = uptimeMs >= policy.resetAfterMs ? 0 : failures;
  return { delayMs: restartDelayMs(counted, policy), failures: counted + 1 };
}
