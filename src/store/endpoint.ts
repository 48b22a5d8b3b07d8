// Which instances receive traffic. `isEndpoint`: the snapshot compiler (src/control/
// compile-snapshot.ts) puts the instance in its version's endpoint set, with its state and
// weight. `takesTraffic`: a proxy also sends it new requests (config/compile.ts, routable) — the
// one definition of "this instance can take traffic" for the release engine (reconcile.ts,
// isReady), the API's `serving` field (the CLI and the dashboard show it) and waits on readiness.

import { routable } from '../config/compile.js';
import type { Instance } from './model.js';

/** Whether an instance is in its version's endpoint set at `nowMs`. */
export function isEndpoint(instance: Instance, nowMs: number): boolean {
  if (instance.state === 'stopped' || instance.health === 'unhealthy') return false;
  if (instance.leaseExpiresAt === null) return true;
  return Date.parse(instance.leaseExpiresAt) > nowMs;
}

/**
 * Whether proxies send the instance new requests at `nowMs`: an endpoint (not stopped, not
 * unhealthy, lease valid) that is routable (ready, weight above 0).
 */
export function takesTraffic(instance: Instance, nowMs: number): boolean {
  return isEndpoint(instance, nowMs) && routable(instance);
}

/** Live: started and not on its way out (starting or ready), whether or not it takes traffic. */
export function isLive(instance: Instance): boolean {
  return instance.state === 'starting' || instance.state === 'ready';
}
