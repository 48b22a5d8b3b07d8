// Passive outlier ejection: an endpoint that fails N times in a row sits out for an exponentially
// growing time, without ever ejecting more than a share of its version. Pure: time is an argument.

import type { EndpointState } from './endpoint-state.js';
import { DEFAULT_INITIAL_EWMA_MS } from './endpoint-state.js';

export interface OutlierOptions {
  /** Consecutive failures that eject (default 5). */
  readonly consecutiveFailures?: number;
  /** First ejection's length; each further one doubles (default 10 s). */
  readonly baseEjectionMs?: number;
  /** Longest ejection (default 5 min). */
  readonly maxEjectionMs?: number;
  /** Most of a version's endpoints that may be ejected at once, in [0, 1] (default 0.5). */
  readonly maxEjectedShare?: number;
}

export const DEFAULT_CONSECUTIVE_FAILURES = 5;
export const DEFAULT_BASE_EJECTION_MS = 10_000;
export const DEFAULT_MAX_EJECTION_MS = 300_000;
export const DEFAULT_MAX_EJECTED_SHARE = 0.5;

export function isEjected(state: EndpointState, nowMs: number): boolean {
  return nowMs < state.ejectedUntilMs;
}

/** base × 2^ejections, capped: the length of the next ejection after `ejections` earlier ones. */
export function ejectionDurationMs(ejections: number, opts: OutlierOptions = {}): number {
  const base = opts.baseEjectionMs ?? DEFAULT_BASE_EJECTION_MS;
  const cap = opts.maxEjectionMs ?? DEFAULT_MAX_EJECTION_MS;
  // The exponent is clamped so the arithmetic stays finite; the cap is reached long before.
  return Math.min(cap, base * 2 ** Math.min(Math.max(0, ejections), 30));
}

/**
 * How many of a version's `size` endpoints may be ejected at once: floor(size × share), but at
 * least 1 when there are several — otherwise a 2- or 3-endpoint version could never shed a bad
 * one under the default 50 % — and 0 for a lone endpoint: with nothing to shift its traffic to,
 * ejecting it would only turn "some requests fail" into "every request goes to it anyway"
 * (the balancer ignores ejection when all are ejected) while hiding the signal.
 */
export function maxEjected(size: number, opts: OutlierOptions = {}): number {
  if (size <= 1) return 0;
  const share = opts.maxEjectedShare ?? DEFAULT_MAX_EJECTED_SHARE;
  return Math.max(1, Math.floor(size * share));
}

/**
 * Forgets one ejection per healthy period as long as the last ejection was, so an endpoint that
 * was flapping long ago starts again from a short ejection. The decay clock is `ejectedUntilMs`,
 * moved forward one period per step (it stays in the past, so this never ejects anything).
 */
export function decayEjections(
  state: EndpointState,
  nowMs: number,
  opts: OutlierOptions = {},
): void {
  while (state.ejections > 0) {
    const period = ejectionDurationMs(state.ejections - 1, opts);
    if (nowMs < state.ejectedUntilMs + period) return;
    state.ejectedUntilMs += period;
    state.ejections -= 1;
  }
}

/**
 * Called after a failure was recorded: ejects the endpoint when it has failed enough times in a
 * row and its version can spare it. `siblings` are the version's endpoints (with or without
 * `state`). True when it ejected. Ejection resets the failure run, so a returning endpoint must
 * fail N times again to go back out (for a longer time, unless it has been healthy since).
 */
export function considerEjection(
  state: EndpointState,
  siblings: readonly EndpointState[],
  nowMs: number,
  opts: OutlierOptions = {},
): boolean {
  decayEjections(state, nowMs, opts);
  if (isEjected(state, nowMs)) return false;
  const threshold = opts.consecutiveFailures ?? DEFAULT_CONSECUTIVE_FAILURES;
  if (state.consecutiveFailures < threshold) return false;
  if (!canSpare(state, siblings, nowMs, opts)) return false;
  state.ejectedUntilMs = nowMs + ejectionDurationMs(state.ejections, opts);
  state.ejections += 1;
  state.consecutiveFailures = 0;
  // The failures' latency penalty (up to 10 s) would outlast the ejection: with nothing to
  // sample while skipped, it decays for a minute or more, keeping a recovered endpoint dark long
  // after its ejection ends. Forget it, so the endpoint returns priced like its siblings
  // (re-seeded from their median) and failing again is what sends it back out.
  state.sampled = false;
  state.ewmaMs = DEFAULT_INITIAL_EWMA_MS;
  return true;
}

/** Whether ejecting `state` keeps the version within its ejected share. */
function canSpare(
  state: EndpointState,
  siblings: readonly EndpointState[],
  nowMs: number,
  opts: OutlierOptions,
): boolean {
  let size = 1; // `state` itself, counted once whether or not it is in `siblings`
  let ejected = 0;
  for (const s of siblings) {
    if (s === state || s.address === state.address) continue;
    size += 1;
    if (isEjected(s, nowMs)) ejected += 1;
  }
  return ejected < maxEjected(size, opts);
}
