// Locality through a real proxy (issue 13): upstreams in two zones (zone a on 127.0.0.2, zone b
// on 127.0.0.3 and 127.0.0.4), proxies started with a zone. A proxy in zone a sends everything
// to zone a while its endpoint lives, and falls over to zone b — without a failed request —
// when it dies; a proxy without a zone balances over all of them as before.

import type { Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SnapshotInput } from '../../src/config/snapshot.js';
import { send, startTestProxy, tempDir, writeSnapshot } from '../proxy/harness.js';

interface ZoneUpstream {
  readonly name: string;
  readonly address: string;
  served: number;
  close(): Promise<void>;
}

/** An upstream on its own loopback address answering its name, counting what it served. */
async function upstreamOn(ip: string, name: string): Promise<ZoneUpstream> {
  const server: Server = createServer((_req, res) => {
    up.served++;
    res.writeHead(200, { 'x-served-by': name });
    res.end(name);
  });
  await new Promise<void>((r) => server.listen(0, ip, r));
  const up: ZoneUpstream = {
    name,
    address: `${ip}:${(server.address() as AddressInfo).port}`,
    served: 0,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  return up;
}

function snapshot(ups: readonly ZoneUpstream[]): SnapshotInput {
  return {
    version: 1,
    products: [
      {
        name: 'shop',
        hosts: ['shop.example.com'],
        entry: 'orders',
        dtab: '/svc/orders=>/v/orders/1',
      },
    ],
    modules: [
      {
        name: 'orders',
        versions: [
          {
            version: '1',
            endpoints: ups.map((u) => ({ address: u.address, zone: u.name.slice(0, 1) })),
          },
        ],
      },
    ],
  };
}

/** `n` requests through the outbound listener, ten at a time (bounded in count). */
async function load(port: number, n: number): Promise<{ status: number; by: string }[]> {
  const out: { status: number; by: string }[] = [];
  for (let i = 0; i < n; i += 10) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(10, n - i) }, () =>
        send(port, { path: 'http://orders/', headers: { baggage: 'turnout-product=shop' } }),
      ),
    );
    for (const r of batch) out.push({ status: r.status, by: String(r.headers['x-served-by']) });
  }
  return out;
}

function tally(replies: readonly { status: number; by: string }[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const r of replies) {
    const key = `${r.status} ${r.by}`;
    t[key] = (t[key] ?? 0) + 1;
  }
  return t;
}

describe('locality through the proxy', () => {
  let a1: ZoneUpstream;
  let b1: ZoneUpstream;
  let b2: ZoneUpstream;
  let file: string;
  const proxies: Awaited<ReturnType<typeof startTestProxy>>[] = [];
  const proxy = async (zone: string | undefined) => {
    const p = await startTestProxy(file, zone === undefined ? {} : { handler: { zone } });
    proxies.push(p);
    return p;
  };

  beforeAll(async () => {
    [a1, b1, b2] = await Promise.all([
      upstreamOn('127.0.0.2', 'a1'),
      upstreamOn('127.0.0.3', 'b1'),
      upstreamOn('127.0.0.4', 'b2'),
    ]);
    file = writeSnapshot(tempDir(), snapshot([a1, b1, b2]));
  });

  afterAll(async () => {
    await Promise.all(proxies.map((p) => p.stop(0)));
    await Promise.all([a1, b1, b2].map((u) => u.close()));
  });

  it('a proxy in zone b sends all of its traffic to zone b', async () => {
    const p = await proxy('b');
    const replies = await load(p.outbound!.port, 200);
    const t = tally(replies);
    expect(Object.keys(t).sort()).toEqual(['200 b1', '200 b2']); // both b endpoints, nothing else
    expect(t['200 b1']! + t['200 b2']!).toBe(200);
  });

  it('a proxy without a zone balances over every zone, as before', async () => {
    const p = await proxy(undefined);
    const replies = await load(p.outbound!.port, 200);
    expect(Object.keys(tally(replies)).sort()).toEqual(['200 a1', '200 b1', '200 b2']);
  });

  it('a proxy in zone a stays in zone a, and falls over to zone b when a1 dies', async () => {
    const p = await proxy('a');
    expect(tally(await load(p.outbound!.port, 200))).toEqual({ '200 a1': 200 });

    await a1.close();
    const after = tally(await load(p.outbound!.port, 200));
    // No failed request: the attempt refused by a1 is retried elsewhere, then a1 is ejected.
    expect(Object.keys(after).sort()).toEqual(['200 b1', '200 b2']);
    expect(after['200 b1']! + after['200 b2']!).toBe(200);
  });
});
