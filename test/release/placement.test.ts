// Placement of a version's new replicas over hosts: table-tested rules (eligibility, zone spread,
// host spread, load, name order) and the reason when replicas do not fit.

import { describe, expect, it } from 'vitest';
import type { PlacementHost } from '../../src/release/placement.js';
import { place } from '../../src/release/placement.js';

const host = (
  name: string,
  zone: string | null,
  more: Partial<PlacementHost> = {},
): PlacementHost => ({
  name,
  state: 'ready',
  labels: zone === null ? {} : { zone },
  capacity: null,
  instances: 0,
  ...more,
});

describe('place', () => {
  const fleet = [host('a1', 'a'), host('a2', 'a'), host('b1', 'b'), host('c1', 'c')];

  it.each([
    ['one per zone first, then the second host of a zone', fleet, 4, [], ['a1', 'b1', 'c1', 'a2']],
    [
      'around the zones again once each zone has one',
      fleet,
      6,
      [],
      ['a1', 'b1', 'c1', 'a2', 'b1', 'c1'],
    ],
    ['away from zones that already hold replicas', fleet, 2, ['a1', 'b1'], ['c1', 'a2']],
    [
      'the least loaded host within a zone',
      [host('a1', 'a', { instances: 5 }), host('a2', 'a', { instances: 1 })],
      1,
      [],
      ['a2'],
    ],
    [
      'hosts without the label share one zone',
      [host('x', null), host('y', null), host('z', 'z')],
      3,
      [],
      ['x', 'z', 'y'],
    ],
    ['nothing asked, nothing placed', fleet, 0, [], []],
  ])('%s', (_why, hosts, count, existing, expected) => {
    expect(place(hosts, { count, existing })).toEqual({ ok: true, hosts: expected });
  });

  it('never places on a cordoned, draining or down host', () => {
    const hosts = [
      host('c', 'a', { state: 'cordoned' }),
      host('d', 'b', { state: 'draining' }),
      host('x', 'c', { state: 'down' }),
      host('r', 'a'),
    ];
    expect(place(hosts, { count: 3, existing: [] })).toEqual({ ok: true, hosts: ['r', 'r', 'r'] });
  });

  it('honours label constraints', () => {
    const hosts = [host('g1', 'a', { labels: { zone: 'a', gpu: 'yes' } }), host('p1', 'b')];
    expect(place(hosts, { count: 2, existing: [], constraints: { gpu: 'yes' } })).toEqual({
      ok: true,
      hosts: ['g1', 'g1'],
    });
  });

  it('spreads across another label when asked', () => {
    const hosts = [
      host('r1', 'a', { labels: { zone: 'a', rack: '1' } }),
      host('r2', 'a', { labels: { zone: 'a', rack: '1' } }),
      host('r3', 'a', { labels: { zone: 'a', rack: '2' } }),
    ];
    expect(place(hosts, { count: 2, existing: [], spreadLabel: 'rack' }).hosts).toEqual([
      'r1',
      'r3',
    ]);
  });

  it('fills within capacity and says which hosts are full', () => {
    const hosts = [
      host('a1', 'a', { capacity: 2, instances: 1 }),
      host('b1', 'b', { capacity: 1 }),
    ];
    expect(place(hosts, { count: 3, existing: [] })).toEqual({
      ok: false,
      // b1 first: the zones tie and it is the less loaded host.
      hosts: ['b1', 'a1'],
      reason: 'every eligible host is full (a1 2/2, b1 1/1); 1 of 3 replicas cannot be placed',
    });
  });

  it.each([
    [[], {}, 'no host has registered; 2 of 2 replicas cannot be placed'],
    [
      [host('c', 'a', { state: 'cordoned' }), host('d', 'a', { state: 'down' })],
      {},
      'no host is ready (hosts are cordoned, down); 2 of 2 replicas cannot be placed',
    ],
    [
      [host('p', 'a')],
      { gpu: 'yes' },
      'no ready host has the labels gpu=yes; 2 of 2 replicas cannot be placed',
    ],
  ])('explains why nothing fits: %#', (hosts, constraints, reason) => {
    expect(place(hosts, { count: 2, existing: [], constraints })).toEqual({
      ok: false,
      hosts: [],
      reason,
    });
  });

  it('places N at once exactly as N one at a time', () => {
    const hosts = [
      host('a1', 'a', { instances: 2 }),
      host('a2', 'a'),
      host('b1', 'b', { instances: 1 }),
    ];
    const all = place(hosts, { count: 5, existing: ['b1'] }).hosts;
    const one: string[] = [];
    const existing = ['b1'];
    const load = new Map(hosts.map((h) => [h.name, h.instances]));
    for (let i = 0; i < 5; i++) {
      const now = hosts.map((h) => ({ ...h, instances: load.get(h.name) ?? 0 }));
      const [next] = place(now, { count: 1, existing }).hosts;
      one.push(next as string);
      existing.push(next as string);
      load.set(next as string, (load.get(next as string) ?? 0) + 1);
    }
    expect(all).toEqual(one);
  });
});
