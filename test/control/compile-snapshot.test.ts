// The pure compile from store state to the proxy snapshot: lanes → overlays and rule order,
// instances (state, health, lease) → endpoints, and invalid state → a typed error, never a snapshot.

import { describe, expect, it } from 'vitest';
import type { StoreState } from '../../src/control/compile-snapshot.js';
import { compileStoreSnapshot, SnapshotCompileError } from '../../src/control/compile-snapshot.js';
import type { Instance, Lane, Module, Product, Version } from '../../src/store/model.js';

const T0 = '2026-01-01T00:00:00.000Z';
const NOW = new Date('2026-01-01T12:00:00.000Z');
const stamp = { createdAt: T0, updatedAt: T0 };

const product = (over: Partial<Product> = {}): Product => ({
  name: 'shop',
  org: 'acme',
  hosts: ['shop.example.com'],
  entry: 'orders',
  retainTickets: 5,
  baseDtab: '/svc => /v;',
  ...stamp,
  ...over,
});
const module = (name: string, calls: string[] = []): Module => ({
  name,
  org: 'acme',
  calls,
  health: { path: '/healthz', intervalMs: 5000, healthyThreshold: 1, unhealthyThreshold: 3 },
  run: { process: { command: 'node' } } as Module['run'],
  placement: null,
  ...stamp,
});
const version = (m: string, v: string): Version => ({
  module: m,
  version: v,
  run: null,
  artifact: null,
  createdAt: T0,
});
const lane = (name: string, createdAt: string, over: Partial<Lane> = {}): Lane => ({
  product: 'shop',
  name,
  overlay: `/svc/orders => /v/orders/${name};`,
  rules: [{ lane: name, header: { name: 'x-lane', equals: name } }] as Lane['rules'],
  createdAt,
  updatedAt: createdAt,
  ...over,
});
const instance = (id: string, over: Partial<Instance> = {}): Instance => ({
  id,
  module: 'orders',
  version: '1.0.0',
  host: 'h1',
  address: '127.0.0.1:9001',
  state: 'ready',
  health: 'healthy',
  weight: 1,
  leaseExpiresAt: null,
  ...stamp,
  ...over,
});

function state(over: Partial<StoreState> = {}): StoreState {
  return {
    changeVersion: 7,
    products: [product()],
    lanes: [],
    modules: [module('orders')],
    versions: [version('orders', '1.0.0'), version('orders', '1.1.0')],
    instances: [],
    ...over,
  };
}

function ok(s: StoreState) {
  const r = compileStoreSnapshot(s, NOW);
  if (!r.ok) throw r.error;
  return r;
}

describe('compileStoreSnapshot', () => {
  it('uses the change counter as the version and the base dtab as the product dtab', () => {
    const r = ok(state());
    expect(r.snapshot.version).toBe(7);
    expect(r.snapshot.products[0]).toMatchObject({
      name: 'shop',
      hosts: ['shop.example.com'],
      entry: 'orders',
      dtab: '/svc => /v;',
      lanes: [],
      rules: [],
    });
    expect(r.json).not.toContain('\n');
    expect(JSON.parse(r.json)).toEqual(r.snapshot);
  });

  const laneCases: {
    name: string;
    lanes: Lane[];
    expectLanes: string[];
  }[] = [
    { name: 'no lanes', lanes: [], expectLanes: [] },
    {
      name: 'ordered by creation, not by name',
      lanes: [lane('a', '2026-01-01T03:00:00.000Z'), lane('b', '2026-01-01T01:00:00.000Z')],
      expectLanes: ['b', 'a'],
    },
    {
      name: 'same creation time: by name',
      lanes: [lane('z', T0), lane('m', T0)],
      expectLanes: ['m', 'z'],
    },
    {
      name: "another product's lanes are not included",
      lanes: [lane('a', T0), lane('x', T0, { product: 'other' })],
      expectLanes: ['a'],
    },
  ];
  it.each(laneCases)('lanes → overlays and rules: $name', ({ lanes, expectLanes }) => {
    const r = ok(state({ lanes }));
    const p = r.snapshot.products[0]!;
    expect(p.lanes.map((l) => l.name)).toEqual(expectLanes);
    expect(p.lanes.map((l) => l.overlay)).toEqual(
      expectLanes.map((n) => `/svc/orders => /v/orders/${n};`),
    );
    expect(p.rules.map((r) => r.lane)).toEqual(expectLanes);
  });

  const endpointCases: {
    name: string;
    instance: Partial<Instance>;
    expected: { address: string; state: string; weight: number } | null;
  }[] = [
    {
      name: 'ready, no lease',
      instance: {},
      expected: { address: '127.0.0.1:9001', state: 'ready', weight: 1 },
    },
    {
      name: 'weight kept',
      instance: { weight: 2.5 },
      expected: { address: '127.0.0.1:9001', state: 'ready', weight: 2.5 },
    },
    {
      name: 'lease in the future',
      instance: { leaseExpiresAt: '2026-01-01T12:00:05.000Z' },
      expected: { address: '127.0.0.1:9001', state: 'ready', weight: 1 },
    },
    {
      name: 'lease expired',
      instance: { leaseExpiresAt: '2026-01-01T11:59:59.000Z' },
      expected: null,
    },
    { name: 'lease expiring now', instance: { leaseExpiresAt: NOW.toISOString() }, expected: null },
    {
      name: 'draining stays (no new requests)',
      instance: { state: 'draining' },
      expected: { address: '127.0.0.1:9001', state: 'draining', weight: 1 },
    },
    {
      name: 'starting',
      instance: { state: 'starting', health: 'unknown' },
      expected: { address: '127.0.0.1:9001', state: 'starting', weight: 1 },
    },
    { name: 'stopped', instance: { state: 'stopped' }, expected: null },
    { name: 'unhealthy', instance: { health: 'unhealthy' }, expected: null },
  ];
  it.each(endpointCases)('instances → endpoints: $name', ({ instance: over, expected }) => {
    const r = ok(state({ instances: [instance('i-1', over)] }));
    const v = r.snapshot.modules[0]!.versions.find((x) => x.version === '1.0.0')!;
    expect(v.endpoints).toEqual(expected === null ? [] : [expected]);
    expect(r.snapshot.modules[0]!.versions.find((x) => x.version === '1.1.0')!.endpoints).toEqual(
      [],
    );
  });

  it('reports the earliest future lease expiry among endpoints', () => {
    const r = ok(
      state({
        instances: [
          instance('i-1', { leaseExpiresAt: '2026-01-01T12:00:09.000Z' }),
          instance('i-2', {
            leaseExpiresAt: '2026-01-01T12:00:03.000Z',
            address: '127.0.0.1:9002',
          }),
          instance('i-3', {
            leaseExpiresAt: '2026-01-01T11:00:00.000Z',
            address: '127.0.0.1:9003',
          }),
        ],
      }),
    );
    expect(r.nextLeaseExpiryMs).toBe(Date.parse('2026-01-01T12:00:03.000Z'));
    expect(r.snapshot.modules[0]!.versions[0]!.endpoints.map((e) => e.address)).toEqual([
      '127.0.0.1:9001',
      '127.0.0.1:9002',
    ]);
  });

  it('groups endpoints by module and version', () => {
    const r = ok(
      state({
        modules: [module('orders', ['account']), module('account')],
        versions: [version('orders', '1.0.0'), version('account', '2.0.0')],
        instances: [
          instance('a-1', { module: 'account', version: '2.0.0', address: '10.0.0.1:80' }),
          instance('o-1', { address: '10.0.0.2:80' }),
        ],
      }),
    );
    expect(r.snapshot.modules.map((m) => [m.name, m.calls, m.versions])).toEqual([
      [
        'account',
        [],
        [{ version: '2.0.0', endpoints: [{ address: '10.0.0.1:80', state: 'ready', weight: 1 }] }],
      ],
      [
        'orders',
        ['account'],
        [{ version: '1.0.0', endpoints: [{ address: '10.0.0.2:80', state: 'ready', weight: 1 }] }],
      ],
    ]);
  });

  const invalidCases: { name: string; state: StoreState; field: string; message: RegExp }[] = [
    {
      name: 'entry module unknown',
      state: state({ products: [product({ entry: 'ghost' })] }),
      field: 'products[0].entry',
      message: /unknown module "ghost"/,
    },
    {
      name: 'invalid base dtab',
      state: state({ products: [product({ baseDtab: '/svc => ' })] }),
      field: 'products[0].dtab',
      message: /invalid dtab/,
    },
    {
      name: 'module calls an unknown module',
      state: state({ modules: [module('orders', ['nowhere'])] }),
      field: 'modules[0].calls[0]',
      message: /unknown module "nowhere"/,
    },
    {
      name: 'a host in two products',
      state: state({ products: [product(), product({ name: 'shop2' })] }),
      field: 'products',
      message: /belongs to two products/,
    },
  ];
  it.each(invalidCases)('invalid state gives a typed error: $name', (c) => {
    const r = compileStoreSnapshot(c.state, NOW);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toBeInstanceOf(SnapshotCompileError);
    expect(r.error.version).toBe(7);
    expect(r.error.field).toBe(c.field);
    expect(r.error.message).toMatch(c.message);
  });
});
