// Per-endpoint balancing state (in-flight count, peak-EWMA latency, failure and ejection history),
// keyed by `host:port` and kept across configuration versions. Pure: time is always an argument.

/** Decay time constant of the latency EWMA (Finagle's and linkerd's default). */
export const DEFAULT_EWMA_TAU_MS = 10_000;
/** The latency guess for an endpoint with no siblings to learn from. */
export const DEFAULT_INITIAL_EWMA_MS = 1;
/** The least latency a failure counts as, however fast it failed. */
export const DEFAULT_FAILURE_PENALTY_MS = 1_000;
/** A failure counts as this many times the current estimate (when above the penalty floor)... */
export const FAILURE_PENALTY_FACTOR = 4;
/** ...but repeated failures stop compounding here, so a recovered endpoint is not dark for hours. */
export const MAX_FAILURE_PENALTY_MS = 10_000;

export interface EndpointState {
  readonly address: string;
  /** Requests started and not yet finished. */
  inflight: number;
  /** Peak-EWMA of response latency; failures count as slow responses. */
  ewmaMs: number;
  /** When `ewmaMs` last took a sample. */
  lastUpdateMs: number;
  /** False until the first response: until then `ewmaMs` is only a guess. */
  sampled: boolean;
  /** When this proxy first saw the address (drives slow start). */
  firstSeenMs: number;
  consecutiveFailures: number;
  /** Ejections "owed" by recent history (decays while healthy); sets the next ejection's length. */
  ejections: number;
  /** Ejected while `nowMs < ejectedUntilMs`. */
  ejectedUntilMs: number;
  /** Being drained: gets no new requests. */
  draining: boolean;
}

export function newEndpointState(
  address: string,
  nowMs: number,
  initialEwmaMs: number = DEFAULT_INITIAL_EWMA_MS,
): EndpointState {
  return {
    address,
    inflight: 0,
    ewmaMs: initialEwmaMs,
    lastUpdateMs: nowMs,
    sampled: false,
    firstSeenMs: nowMs,
    consecutiveFailures: 0,
    ejections: 0,
    ejectedUntilMs: 0,
    draining: false,
  };
}

/**
 * The estimate as of `nowMs`, decayed towards 0 since the last sample (Finagle reads it this way):
 * an endpoint left idle, perhaps after a penalty, slowly becomes cheap again and gets probed.
 */
export function ewmaAt(state: EndpointState, nowMs: number, tauMs = DEFAULT_EWMA_TAU_MS): number {
  return state.ewmaMs * decayWeight(nowMs - state.lastUpdateMs, tauMs);
}

export function recordStart(state: EndpointState): void {
  state.inflight += 1;
}

/** Gives back the in-flight slot of a request that yields no latency sample (an upgrade). */
export function recordRelease(state: EndpointState): void {
  finish(state);
}

export function recordSuccess(
  state: EndpointState,
  latencyMs: number,
  nowMs: number,
  tauMs = DEFAULT_EWMA_TAU_MS,
): void {
  finish(state);
  state.consecutiveFailures = 0;
  observe(state, latencyMs, nowMs, tauMs);
}

/**
 * A failure is fed to the EWMA as a slow response — max(latency, penalty floor, 4 × estimate) —
 * never as its own latency: an endpoint that fails in 0.1 ms would otherwise look like the
 * fastest one and win every pick (linkerd/linkerd2#11669).
 */
export function recordFailure(
  state: EndpointState,
  latencyMs: number,
  nowMs: number,
  penaltyMs = DEFAULT_FAILURE_PENALTY_MS,
  tauMs = DEFAULT_EWMA_TAU_MS,
): void {
  const sampleMs = failureSampleMs(ewmaAt(state, nowMs, tauMs), latencyMs, penaltyMs);
  finish(state);
  state.consecutiveFailures += 1;
  observe(state, sampleMs, nowMs, tauMs);
}

/** The latency a failure counts as (exported for tests and for explaining a penalty). */
export function failureSampleMs(
  currentEwmaMs: number,
  latencyMs: number,
  penaltyMs: number,
): number {
  const compounded = Math.min(currentEwmaMs * FAILURE_PENALTY_FACTOR, MAX_FAILURE_PENALTY_MS);
  return Math.max(latencyMs, penaltyMs, compounded);
}

/** exp(-elapsed/tau); clock steps backwards count as no time passing. */
function decayWeight(elapsedMs: number, tauMs: number): number {
  return elapsedMs <= 0 ? 1 : Math.exp(-elapsedMs / tauMs);
}

function finish(state: EndpointState): void {
  // Never below 0, so a stray double finish cannot make an endpoint look emptier than idle.
  state.inflight = Math.max(0, state.inflight - 1);
}

/** Peak-EWMA: a sample above the estimate is taken at once; one below is blended in over time. */
function observe(state: EndpointState, sampleMs: number, nowMs: number, tauMs: number): void {
  if (!state.sampled || sampleMs > state.ewmaMs) {
    // The first real sample replaces the initial guess outright.
    state.ewmaMs = sampleMs;
  } else {
    const w = decayWeight(nowMs - state.lastUpdateMs, tauMs);
    state.ewmaMs = state.ewmaMs * w + sampleMs * (1 - w);
  }
  state.sampled = true;
  // Keep the newest stamp if the clock stepped back, so decay never runs from a future time.
  state.lastUpdateMs = Math.max(state.lastUpdateMs, nowMs);
}
