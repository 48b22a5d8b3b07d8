// Which instances receive traffic: shared by the snapshot compiler (src/control/compile-snapshot.ts),
// which builds the proxies' endpoint sets, and the release engine (src/release/reconcile.ts),
// which must count the same instances as serving, so the two can never disagree.

import type { Instance } from './model.js';

/** Whether an instance is in its version's endpoint set at `nowMs`. */
export function isEndpoint(instance: Instance, nowMs: number): boolean {
  if (instance.state === 'stopped' || instance.health === 'unhealthy') return false;
  if (instance.leaseExpiresAt === null) return true;
  return Date.parse(instance.leaseExpiresAt) > nowMs;
}
