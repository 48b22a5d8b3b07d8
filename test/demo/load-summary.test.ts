// The pure half of the load: reading what an example service answered, and summing by lane and
// version (what `turnout load` prints).

import { describe, expect, it } from 'vitest';
import type { Served } from '../../src/demo/load-summary.js';
import { readReply, renderSummary, summarize } from '../../src/demo/load-summary.js';

const served = (over: Partial<Served>): Served => ({
  at: 0,
  status: 200,
  user: 'u0',
  product: 'shop',
  lane: null,
  versions: {},
  ...over,
});

describe('readReply', () => {
  it('reads the lane and every version along the call tree', () => {
    const text = JSON.stringify({
      service: 'web',
      version: '1.0.0',
      lane: 't-3',
      calls: [
        { service: 'orders', version: '2.0.0', calls: [{ service: 'account', version: '2.0.0' }] },
        { service: 'catalog', error: 'HTTP 503' },
      ],
    });
    expect(readReply(text)).toEqual({
      lane: 't-3',
      versions: { web: '1.0.0', orders: '2.0.0', account: '2.0.0' },
    });
  });

  it('reads nothing from other bodies, and stops at a hostile depth', () => {
    expect(readReply('no endpoints')).toEqual({ lane: null, versions: {} });
    expect(readReply('[1,2]')).toEqual({ lane: null, versions: {} });
    expect(readReply('{"lane":7,"service":1}')).toEqual({ lane: null, versions: {} });
    const leaf = '{"service":"leaf","version":"9"}';
    const deep = `${'{"calls":['.repeat(10_000)}${leaf}${']}'.repeat(10_000)}`;
    expect(readReply(deep).versions).toEqual({});
    const shallow = `${'{"calls":['.repeat(3)}${leaf}${']}'.repeat(3)}`;
    expect(readReply(shallow).versions).toEqual({ leaf: '9' });
  });
});

describe('summarize', () => {
  it('sums by lane (stable first) and by module version, counting users and failures', () => {
    const s = summarize(
      [
        served({ user: 'u0', versions: { web: '1.0.0' } }),
        served({ user: 'u1', versions: { web: '1.0.0' } }),
        served({ user: 'u1', versions: { web: '1.0.0' } }),
        served({ user: 'u2', lane: 't-3', versions: { web: '2.0.0' } }),
        served({ user: 'u2', lane: 't-3', status: 503, error: '503 no_endpoints' }),
        served({ user: 'u3', status: 0, error: 'ECONNRESET' }),
      ],
      2000,
    );
    expect(s).toMatchObject({ requests: 6, ok: 4, failed: 2, users: 4, elapsedMs: 2000, rate: 3 });
    expect(s.statuses).toEqual({ '0': 1, '200': 4, '503': 1 });
    expect(s.lanes).toEqual([
      { lane: 'stable', requests: 4, users: 3, failed: 1 },
      { lane: 't-3', requests: 2, users: 1, failed: 1 },
    ]);
    expect(s.versions).toEqual([
      { module: 'web', version: '1.0.0', lane: 'stable', requests: 3 },
      { module: 'web', version: '2.0.0', lane: 't-3', requests: 1 },
    ]);
    expect(s.errors).toEqual([
      { reason: '503 no_endpoints', requests: 1 },
      { reason: 'ECONNRESET', requests: 1 },
    ]);
  });

  it('keeps reasons from the network as data, and at most 10 of them', () => {
    const rs = [
      served({ status: 500, error: '__proto__' }),
      ...Array.from({ length: 20 }, (_, i) => served({ status: 500, error: `e${i}` })),
    ];
    const s = summarize(rs, 1000);
    expect(s.errors).toHaveLength(10);
    expect(s.errors[0]).toEqual({ reason: '__proto__', requests: 1 });
    expect(s.failed).toBe(21);
  });

  it('renders the tables for people', () => {
    const text = renderSummary(
      summarize([served({ versions: { web: '1.0.0' } })], 1000),
      'shop.localhost at http://127.0.0.1:8080',
    );
    expect(text.split('\n')).toEqual([
      '1 requests to shop.localhost at http://127.0.0.1:8080 in 1.0 s (1.0/s) from 1 users: 1 ok, 0 failed',
      '',
      'LANE    REQUESTS  USERS  FAILED',
      'stable  1         1      0',
      '',
      'MODULE  VERSION  LANE    REQUESTS',
      'web     1.0.0    stable  1',
    ]);
  });
});
