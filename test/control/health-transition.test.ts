// Health checking's pure transitions, table by table: counting, verdicts against thresholds, and
// the patch a verdict calls for given what the store holds.

import { describe, expect, it } from 'vitest';
import {
  countProbe,
  healthStep,
  leaseExpired,
  NO_PROBES,
  patchFor,
  verdictOf,
} from '../../src/control/health-transition.js';
import type { HealthState, InstanceState } from '../../src/store/model.js';

const NOW = Date.parse('2026-01-01T00:00:00.000Z');
const past = new Date(NOW - 1).toISOString();
const future = new Date(NOW + 1000).toISOString();
const at = new Date(NOW).toISOString();

describe('countProbe', () => {
  it.each([
    [{ successes: 0, failures: 0 }, true, { successes: 1, failures: 0 }],
    [{ successes: 2, failures: 0 }, true, { successes: 3, failures: 0 }],
    [{ successes: 2, failures: 0 }, false, { successes: 0, failures: 1 }],
    [{ successes: 0, failures: 4 }, false, { successes: 0, failures: 5 }],
    [{ successes: 0, failures: 4 }, true, { successes: 1, failures: 0 }],
    [{ successes: 1000, failures: 0 }, true, { successes: 1000, failures: 0 }],
  ])('%o + ok=%s → %o', (before, ok, after) => {
    expect(countProbe(before, ok)).toEqual(after);
  });
});

describe('verdictOf', () => {
  const t = { healthyThreshold: 2, unhealthyThreshold: 3 };
  it.each([
    [0, 0, null],
    [1, 0, null],
    [2, 0, 'healthy'],
    [7, 0, 'healthy'],
    [0, 2, null],
    [0, 3, 'unhealthy'],
    [0, 9, 'unhealthy'],
  ] as const)('%i successes, %i failures → %s', (successes, failures, verdict) => {
    expect(verdictOf({ successes, failures }, t)).toBe(verdict);
  });
});

describe('leaseExpired', () => {
  it.each([
    [null, false],
    [future, false],
    [at, true],
    [past, true],
  ])('lease %s at now → %s', (lease, expired) => {
    expect(leaseExpired({ leaseExpiresAt: lease }, NOW)).toBe(expired);
  });
});

describe('patchFor', () => {
  type Row = [InstanceState, HealthState, string | null, HealthState | null, object | null];
  const rows: Row[] = [
    // no verdict: nothing to write, whatever the store holds
    ['starting', 'unknown', null, null, null],
    ['ready', 'unhealthy', null, null, null],
    // healthy: starting moves to ready
    ['starting', 'unknown', null, 'healthy', { health: 'healthy', state: 'ready' }],
    ['starting', 'healthy', null, 'healthy', { state: 'ready' }],
    ['ready', 'unhealthy', null, 'healthy', { health: 'healthy' }],
    ['ready', 'healthy', null, 'healthy', null],
    // unhealthy: state stays
    ['starting', 'unknown', null, 'unhealthy', { health: 'unhealthy' }],
    ['ready', 'healthy', null, 'unhealthy', { health: 'unhealthy' }],
    ['ready', 'unhealthy', null, 'unhealthy', null],
    // draining: health recorded, state never touched
    ['draining', 'healthy', null, 'unhealthy', { health: 'unhealthy' }],
    ['draining', 'unhealthy', null, 'healthy', { health: 'healthy' }],
    ['draining', 'healthy', null, 'healthy', null],
    // stopped: never written
    ['stopped', 'unknown', null, 'healthy', null],
    ['stopped', 'healthy', null, 'unhealthy', null],
    // expired lease: never made healthy or ready; unhealthy still recorded
    ['starting', 'unknown', past, 'healthy', null],
    ['ready', 'unhealthy', past, 'healthy', null],
    ['ready', 'healthy', past, 'unhealthy', { health: 'unhealthy' }],
    // running lease: as without one
    ['starting', 'unknown', future, 'healthy', { health: 'healthy', state: 'ready' }],
  ];
  it.each(rows)('%s/%s lease %s, verdict %s → %o', (state, health, lease, verdict, patch) => {
    expect(patchFor({ state, health, leaseExpiresAt: lease }, verdict, NOW)).toEqual(patch);
  });
});

describe('healthStep', () => {
  it('walks an instance through start, failures past the threshold, and recovery', () => {
    const t = { healthyThreshold: 2, unhealthyThreshold: 2 };
    let stored = { state: 'starting' as InstanceState, health: 'unknown' as HealthState };
    let counters = NO_PROBES;
    const writes: (object | null)[] = [];
    for (const ok of [true, true, true, false, false, false, true, true]) {
      const step = healthStep(counters, ok, { ...stored, leaseExpiresAt: null }, t, NOW);
      counters = step.counters;
      writes.push(step.patch);
      if (step.patch !== null) stored = { ...stored, ...(step.patch as typeof stored) };
    }
    expect(writes).toEqual([
      null, // one success: below the healthy threshold
      { health: 'healthy', state: 'ready' },
      null, // already so: no write
      null, // one failure: below the unhealthy threshold
      { health: 'unhealthy' },
      null,
      null,
      { health: 'healthy' }, // state stays ready
    ]);
    expect(stored).toEqual({ state: 'ready', health: 'healthy' });
  });
});
