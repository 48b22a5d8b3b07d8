// Health checking as pure state transitions: previous consecutive counters + one probe result →
// new counters + the store patch that result calls for (null: nothing to write). The prober
// (health-checker.ts) does the I/O and applies the patch.
//
// Rules:
// - A success resets the failure count and adds one success; a failure does the opposite.
// - `healthyThreshold` consecutive successes make the verdict `healthy`, `unhealthyThreshold`
//   consecutive failures make it `unhealthy`; in between the verdict is the one already held.
// - The patch is relative to the instance as the store has it, so it is written only when the
//   store differs from the verdict (whoever else wrote meanwhile, the store converges).
// - `healthy` moves a `starting` instance to `ready`. `draining` and `stopped` keep their state
//   (the release engine owns those); health is still recorded for a draining instance.
// - An instance whose lease has expired is never made healthy (nor ready): the registry's verdict
//   (the lease sweeper marks it unhealthy) wins until its runtime heartbeats again.

import type { HealthState, Instance, InstancePatch } from '../store/model.js';

export interface ProbeCounters {
  /** Consecutive successful probes (0 after a failure). */
  readonly successes: number;
  /** Consecutive failed probes (0 after a success). */
  readonly failures: number;
}

export const NO_PROBES: ProbeCounters = { successes: 0, failures: 0 };

export interface Thresholds {
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
}

export interface HealthStep {
  readonly counters: ProbeCounters;
  /** What to write to the store, or null when the store already says it. */
  readonly patch: InstancePatch | null;
}

/** Counts can grow without bound on a long-lived instance; past the threshold the count is moot. */
const CAP = 1_000;

export function countProbe(previous: ProbeCounters, ok: boolean): ProbeCounters {
  return ok
    ? { successes: Math.min(previous.successes + 1, CAP), failures: 0 }
    : { successes: 0, failures: Math.min(previous.failures + 1, CAP) };
}

/** The verdict the counters support, or null when neither threshold is reached. */
export function verdictOf(counters: ProbeCounters, t: Thresholds): HealthState | null {
  if (counters.successes >= t.healthyThreshold) return 'healthy';
  if (counters.failures >= t.unhealthyThreshold) return 'unhealthy';
  return null;
}

/** Whether the instance's lease has run out at `nowMs` (no lease: never). */
export function leaseExpired(instance: Pick<Instance, 'leaseExpiresAt'>, nowMs: number): boolean {
  return instance.leaseExpiresAt !== null && Date.parse(instance.leaseExpiresAt) <= nowMs;
}

/** The patch that brings the stored instance in line with `verdict`, or null. */
export function patchFor(
  instance: Pick<Instance, 'state' | 'health' | 'leaseExpiresAt'>,
  verdict: HealthState | null,
  nowMs: number,
): InstancePatch | null {
  if (verdict === null || instance.state === 'stopped') return null;
  if (verdict === 'healthy' && leaseExpired(instance, nowMs)) return null;
  const patch: { health?: HealthState; state?: 'ready' } = {};
  if (instance.health !== verdict) patch.health = verdict;
  if (verdict === 'healthy' && instance.state === 'starting') patch.state = 'ready';
  return patch.health === undefined && patch.state === undefined ? null : patch;
}

/** One probe's effect: the counters after it and what to write. */
export function healthStep(
  previous: ProbeCounters,
  ok: boolean,
  instance: Pick<Instance, 'state' | 'health' | 'leaseExpiresAt'>,
  thresholds: Thresholds,
  nowMs: number,
): HealthStep {
  const counters = countProbe(previous, ok);
  return { counters, patch: patchFor(instance, verdictOf(counters, thresholds), nowMs) };
}
