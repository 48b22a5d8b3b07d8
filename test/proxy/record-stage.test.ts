// Which series an attempt counts in (src/proxy/record-stage.ts): an endpoint remembers its last
// one, so requests of several products, lanes and versions on one endpoint must each still land
// in their own series, whatever the order they come in.

import { describe, expect, it } from 'vitest';
import type { RequestRoute } from '../../src/proxy/context-stage.js';
import type { ProxyRuntime } from '../../src/proxy/handler.js';
import { seriesFor } from '../../src/proxy/record-stage.js';
import { createProxyStats } from '../../src/proxy/stats.js';
import type { Upstream } from '../../src/proxy/upstreams.js';
import type { Bound } from '../../src/routing/index.js';

const route = (product: string, lane: string | null): RequestRoute => ({
  product,
  lane,
  name: '/svc/orders',
  override: undefined,
  overrideToken: undefined,
  edge: null,
});
const bound = (version: string): Bound => ({
  kind: 'bound',
  id: ['v', 'orders', version],
  addrs: ['127.0.0.1:9'],
  residual: [],
});

describe('seriesFor', () => {
  it('counts each attempt in the series of its own product, lane and version, in any order', () => {
    const rt = { stats: createProxyStats() } as unknown as ProxyRuntime;
    const up = { address: '127.0.0.1:9' } as Upstream;
    const v1 = bound('1');
    const v2 = bound('2');
    // Alternating, repeating and returning: each step after another request on the same endpoint.
    const steps: [RequestRoute, Bound, string][] = [
      [route('shop', null), v1, 'shop/stable/1'],
      [route('shop', null), v1, 'shop/stable/1'],
      [route('admin', null), v1, 'admin/stable/1'],
      [route('shop', null), v1, 'shop/stable/1'],
      [route('shop', 't-1'), v1, 'shop/t-1/1'], // the lane alone differs
      [route('shop', 't-1'), v2, 'shop/t-1/2'],
      [route('shop', 't-1'), v1, 'shop/t-1/1'],
      [route('shop', null), bound('1'), 'shop/stable/1'], // a new snapshot's bound, same labels
      [route('admin', null), v2, 'admin/stable/2'],
    ];
    for (const [r, b, expected] of steps) {
      const l = seriesFor(rt, r, b, up).labels;
      expect(`${l.product}/${l.lane}/${l.version}`).toBe(expected);
      expect(l.endpoint).toBe('127.0.0.1:9');
    }
  });

  it('keeps each proxy runtime to its own stats', () => {
    const a = { stats: createProxyStats() } as unknown as ProxyRuntime;
    const b = { stats: createProxyStats() } as unknown as ProxyRuntime;
    const up = { address: '127.0.0.1:9' } as Upstream;
    const v1 = bound('1');
    const first = seriesFor(a, route('shop', null), v1, up);
    const second = seriesFor(b, route('shop', null), v1, up);
    expect(second).not.toBe(first);
    expect(seriesFor(a, route('shop', null), v1, up)).toBe(first);
  });
});
