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
  if (zone !== undefined) {
    const zones = zonesOf(rt.current());
    states = preferZone(states, (s) => zones.get(s.address) === zone, now, limit);
  }
  const state = pickEndpoint(states, now, rt.random, { pendingLimit: limit });
  const chosen = state === null ? null : (candidates.find((u) => u.state === state) ?? null);
  if (chosen !== null) recordStart(chosen.state);
  return chosen;
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
