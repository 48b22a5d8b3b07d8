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
  now: number,
): Upstream | null {
  const all = upstreamsOf(rt, addrs, now);
  let candidates = all.ups;
  let states = all.states;
  if (tried !== null && tried.size > 0) {
    const fresh = candidates.filter((u) => !tried.has(u.address));
    if (fresh.length > 0) {
      // otherwise a retry reuses an endpoint, as it must
      candidates = fresh;
      states = fresh.map((u) => u.state);
    }
  }
  const limit = rt.options.maxPendingPerEndpoint;
  const zone = rt.options.zone;
  if (zone !== undefined)
    states = preferZone(states, localOf(rt.current(), zone), now, limit, LOCAL);
  const state = pickEndpoint(states, now, rt.random, { pendingLimit: limit });
  if (state === null) return null;
  for (const up of candidates) {
    if (up.state !== state) continue;
    recordStart(state);
    return up;
  }
  return null;
}

interface Candidates {
  readonly ups: readonly Upstream[];
  readonly states: readonly EndpointState[];
}

/** A bound version's address list → its upstreams, kept while they are the ones in use. */
const candidatesByAddrs = new WeakMap<readonly string[], Candidates>();

/**
 * The upstreams (and their balancing states) of `addrs`, built once per address list of a
 * snapshot instead of two arrays per attempt; rebuilt when an upstream was replaced (an address
 * that left the configuration and came back) or the list belongs to another proxy's upstreams.
 */
function upstreamsOf(rt: ProxyRuntime, addrs: readonly string[], now: number): Candidates {
  const known = candidatesByAddrs.get(addrs);
  if (known !== undefined && sameUpstreams(rt, addrs, known.ups, now)) return known;
  const ups = addrs.map((a) => rt.upstreams.get(a, now));
  const built = { ups, states: ups.map((u) => u.state) };
  candidatesByAddrs.set(addrs, built);
  return built;
}

function sameUpstreams(
  rt: ProxyRuntime,
  addrs: readonly string[],
  ups: readonly Upstream[],
  now: number,
): boolean {
  for (let i = 0; i < addrs.length; i++)
    if (rt.upstreams.get(addrs[i]!, now) !== ups[i]) return false;
  return true;
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
  now: number,
): void {
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
