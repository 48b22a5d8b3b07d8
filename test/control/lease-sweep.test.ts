// The lease rule's pure decisions: which instances a sweep marks unhealthy, and when it must look
// again without a store change.

import { describe, expect, it } from 'vitest';
import type { LeaseView } from '../../src/control/lease-sweep.js';
import { expiredLeases, nextExpiryMs, sweepPatch } from '../../src/control/lease-sweep.js';

const NOW = Date.parse('2026-01-01T00:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

function inst(id: string, lease: number | null, over: Partial<LeaseView> = {}): LeaseView {
  return {
    id,
    state: 'ready',
    health: 'healthy',
    leaseExpiresAt: lease === null ? null : iso(lease),
    ...over,
  };
}

describe('sweepPatch', () => {
  it.each([
    ['no lease', inst('a', null), null],
    ['lease running', inst('a', NOW + 1), null],
    ['lease ends now', inst('a', NOW), { health: 'unhealthy' }],
    ['lease expired', inst('a', NOW - 5000), { health: 'unhealthy' }],
    ['expired, starting', inst('a', NOW - 1, { state: 'starting' }), { health: 'unhealthy' }],
    ['expired, draining', inst('a', NOW - 1, { state: 'draining' }), { health: 'unhealthy' }],
    ['expired, unknown', inst('a', NOW - 1, { health: 'unknown' }), { health: 'unhealthy' }],
    ['expired, already unhealthy', inst('a', NOW - 1, { health: 'unhealthy' }), null],
    ['expired, stopped', inst('a', NOW - 1, { state: 'stopped' }), null],
  ])('%s → %o', (_what, instance, patch) => {
    expect(sweepPatch(instance, NOW)).toEqual(patch);
  });
});

describe('expiredLeases', () => {
  it('lists the instances to mark, in order', () => {
    const list = [
      inst('a', NOW - 1),
      inst('b', NOW + 1),
      inst('c', null),
      inst('d', NOW - 100, { state: 'stopped' }),
      inst('e', NOW),
    ];
    expect(expiredLeases(list, NOW)).toEqual(['a', 'e']);
    expect(expiredLeases(list, NOW + 1)).toEqual(['a', 'b', 'e']);
    expect(expiredLeases([], NOW)).toEqual([]);
  });
});

describe('nextExpiryMs', () => {
  it.each([
    ['nothing with a lease', [inst('a', null)], null],
    ['the earliest running lease', [inst('a', NOW + 300), inst('b', NOW + 100)], NOW + 100],
    ['expired leases do not count', [inst('a', NOW - 1), inst('b', NOW + 50)], NOW + 50],
    ['nor stopped instances', [inst('a', NOW + 1, { state: 'stopped' })], null],
    ['nor unhealthy ones', [inst('a', NOW + 1, { health: 'unhealthy' })], null],
  ])('%s', (_what, list, expected) => {
    expect(nextExpiryMs(list, NOW)).toBe(expected);
  });
});
