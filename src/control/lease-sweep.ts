// The registry's lease rule as pure decisions: an instance whose lease has run out is marked
// unhealthy in the store. (The snapshot compiler already drops it from routing the moment the lease
// expires; the sweep makes the store, the dashboard and the audit log say so too.)
//
// Only instances with a lease take part (no lease = registered by something that does not
// heartbeat, e.g. the local process runtime). A stopped instance is left alone, and one already
// unhealthy needs no write. Recovery is the health checker's: once the runtime heartbeats again
// and probes succeed, it marks the instance healthy.

import type { Host } from '../store/host-model.js';
import type { Instance, InstancePatch } from '../store/model.js';
import { leaseExpired } from './health-transition.js';

export type LeaseView = Pick<Instance, 'id' | 'state' | 'health' | 'leaseExpiresAt'>;

export const EXPIRED_PATCH: InstancePatch = { health: 'unhealthy' };

/** The patch an instance's lease calls for at `nowMs`, or null. */
export function sweepPatch(instance: LeaseView, nowMs: number): InstancePatch | null {
  if (instance.state === 'stopped' || instance.health === 'unhealthy') return null;
  return leaseExpired(instance, nowMs) ? EXPIRED_PATCH : null;
}

/** The ids to mark unhealthy at `nowMs`, in the order given. */
export function expiredLeases(instances: readonly LeaseView[], nowMs: number): string[] {
  return instances.filter((i) => sweepPatch(i, nowMs) !== null).map((i) => i.id);
}

/**
 * When the sweep must look again without a store change: the earliest lease still running among
 * instances a sweep could mark (ms since the epoch), or null. Heartbeats only move leases later,
 * so a lease seen running here cannot have expired sooner.
 */
export function nextExpiryMs(instances: readonly LeaseView[], nowMs: number): number | null {
  let next: number | null = null;
  for (const i of instances) {
    if (i.leaseExpiresAt === null || i.state === 'stopped' || i.health === 'unhealthy') continue;
    const at = Date.parse(i.leaseExpiresAt);
    if (at > nowMs && (next === null || at < next)) next = at;
  }
  return next;
}

export type HostLeaseView = Pick<Host, 'name' | 'state' | 'leaseExpiresAt'>;

/**
 * Whether a host's lease has run out at `nowMs` while it is not down yet: it is then `down`
 * (issue 13: lost). A host that never heartbeated (no lease) is left alone.
 */
export function hostLost(host: HostLeaseView, nowMs: number): boolean {
  if (host.state === 'down' || host.leaseExpiresAt === null) return false;
  return Date.parse(host.leaseExpiresAt) <= nowMs;
}

/** The earliest host lease still running at `nowMs` among hosts not down (ms), or null. */
export function nextHostExpiryMs(hosts: readonly HostLeaseView[], nowMs: number): number | null {
  let next: number | null = null;
  for (const h of hosts) {
    if (h.state === 'down' || h.leaseExpiresAt === null) continue;
    const at = Date.parse(h.leaseExpiresAt);
    if (at > nowMs && (next === null || at < next)) next = at;
  }
  return next;
}
