// The edge's trust boundary, over real sockets on 127.0.0.1: segment headers and sticky keys only
// from trusted hops (or signed, or where a rule says any-client), routing headers from outside
// stripped, the forwarding-header policy, `Connection: host`, non-ASCII header bytes, and the
// proxy refusing to forward to its own listeners. 127.0.0.2 (also loopback on Linux) plays the
// trusted hop; plain 127.0.0.1 clients are strangers.

import type { IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SnapshotInput } from '../../src/config/snapshot.js';
import { parseTrustedHops } from '../../src/proxy/trusted-hops.js';
import { signValue } from '../../src/routing/signed-value.js';
import type { Upstream } from './harness.js';
import {
  send,
  startTestProxy,
  startUpstream,
  tempDir,
  waitForVersion,
  writeSnapshot,
} from './harness.js';

const SECRET = 'edge-trust-secret';
const HOP = '127.0.0.2';

let web1: Upstream;
let web2: Upstream;
let lastRaw: string[] = [];
let proxy: Awaited<ReturnType<typeof startTestProxy>>;
let dir: string;

function snapshot(version: number, extra: SnapshotInput['products'] = []): SnapshotInput {
  return {
    version,
    products: [
      {
        name: 'shop',
        hosts: ['shop.example.com'],
        entry: 'web',
        dtab: '/svc/web=>/v/web/1',
        lanes: [
          { name: 'tier', overlay: '/svc/web=>/v/web/2' },
          { name: 'qa', overlay: '/svc/web=>/v/web/2' },
          { name: 'signed', overlay: '/svc/web=>/v/web/2' },
          { name: 'share', overlay: '/svc/web=>/v/web/2' },
        ],
        rules: [
          { lane: 'tier', header: { name: 'x-user-tier', equals: 'internal' } },
          { lane: 'qa', header: { name: 'x-qa', equals: 'go', trust: 'any-client' } },
          { lane: 'signed', cookie: { name: 'tier', equals: 'beta', trust: 'signed' } },
          { lane: 'share', percent: 100, key: { header: 'x-user-id' } },
        ],
      },
      ...(extra ?? []),
    ],
    modules: [
      {
        name: 'web',
        versions: [
          { version: '1', endpoints: [{ address: web1.address }] },
          { version: '2', endpoints: [{ address: web2.address }] },
        ],
      },
    ],
  };
}

beforeAll(async () => {
  web1 = await startUpstream('web@1', (req) => {
    lastRaw = req.rawHeaders;
    return false;
  });
  web2 = await startUpstream('web@2');
  dir = tempDir();
  proxy = await startTestProxy(writeSnapshot(dir, snapshot(1)), {
    trustedHops: parseTrustedHops(`${HOP}/32`),
    overrideSecrets: [Buffer.from(SECRET)],
  });
});

afterAll(async () => {
  await proxy?.stop(1_000);
  await Promise.all([web1, web2].map((u) => u?.close()));
});

const edge = () => proxy.edge!.port;

async function viaEdge(
  headers: Record<string, string>,
  from?: string,
): Promise<{ status: number; servedBy: string; seen: IncomingHttpHeaders; body: string }> {
  const r = await send(edge(), {
    path: '/',
    headers: { host: 'shop.example.com', ...headers },
    ...(from === undefined ? {} : { localAddress: from }),
  });
  const body = r.status === 200 ? JSON.parse(r.body) : { name: '', headers: {} };
  return { status: r.status, servedBy: body.name, seen: body.headers, body: r.body };
}

describe('segment headers and sticky keys', () => {
  it('ignores a segment header from a client that is not a trusted hop, and strips it', async () => {
    const r = await viaEdge({ 'x-user-tier': 'internal' });
    expect(r.servedBy).toBe('web@1');
    expect(r.seen.baggage).toBe('turnout-product=shop');
    expect(r.seen['x-user-tier']).toBeUndefined();
  });

  it('takes the segment header from a trusted hop and passes it on', async () => {
    const r = await viaEdge({ 'x-user-tier': 'internal' }, HOP);
    expect(r.servedBy).toBe('web@2');
    expect(r.seen.baggage).toBe('turnout-product=shop,turnout-lane=tier');
    expect(r.seen['x-user-tier']).toBe('internal');
  });

  it('ignores a sticky key from a client that is not a trusted hop, and strips it', async () => {
    const r = await viaEdge({ 'x-user-id': 'u1' });
    expect(r.servedBy).toBe('web@1');
    expect(r.seen['x-user-id']).toBeUndefined();
    const hop = await viaEdge({ 'x-user-id': 'u1' }, HOP);
    expect(hop.seen.baggage).toBe('turnout-product=shop,turnout-lane=share');
    expect(hop.seen['x-user-id']).toBe('u1');
  });

  it('honours a rule that says any-client from anyone', async () => {
    const r = await viaEdge({ 'x-qa': 'go' });
    expect(r.seen.baggage).toBe('turnout-product=shop,turnout-lane=qa');
  });

  it('takes a signed cookie value from anyone, and never an unsigned one', async () => {
    const token = signValue('tier', 'beta', SECRET, Date.now() + 3_600_000, Date.now());
    const signed = await viaEdge({ cookie: `sid=1; tier=${token}` });
    expect(signed.seen.baggage).toBe('turnout-product=shop,turnout-lane=signed');
    const bare = await viaEdge({ cookie: 'sid=1; tier=beta' }, HOP);
    expect(bare.seen.baggage).toBe('turnout-product=shop');
  });
});

describe('header hygiene at the edge', () => {
  it('strips l5d-*, dtab-local and every x-turnout-* from outside, trusted hop or not', async () => {
    for (const from of [undefined, HOP]) {
      const r = await viaEdge(
        {
          'l5d-dtab': '/svc/web=>/$/inet/127.0.0.1/1',
          'l5d-ctx-deadline': '1',
          'dtab-local': '/svc=>/$/nil',
          'x-turnout-anything': 'x',
          'x-turnout-product': 'admin',
          'x-kept': 'yes',
        },
        from,
      );
      for (const name of [
        'l5d-dtab',
        'l5d-ctx-deadline',
        'dtab-local',
        'x-turnout-anything',
        'x-turnout-product',
      ])
        expect(r.seen[name], name).toBeUndefined();
      expect(r.seen['x-kept']).toBe('yes');
    }
  });

  it('replaces X-Forwarded-For, Forwarded and X-Real-IP from a client that is not a trusted hop', async () => {
    const r = await viaEdge({
      'x-forwarded-for': '203.0.113.9',
      forwarded: 'for=203.0.113.9',
      'x-real-ip': '203.0.113.9',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'evil.example',
    });
    expect(r.seen['x-forwarded-for']).toBe('127.0.0.1');
    expect(r.seen['x-real-ip']).toBe('127.0.0.1');
    expect(r.seen.forwarded).toBe('for=127.0.0.1;host="shop.example.com";proto=http');
    expect(r.seen['x-forwarded-proto']).toBe('http');
    expect(r.seen['x-forwarded-host']).toBe('shop.example.com');
  });

  it('appends to the forwarding chain of a trusted hop and keeps what it says of the client', async () => {
    const r = await viaEdge(
      {
        'x-forwarded-for': '203.0.113.9',
        forwarded: 'for=203.0.113.9;proto=https',
        'x-real-ip': '203.0.113.9',
        'x-forwarded-proto': 'https',
      },
      HOP,
    );
    expect(r.seen['x-forwarded-for']).toBe(`203.0.113.9, ${HOP}`);
    expect(r.seen['x-real-ip']).toBe('203.0.113.9');
    expect(r.seen.forwarded).toBe(
      `for=203.0.113.9;proto=https, for=${HOP};host="shop.example.com";proto=http`,
    );
    expect(r.seen['x-forwarded-proto']).toBe('https');
  });

  it('never lets a Connection list remove Host: the upstream sees the original Host', async () => {
    const r = await viaEdge({ connection: 'host, x-drop', 'x-drop': '1' });
    expect(r.status).toBe(200);
    expect(r.seen.host).toBe('shop.example.com');
    expect(r.seen['x-drop']).toBeUndefined();
    const out = await send(proxy.outbound!.port, {
      path: '/',
      headers: { host: 'web', connection: 'host', baggage: 'turnout-product=shop' },
    });
    expect(JSON.parse(out.body).headers.host).toBe('web');
  });

  it('passes header bytes outside ASCII through unchanged', async () => {
    const bytes = Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0xa0, 0xff]); // latin1 "café", NBSP, ÿ
    const utf8 = Buffer.from('café ☃', 'utf8');
    const request = Buffer.concat([
      Buffer.from('GET / HTTP/1.1\r\nHost: shop.example.com\r\nX-Latin: '),
      bytes,
      Buffer.from('\r\nX-Utf8: '),
      utf8,
      Buffer.from('\r\nConnection: close\r\n\r\n'),
    ]);
    lastRaw = [];
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(edge(), '127.0.0.1', () => socket.write(request));
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
      socket.on('error', reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 200/);
    const value = (name: string) => lastRaw[lastRaw.indexOf(name) + 1];
    // Node reads header bytes as latin1: the same string means the same bytes.
    expect(value('X-Latin')).toBe(bytes.toString('latin1'));
    expect(value('X-Utf8')).toBe(utf8.toString('latin1'));
  });
});

describe("the proxy's own listeners are never a destination", () => {
  it('refuses a route to its admin, edge or outbound listener with destination_refused', async () => {
    const admin = proxy.admin!.port;
    const at = (host: string, port: number) => `/svc/web=>/$/inet/${host}/${port}`;
    const product = (name: string, dtab: string) => ({
      name,
      hosts: [`${name}.example.com`],
      entry: 'web',
      dtab,
    });
    await writeSnapshot(
      dir,
      snapshot(2, [
        product('a', at('127.0.0.1', admin)),
        product('b', at('localhost', admin)),
        product('c', at('0.0.0.0', admin)),
        product('d', at('127.0.0.1', proxy.edge!.port)),
        product('e', at('127.0.0.1', proxy.outbound!.port)),
        product('f', `/svc/web=>/$/inet/127.0.0.1/${web1.address.split(':')[1]}`),
      ]),
    );
    await waitForVersion(proxy, 2);
    for (const name of ['a', 'b', 'c', 'd', 'e']) {
      const r = await send(edge(), { path: '/config', headers: { host: `${name}.example.com` } });
      expect(r.status, name).toBe(502);
      expect(r.headers['x-turnout-error'], name).toBe('destination_refused');
      expect(r.body).not.toContain('snapshot');
    }
    // An ordinary /$/inet destination still works.
    const ok = await send(edge(), { path: '/', headers: { host: 'f.example.com' } });
    expect(JSON.parse(ok.body).name).toBe('web@1');
  });
});

describe('--trusted-hops', () => {
  it.each([
    ['', 0],
    ['none', 0],
    ['10.0.0.0/8,127.0.0.1/32', 2],
    [' ::1/128 , 192.168.0.0/16 ', 2],
  ])('parses %j into %d blocks', (text, n) => {
    expect(parseTrustedHops(text)).toHaveLength(n);
  });

  it('names the flag and the reason for a bad block', () => {
    expect(() => parseTrustedHops('10.0.0.0/8,10.1.2.3/8')).toThrowError(
      expect.objectContaining({ code: 'invalid_argument', field: '--trusted-hops' }),
    );
    expect(() => parseTrustedHops('10.0.0.0/8,nope')).toThrowError(/--trusted-hops nope: /);
  });
});
