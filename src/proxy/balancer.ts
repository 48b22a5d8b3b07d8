// Choosing where one request goes: power-of-two-choices over peak-EWMA × load among a version's
// endpoints, and warm-up-scaled weights across versions. Pure: time and randomness are arguments.

import type { EndpointState } from './endpoint-state.js';
import { DEFAULT_EWMA_TAU_MS, ewmaAt } from './endpoint-state.js';
import { isEjected } from './outlier.js';
import { canAccept, DEFAULT_PENDING_LIMIT } from './pending-limit.js';

export interface BalancerOptions {
  /** EWMA decay constant used when reading estimates (default 10 s, as when recording). */
  readonly tauMs?: number;
  /** Slow-start window for a new endpoint among its siblings (default 30 s; 0 disables). */
  readonly warmupWindowMs?: number;
  /**
   * Least warm-up factor (default 0.1): an endpoint seen this instant is 10× dearer, not
   * infinitely so, and takes load once its siblings' queues are ten times longer.
   */
  readonly minWarmupFactor?: number;
  /** Endpoints with this many requests in flight are skipped (default 1000). */
  readonly pendingLimit?: number;
}

export const DEFAULT_WARMUP_WINDOW_MS = 30_000;
export const DEFAULT_MIN_WARMUP_FACTOR = 0.1;
/** Estimates are floored here so in-flight load still counts once an idle EWMA decays to ~0. */
const MIN_COST_EWMA_MS = 0.001;

/**
 * Picks an endpoint for one request, or null when none may take it (all draining or at their
 * pending limit; the caller answers 503 `no_endpoints` / `overloaded`).
 *
 * Draining and full endpoints are never picked. Ejected ones are skipped — unless every
 * remaining candidate is ejected: then ejection is ignored, because failing every request
 * outright is worse than trying endpoints that merely failed recently (the outlier detector
 * already refuses to eject a whole version; this covers sibling sets it did not see).
 */
export function pickEndpoint(
  candidates: readonly EndpointState[],
  nowMs: number,
  random: () => number,
  opts: BalancerOptions = {},
): EndpointState | null {
  const limit = opts.pendingLimit ?? DEFAULT_PENDING_LIMIT;
  // Counted before any list is built: with one endpoint, or all of them usable (nearly every
  // request), no array is allocated.
  let open = 0;
  let healthy = 0;
  let lastOpen: EndpointState | null = null;
  let lastHealthy: EndpointState | null = null;
  for (const c of candidates) {
    if (c.draining || !canAccept(c, limit)) continue;
    open++;
    lastOpen = c;
    if (isEjected(c, nowMs)) continue;
    healthy++;
    lastHealthy = c;
  }
  if (healthy === 1) return lastHealthy;
  if (healthy === 0 && open <= 1) return lastOpen;
  const pool =
    (healthy > 0 ? healthy : open) === candidates.length
      ? candidates
      : healthy > 0
        ? candidates.filter((c) => !c.draining && canAccept(c, limit) && !isEjected(c, nowMs))
        : candidates.filter((c) => !c.draining && canAccept(c, limit));

  // Two distinct endpoints uniformly at random: the second index skips over the first.
  const i = randomIndex(random, pool.length);
  let j = randomIndex(random, pool.length - 1);
  if (j >= i) j += 1;
  const a = pool[i]!;
  const b = pool[j]!;
  const costA = endpointCost(a, pool, nowMs, opts);
  const costB = endpointCost(b, pool, nowMs, opts);
  if (costA !== costB) return costA < costB ? a : b;
  return random() < 0.5 ? a : b; // a fixed tie-break would bias toward list order
}

/**
 * Locality (issue 13): the endpoints a proxy in a zone balances over. The in-zone candidates
 * (addresses in `local`) that can take a request now — not draining, under their pending limit,
 * not ejected — when there is at least one; otherwise every candidate, so traffic falls over to
 * the other zones (and `pickEndpoint` applies its own rules to them). Cross-zone traffic is slower
 * and often billed; a dead, ejected or saturated zone must not fail requests another zone can
 * serve.
 *
 * It runs on every request, so it allocates nothing: `local` is built once per snapshot, and the
 * in-zone endpoints are written into `into` (the caller's scratch array, emptied first) and that
 * array is answered — valid until the caller's next call, which it must consume before.
 */
export function preferZone(
  candidates: readonly EndpointState[],
  local: ReadonlySet<string>,
  nowMs: number,
  pendingLimit: number,
  into: EndpointState[],
): readonly EndpointState[] {
  into.length = 0;
  for (const c of candidates)
    if (local.has(c.address) && !c.draining && canAccept(c, pendingLimit) && !isEjected(c, nowMs))
      into.push(c);
  return into.length > 0 ? into : candidates;
}

/**
 * ewma × (inflight + 1) / warm-up: latency and queue depth together (Finagle's and linkerd's
 * peak-EWMA load), made dearer while the endpoint warms up. `siblings` supply the latency guess
 * for an endpoint that has not answered yet.
 */
export function endpointCost(
  state: EndpointState,
  siblings: readonly EndpointState[],
  nowMs: number,
  opts: BalancerOptions = {},
): number {
  const tau = opts.tauMs ?? DEFAULT_EWMA_TAU_MS;
  const ewma = state.sampled
    ? ewmaAt(state, nowMs, tau)
    : seedEwmaMs(siblings, nowMs, state.ewmaMs, tau);
  return (
    (Math.max(ewma, MIN_COST_EWMA_MS) * (state.inflight + 1)) / endpointWarmup(state, nowMs, opts)
  );
}

/**
 * The latency to assume for an endpoint that has not answered yet: the median of its answered
 * siblings' estimates — the version's typical latency, so the newcomer is neither flooded (as a
 * 0 or 1 ms guess would among 50 ms siblings) nor starved (as a pessimistic guess would) —
 * or `fallbackMs` when no sibling has answered either.
 */
export function seedEwmaMs(
  siblings: readonly EndpointState[],
  nowMs: number,
  fallbackMs: number,
  tauMs = DEFAULT_EWMA_TAU_MS,
): number {
  const known = siblings
    .filter((s) => s.sampled)
    .map((s) => ewmaAt(s, nowMs, tauMs))
    .sort((x, y) => x - y);
  if (known.length === 0) return fallbackMs;
  const mid = known.length >> 1;
  return known.length % 2 === 1 ? known[mid]! : (known[mid - 1]! + known[mid]!) / 2;
}

/**
 * Slow start among siblings: min(1, age / window), floored. It only ever compares an endpoint
 * with the others of its version, so when all of them are new (a whole version just deployed)
 * the factors are equal and cancel out; ramping that version is `pickWeightedBranch`'s job.
 */
export function endpointWarmup(
  state: EndpointState,
  nowMs: number,
  opts: BalancerOptions = {},
): number {
  const floor = opts.minWarmupFactor ?? DEFAULT_MIN_WARMUP_FACTOR;
  const window = opts.warmupWindowMs ?? DEFAULT_WARMUP_WINDOW_MS;
  return Math.max(floor, versionWarmup(state.firstSeenMs, nowMs, window));
}

/** How warmed up something first seen at `firstSeenMs` is: age / window, clamped to [0, 1]. */
export function versionWarmup(firstSeenMs: number, nowMs: number, windowMs: number): number {
  if (!(windowMs > 0)) return 1;
  return Math.min(1, Math.max(0, (nowMs - firstSeenMs) / windowMs));
}

export interface WeightedBranch {
  readonly weight: number;
  /** When the proxy first saw this branch's version with ready endpoints. */
  readonly firstSeenMs: number;
}

/**
 * Picks a union branch (its index; -1 when there are none) by weight, ramping new versions in.
 *
 * A version warming up gets factor × its own share, and what it does not take goes to the fully
 * warm versions in proportion to their weights: 50/50 with the canary half-way through its
 * window splits 25/75, and the canary's share grows linearly to 50 % over the window. Warm-up is
 * relative to the oldest positive-weight branch, so when every version is new there is nothing
 * to hand the deficit to and the nominal weights apply (throttling would only starve them all).
 * All weights 0 → uniform, as in `pickBound`.
 */
export function pickWeightedBranch(
  branches: readonly WeightedBranch[],
  nowMs: number,
  random: () => number,
  windowMs: number = DEFAULT_WARMUP_WINDOW_MS,
): number {
  if (branches.length === 0) return -1;
  const weights = warmedWeights(branches, nowMs, windowMs);
  let total = 0;
  for (const w of weights) total += w;
  if (!(total > 0)) return randomIndex(random, branches.length);
  let r = random() * total;
  for (let i = 0; i < weights.length; i++) {
    r -= weights[i]!;
    if (r < 0) return i;
  }
  return lastPositive(weights); // float rounding left r ≥ 0: the last branch that can be picked
}

/** Effective weights: ramping branches scaled down, the deficit given to the fully warm ones. */
function warmedWeights(
  branches: readonly WeightedBranch[],
  nowMs: number,
  windowMs: number,
): number[] {
  const nominal = branches.map((b) => (Number.isFinite(b.weight) && b.weight > 0 ? b.weight : 0));
  const raw = branches.map((b) => versionWarmup(b.firstSeenMs, nowMs, windowMs));
  let oldest = 0;
  for (let i = 0; i < raw.length; i++) if (nominal[i]! > 0) oldest = Math.max(oldest, raw[i]!);
  const factor = raw.map((f) => (oldest > 0 ? f / oldest : 1));

  let deficit = 0;
  let warmTotal = 0;
  for (let i = 0; i < nominal.length; i++) {
    if (factor[i]! >= 1) warmTotal += nominal[i]!;
    else deficit += nominal[i]! * (1 - factor[i]!);
  }
  // warmTotal > 0 whenever any weight is: the oldest positive-weight branch has factor 1.
  return nominal.map((w, i) =>
    factor[i]! >= 1 ? w + (warmTotal > 0 ? (deficit * w) / warmTotal : 0) : w * factor[i]!,
  );
}

function lastPositive(weights: readonly number[]): number {
  for (let i = weights.length - 1; i >= 0; i--) if (weights[i]! > 0) return i;
  return weights.length - 1;
}

/** floor(random() × n), clamped so a generator returning exactly 1 (or junk) stays in range. */
function randomIndex(random: () => number, n: number): number {
  const i = Math.floor(random() * n);
  return i >= 0 && i < n ? i : i >= n ? n - 1 : 0;
}
