// Stage 4, balance: choose the endpoint for one attempt among the bound version's addresses
// (power of two choices over peak-EWMA × load, skipping draining, ejected and full endpoints,
// and the endpoints this request already tried; with a zone, its own zone's endpoints first),
// and feed every outcome back.

import type { CompiledSnapshot } from '../config/compile.js';
import { pickEndpoint, preferZone } from './balancer.js';
import type { EndpointState } from './endpoint-state.js';
import { recordFailure, recordRelease, recordStart, recordSuccess } from './endpoint-state.js';
import type { AttemptResult } from './forward.js';
import type { ProxyRuntime } from './handler.js';
import { considerEjection, isEjected } from './outlier.js';
import type { Upstream } from './upstreams.js';

export function chooseUpstream(
  rt: ProxyRuntime,
  addrs: readonly string[],
  tried: ReadonlySet<string> | null,
): Upstream | null {
  const now = rt.now();
  const all = addrs.map((a) => rt.upstreams.get(a, now));
  const fresh = tried === null || tried.size === 0 ? all : all.filter((u) => !tried.has(u.address));
  const candidates = fresh.length > 0 ? fresh : all; // a retry may reuse an endpoint if it must
  const limit = rt.options.maxPendingPerEndpoint;
  let states: readonly EndpointState[] = candidates.map((u) => u.state);
  const zone = rt.options.zone;
  if (zone !== undefined)
    states = preferZone(states, localOf(rt.current(), zone), now, limit, LOCAL);
  const state = pickEndpoint(states, now, rt.random, { pendingLimit: limit });
  const chosen = state === null ? null : (candidates.find((u) => u.state === state) ?? null);
  if (chosen !== null) recordStart(chosen.state);
  return chosen;
}

/**
 * preferZone's scratch array, reused by every request: it is consumed (pickEndpoint copies what
 * it keeps) before the next request can run, as this is synchronous.
 */
const LOCAL: EndpointState[] = [];
const NONE: ReadonlySet<string> = new Set();
const localBySnapshot = new WeakMap<
  CompiledSnapshot,
  { zone: string; local: ReadonlySet<string> }
>();

/** The addresses of the endpoints in `zone`, built once per snapshot (not per request). */
function localOf(compiled: CompiledSnapshot | null, zone: string): ReadonlySet<string> {
  if (compiled === null) return NONE;
  const hit = localBySnapshot.get(compiled);
  if (hit !== undefined && hit.zone === zone) return hit.local;
  const local = new Set<string>();
  for (const m of compiled.snapshot.modules)
    for (const v of m.versions)
      for (const e of v.endpoints) if (e.zone === zone) local.add(e.address);
  localBySnapshot.set(compiled, { zone, local });
  return local;
}

/** A 5xx counts as a failure: an endpoint that fails fast must not look fast (linkerd2#11669). */
export function recordOutcome(
  rt: ProxyRuntime,
  up: Upstream,
  r: AttemptResult,
  elapsedMs: number,
  siblings: readonly string[],
): void {
  const now = rt.now();
  if (r.kind === 'responded' && r.status < 500) {
    recordSuccess(up.state, elapsedMs, now);
    return;
  }
  if (isEjected(up.state, now)) {
    // In flight when the endpoint was ejected: the ejection already answers for this failure.
    // Pricing it in again would keep the endpoint dark long after its ejection ends.
    recordRelease(up.state);
    return;
  }
  recordFailure(up.state, elapsedMs, now);
  const states = siblings.map((a) => rt.upstreams.get(a, now).state);
  if (considerEjection(up.state, states, now)) {
    rt.logger.warn({
      event: 'endpoint_ejected',
      endpoint: up.address,
      until: up.state.ejectedUntilMs,
    });
  }
}
