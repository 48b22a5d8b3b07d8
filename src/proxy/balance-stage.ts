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
  if (zone !== undefined) {
    const zones = zonesOf(rt.current());
    states = preferZone(states, (s) => zones.get(s.address) === zone, now, limit);
  }
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

const NO_ZONES: ReadonlyMap<string, string> = new Map();
const zonesBySnapshot = new WeakMap<CompiledSnapshot, ReadonlyMap<string, string>>();

/** Endpoint address → its host's zone, built once per snapshot (not per request). */
function zonesOf(compiled: CompiledSnapshot | null): ReadonlyMap<string, string> {
  if (compiled === null) return NO_ZONES;
  let zones = zonesBySnapshot.get(compiled);
  if (zones === undefined) {
    const built = new Map<string, string>();
    for (const m of compiled.snapshot.modules)
      for (const v of m.versions)
        for (const e of v.endpoints) if (e.zone !== undefined) built.set(e.address, e.zone);
    zones = built;
    zonesBySnapshot.set(compiled, zones);
  }
  return zones;
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
