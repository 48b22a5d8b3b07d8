import { describe, expect, it } from 'vitest';
import type { Bound, NameTree } from '../../src/routing/index.js';
import {
  createRouter,
  endpointsFromMap,
  parseDtab,
  pickBound,
  showNameTree,
} from '../../src/routing/index.js';

const endpoints = endpointsFromMap(
  new Map([
    [
      'orders',
      new Map([
        ['1', ['127.0.0.1:1']],
        ['2', ['127.0.0.1:2']],
        ['3', []],
      ]),
    ],
  ]),
);

function router(maxCacheEntries?: number) {
  return createRouter({
    endpoints,
    ...(maxCacheEntries === undefined ? {} : { maxCacheEntries }),
    products: [
      {
        name: 'shop',
        baseDtab: parseDtab('/svc/orders=>/v/orders/1'),
        lanes: new Map([
          ['t-2', parseDtab('/svc/orders=>/v/orders/2')],
          ['t-3', parseDtab('/svc/orders=>/v/orders/3')],
        ]),
      },
    ],
  });
}

function boundTo(r: ReturnType<typeof router>, lane: string | null, override?: string): string {
  const d = r.route(
    'shop',
    lane,
    '/svc/orders',
    override === undefined ? undefined : parseDtab(override),
  );
  return d?.result.state === 'ok' ? showNameTree(d.result.tree) : String(d?.result.state);
}

describe('createRouter', () => {
  it.each([
    [null, '/v/orders/1'],
    ['t-2', '/v/orders/2'],
    ['t-3', '/v/orders/1'], // the lane's version has no ready endpoints: falls back to stable
  ])('routes lane %s to %s', (lane, expected) => {
    expect(boundTo(router(), lane)).toBe(expected);
  });

  it('routes an unknown lane on stable and says which lane was unknown', () => {
    const d = router().route('shop', 't-9', '/svc/orders');
    expect(d).toMatchObject({ lane: null, unknownLane: 't-9' });
    expect(boundTo(router(), 't-9')).toBe('/v/orders/1');
  });

  it('returns null for an unknown product', () => {
    expect(router().route('nope', null, '/svc/orders')).toBeNull();
    expect(router().dtabFor('nope', null)).toBeNull();
  });

  it('answers a repeated decision from the cache (the same object)', () => {
    const r = router();
    const first = r.route('shop', 't-2', '/svc/orders');
    expect(r.route('shop', 't-2', '/svc/orders')).toBe(first);
    expect(r.cacheSize()).toBe(1);
  });

  it('never caches a decision that carries an override, and applies the override last', () => {
    const r = router();
    expect(boundTo(r, null, '/svc/orders=>/v/orders/2')).toBe('/v/orders/2');
    expect(r.cacheSize()).toBe(0);
  });

  it('bounds the cache: when full it starts over', () => {
    const r = router(2);
    for (const name of ['/svc/a', '/svc/b', '/svc/c']) r.route('shop', null, name);
    expect(r.cacheSize()).toBe(1);
  });

  it('reports an unparseable name as a failed binding, without throwing', () => {
    const d = router().route('shop', null, 'svc/orders');
    expect(d?.result).toMatchObject({ state: 'failed', error: { code: 'dtab_syntax' } });
  });
});

describe('pickBound', () => {
  const leaf = (n: string): NameTree<Bound> => ({
    kind: 'leaf',
    value: { kind: 'bound', id: ['v', n], addrs: [n], residual: [] },
  });
  const union = (...ws: [number, string][]): NameTree<Bound> => ({
    kind: 'union',
    branches: ws.map(([weight, n]) => ({ weight, tree: leaf(n) })),
  });

  it.each([
    [0.0, 'a'],
    [0.24, 'a'],
    [0.26, 'b'],
    [0.99, 'b'],
  ])('picks by weight: random %d with weights 1:3 → %s', (r, expected) => {
    expect(pickBound(union([1, 'a'], [3, 'b']), () => r)?.addrs[0]).toBe(expected);
  });

  it('picks uniformly when every weight is 0', () => {
    expect(pickBound(union([0, 'a'], [0, 'b']), () => 0.75)?.addrs[0]).toBe('b');
  });

  it('has no destination for ~, ! or $', () => {
    for (const kind of ['neg', 'fail', 'empty'] as const)
      expect(pickBound({ kind }, () => 0)).toBeNull();
  });
});
