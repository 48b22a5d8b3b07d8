// Table-driven specs of the request path's pure stages (issue 15): identify (the request target
// and the smuggling guards Node's parser leaves to us), context (product and lane at the edge and
// in the mesh) and the header rules (hop-by-hop, forwarding policy, routing headers). Requests are
// plain objects shaped like node:http's IncomingMessage: these stages read nothing else of it.

import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { compileSnapshot } from '../../src/config/compile.js';
import { parseSnapshot } from '../../src/config/load.js';
import type { ContextInputs } from '../../src/proxy/context-stage.js';
import { edgeContext, meshContext } from '../../src/proxy/context-stage.js';
import type { ForwardedFacts } from '../../src/proxy/headers.js';
import {
  contentLengthOf,
  hasDuplicateHost,
  responseHeaderList,
  responseHeaders,
  upstreamHeaders,
} from '../../src/proxy/headers.js';
import type { Target } from '../../src/proxy/identify.js';
import { identifyTarget } from '../../src/proxy/identify.js';
import { parseTrustedHops } from '../../src/proxy/trusted-hops.js';
import { signOverride } from '../../src/routing/override.js';

/** A request as the stages see it: raw header pairs in order, and Node's lower-cased view. */
function request(method: string, url: string, raw: string[], remoteAddress = '10.0.0.9') {
  const headers: Record<string, string | string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    // Node keeps the first Host and joins other repeated headers (cookies with '; ').
    if (headers[name] === undefined) headers[name] = raw[i + 1]!;
    else if (name !== 'host') headers[name] = `${headers[name]}, ${raw[i + 1]}`;
  }
  return {
    method,
    url,
    headers,
    rawHeaders: raw,
    socket: { remoteAddress },
  } as unknown as IncomingMessage;
}

describe('identify: the request target and the guards against two readings of one request', () => {
  type Row = [string, string, string, string[], Target | string];
  const rows: Row[] = [
    [
      'origin-form with Host',
      'GET',
      '/a?b=1',
      ['Host', 'orders'],
      { host: 'orders', authority: 'orders', path: '/a?b=1' },
    ],
    [
      'Host with a port: the name is without it, lower-cased',
      'GET',
      '/',
      ['Host', 'Orders:8080'],
      { host: 'orders', authority: 'Orders:8080', path: '/' },
    ],
    [
      'an IPv6 literal keeps its brackets',
      'GET',
      '/',
      ['Host', '[::1]:80'],
      { host: '[::1]', authority: '[::1]:80', path: '/' },
    ],
    [
      'absolute-form, Host agreeing (case-insensitively)',
      'GET',
      'http://Orders/x',
      ['Host', 'orders'],
      { host: 'orders', authority: 'Orders', path: '/x' },
    ],
    [
      'absolute-form without a path',
      'GET',
      'http://orders',
      [],
      { host: 'orders', authority: 'orders', path: '/' },
    ],
    [
      'absolute-form with only a query',
      'GET',
      'http://orders?q=1',
      [],
      { host: 'orders', authority: 'orders', path: '/?q=1' },
    ],
    [
      'two Host headers (Node keeps only the first)',
      'GET',
      '/',
      ['Host', 'a', 'host', 'b'],
      'more than one Host header',
    ],
    [
      'two Host headers on an absolute-form request',
      'GET',
      'http://a/',
      ['Host', 'a', 'HOST', 'a'],
      'more than one Host header',
    ],
    ['absolute URI and Host disagree', 'GET', 'http://a/', ['Host', 'b'], 'name different hosts'],
    ['origin-form without Host', 'GET', '/', [], 'missing Host header'],
    ['origin-form with an empty Host', 'GET', '/', ['Host', ''], 'missing Host header'],
    ['https absolute URI', 'GET', 'https://a/', ['Host', 'a'], 'origin-form path or an http://'],
    ['asterisk-form', 'OPTIONS', '*', ['Host', 'a'], 'origin-form path or an http://'],
    ['userinfo in the authority', 'GET', 'http://u@a/', [], 'no usable host'],
    ['an empty authority', 'GET', 'http:///x', [], 'no usable host'],
    // (the listener answers CONNECT before identify: src/proxy/connect-tunnel.ts)
    ['CONNECT', 'CONNECT', 'a:443', ['Host', 'a:443'], 'CONNECT is not supported'],
  ];
  it.each(rows)('%s', (_why, method, url, raw, expected) => {
    const r = identifyTarget(request(method, url, raw));
    if (typeof expected === 'string') {
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error.code).toBe('bad_request');
        expect(r.error.message).toContain(expected);
      }
    } else {
      expect(r).toEqual({ ok: true, target: expected });
    }
  });

  it.each([
    [['Host', 'a'], false],
    [['Host', 'a', 'X-Host', 'b'], false],
    [['host', 'a', 'Content-Length', '0', 'HoSt', 'a'], true],
    [[], false],
  ])('hasDuplicateHost(%j) → %s', (raw, expected) => {
    expect(hasDuplicateHost(raw)).toBe(expected);
  });
});

const SECRET = Buffer.from('stage-test-secret');
const NOW = Date.UTC(2026, 0, 1);

function snapshot(products: object[]) {
  return compileSnapshot(
    parseSnapshot(
      JSON.stringify({
        version: 1,
        products,
        modules: [
          {
            name: 'web',
            versions: [
              { version: '1', endpoints: [{ address: '127.0.0.1:1' }] },
              { version: '2', endpoints: [{ address: '127.0.0.1:2' }] },
            ],
          },
        ],
      }),
      'stages.json',
    ),
  );
}

const SHOP = {
  name: 'shop',
  hosts: ['shop.example.com'],
  entry: 'web',
  dtab: '/svc/web=>/v/web/1',
  lanes: [{ name: 'beta', overlay: '/svc/web=>/v/web/2' }],
  rules: [{ lane: 'beta', header: { name: 'x-tier', equals: 'beta' } }],
};
const BLOG = { ...SHOP, name: 'blog', hosts: ['blog.example.com'], rules: [] };
const one = snapshot([SHOP]);
const two = snapshot([SHOP, BLOG]);
const inputs = (compiled = one, trusted = '10.1.0.0/16'): ContextInputs => ({
  compiled,
  secrets: [SECRET],
  nowMs: NOW,
  trustedHops: parseTrustedHops(trusted),
});
const target = (host: string, path = '/'): Target => ({ host, authority: host, path });

describe('context at the edge: the product by Host, the lane by its rules, nothing else', () => {
  type Row = [string, string[], string, string | null, string | null];
  const rows: Row[] = [
    ['a stranger with no segment header: stable', [], '10.0.0.9', 'shop', null],
    [
      'a stranger claiming a lane in baggage: ignored',
      ['baggage', 'turnout-lane=beta'],
      '10.0.0.9',
      'shop',
      null,
    ],
    [
      'a stranger sending x-turnout-lane: ignored',
      ['x-turnout-lane', 'beta'],
      '10.0.0.9',
      'shop',
      null,
    ],
    [
      'a stranger with the segment header: not believed',
      ['x-tier', 'beta'],
      '10.0.0.9',
      'shop',
      null,
    ],
    ['a trusted hop with the segment header: beta', ['x-tier', 'beta'], '10.1.2.3', 'shop', 'beta'],
  ];
  it.each(rows)('%s', (_why, raw, peer, product, lane) => {
    const r = edgeContext(
      request('GET', '/', ['Host', 'shop.example.com', ...raw], peer),
      target('shop.example.com'),
      inputs(),
    );
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.route).toMatchObject({ product, lane, name: '/svc/web', override: undefined });
      expect(r.route.edge?.trustedHop).toBe(peer.startsWith('10.1.'));
      // A stranger's segment headers are stripped before the request goes on.
      expect(r.route.edge?.strip.has('x-tier')).toBe(!peer.startsWith('10.1.'));
    }
  });

  it('answers unknown_product for a host no product serves', () => {
    const r = edgeContext(
      request('GET', '/', ['Host', 'other.example.com']),
      target('other.example.com'),
      inputs(),
    );
    expect(r).toMatchObject({ ok: false, error: { code: 'unknown_product' } });
  });

  it('honours a valid signed override and forwards its token; an invalid one is ignored', () => {
    const token = signOverride('/svc/web=>/v/web/2', SECRET, NOW + 60_000, NOW);
    const ok = edgeContext(
      request('GET', '/', ['Host', 'shop.example.com', 'x-turnout-override', token]),
      target('shop.example.com'),
      inputs(),
    );
    expect(ok.ok && ok.route.overrideToken).toBe(token);
    expect(ok.ok && ok.route.override?.length).toBe(1);
    const forged = edgeContext(
      request('GET', '/', ['Host', 'shop.example.com', 'x-turnout-override', `${token}x`]),
      target('shop.example.com'),
      inputs(),
    );
    expect(forged.ok && forged.route.overrideToken).toBeUndefined();
  });
});

describe('context in the mesh: from baggage (or x-turnout-lane)', () => {
  type Row = [string, string[], object, object | string];
  const rows: Row[] = [
    [
      'product and lane in baggage',
      ['baggage', 'turnout-product=shop,turnout-lane=beta'],
      one,
      { product: 'shop', lane: 'beta', name: '/svc/orders' },
    ],
    [
      'product only: stable',
      ['baggage', 'userId=7,turnout-product=shop'],
      one,
      { product: 'shop', lane: null },
    ],
    [
      'x-turnout-lane',
      ['baggage', 'turnout-product=shop', 'x-turnout-lane', 'beta'],
      one,
      { product: 'shop', lane: 'beta' },
    ],
    ['no context, one product: that product', [], one, { product: 'shop', lane: null }],
    ['no context, two products: missing_context', [], two, 'missing_context'],
    [
      'a malformed lane name',
      ['baggage', 'turnout-product=shop,turnout-lane=a%20b'],
      one,
      'bad_request',
    ],
    [
      'oversized baggage',
      ['baggage', `turnout-product=shop,x=${'a'.repeat(9000)}`],
      one,
      'baggage_too_large',
    ],
  ];
  it.each(rows)('%s', (_why, raw, compiled, expected) => {
    const r = meshContext(
      request('GET', '/', ['Host', 'orders', ...raw]),
      target('orders'),
      inputs(compiled as typeof one),
    );
    if (typeof expected === 'string')
      expect(r).toMatchObject({ ok: false, error: { code: expected } });
    else expect(r).toMatchObject({ ok: true, route: { ...expected, edge: null } });
  });

  it('remembers only what the baggage alone decides', () => {
    const ask = (raw: string[], compiled = one) =>
      meshContext(
        request('GET', '/', ['Host', 'orders', ...raw]),
        target('orders'),
        inputs(compiled),
      );
    const beta = ['baggage', 'turnout-product=shop,turnout-lane=beta'];
    expect(ask(beta)).toBe(ask(beta)); // the second is the first, remembered
    // The same baggage with a lane header: the header decides, not the remembered answer.
    expect(ask([...beta, 'x-turnout-lane', 'gamma'])).toMatchObject({ route: { lane: 'gamma' } });
    expect(ask(beta)).toMatchObject({ route: { lane: 'beta' } });
    // A product guessed from a one-product configuration is not remembered for the next snapshot.
    const noProduct = ['baggage', 'userId=7'];
    expect(ask(noProduct)).toMatchObject({ ok: true, route: { product: 'shop' } });
    expect(ask(noProduct, two)).toMatchObject({ ok: false, error: { code: 'missing_context' } });
  });

  it('answers unknown_service for a Host that is not a service name', () => {
    const r = meshContext(request('GET', '/', ['Host', 'a_b!']), target('a_b!'), inputs());
    expect(r).toMatchObject({ ok: false, error: { code: 'unknown_service' } });
  });
});

describe('header rules', () => {
  const REPLACE = new Set(['baggage', 'x-turnout-lane']);
  const mesh: ForwardedFacts = {
    clientAddress: '10.0.0.9',
    proto: 'http',
    host: 'orders',
    replace: REPLACE,
    extra: ['baggage', 'turnout-product=shop'],
  };
  const stranger = { trustedHop: false, strip: new Set(['x-tier']) };
  const hop = { trustedHop: true, strip: new Set<string>() };
  const pairs = (list: string[]) =>
    Array.from({ length: list.length / 2 }, (_, i) => `${list[2 * i]}: ${list[2 * i + 1]}`);

  type Row = [string, string[], ForwardedFacts, string[], string[]];
  const rows: Row[] = [
    [
      'mesh: hop-by-hop and Connection-named headers dropped, the client order kept, context replaced',
      [
        'Host',
        'orders',
        'Connection',
        'keep-alive, X-Drop',
        'X-Drop',
        '1',
        'Keep-Alive',
        '5',
        'TE',
        'trailers',
        'X-A',
        'a',
        'baggage',
        'turnout-lane=x',
      ],
      mesh,
      [
        'Host: orders',
        'X-A: a',
        'x-forwarded-for: 10.0.0.9',
        'x-forwarded-proto: http',
        'x-forwarded-host: orders',
        'via: 1.1 turnout',
        'baggage: turnout-product=shop',
      ],
      ['X-Drop: 1', 'baggage: turnout-lane=x'],
    ],
    [
      'Connection cannot remove Host or Content-Length',
      ['Host', 'orders', 'Connection', 'host, content-length', 'Content-Length', '0'],
      mesh,
      ['Host: orders', 'Content-Length: 0'],
      [],
    ],
    [
      'mesh: X-Forwarded-For and Via are appended to; Expect never forwarded',
      ['Host', 'orders', 'X-Forwarded-For', '1.1.1.1', 'Via', '1.1 lb', 'Expect', '100-continue'],
      mesh,
      ['x-forwarded-for: 1.1.1.1, 10.0.0.9', 'via: 1.1 lb, 1.1 turnout'],
      ['Expect: 100-continue'],
    ],
    [
      'edge, a stranger: forwarding chain replaced, routing and segment headers stripped',
      [
        'Host',
        'shop',
        'X-Forwarded-For',
        '6.6.6.6',
        'X-Real-IP',
        '6.6.6.6',
        'Forwarded',
        'for=6.6.6.6',
        'l5d-dtab',
        '/svc=>/x',
        'dtab-local',
        '/a=>/b',
        'x-turnout-override',
        't',
        'x-tier',
        'beta',
      ],
      { ...mesh, host: 'shop', edge: stranger },
      [
        'x-forwarded-for: 10.0.0.9',
        'x-real-ip: 10.0.0.9',
        'forwarded: for=10.0.0.9;host="shop";proto=http',
      ],
      [
        'X-Forwarded-For: 6.6.6.6',
        'l5d-dtab: /svc=>/x',
        'dtab-local: /a=>/b',
        'x-turnout-override: t',
        'x-tier: beta',
      ],
    ],
    [
      'edge, a trusted hop: its chain appended to, its proto, host and real IP kept',
      [
        'Host',
        'shop',
        'X-Forwarded-For',
        '8.8.8.8',
        'X-Forwarded-Proto',
        'https',
        'X-Forwarded-Host',
        'shop.example.com',
        'X-Real-IP',
        '8.8.8.8',
        'Forwarded',
        'for=8.8.8.8',
        'x-tier',
        'beta',
      ],
      { ...mesh, host: 'shop', edge: hop },
      [
        'x-forwarded-for: 8.8.8.8, 10.0.0.9',
        'x-forwarded-proto: https',
        'x-forwarded-host: shop.example.com',
        'x-real-ip: 8.8.8.8',
        'forwarded: for=8.8.8.8, for=10.0.0.9;host="shop";proto=http',
        'x-tier: beta',
      ],
      [],
    ],
    [
      'edge: an IPv6 client is bracketed and quoted in Forwarded',
      ['Host', 'shop'],
      { ...mesh, clientAddress: '::1', host: 'shop', edge: stranger },
      ['forwarded: for="[::1]";host="shop";proto=http'],
      [],
    ],
  ];
  it.each(rows)('%s', (_why, raw, facts, present, absent) => {
    const out = pairs(upstreamHeaders(request('GET', '/', raw), facts));
    for (const h of present) expect(out).toContain(h);
    for (const h of absent) expect(out).not.toContain(h);
    // Each forwarding header the proxy sets appears once.
    for (const name of ['x-forwarded-for', 'via', 'x-forwarded-proto'])
      expect(out.filter((h) => h.toLowerCase().startsWith(`${name}:`)).length).toBe(1);
  });

  it('keeps the client order of the headers it copies', () => {
    const out = upstreamHeaders(request('GET', '/', ['Host', 'o', 'B', '1', 'A', '2']), mesh);
    expect(out.slice(0, 6)).toEqual(['Host', 'o', 'B', '1', 'A', '2']);
  });

  it.each([
    [
      {
        'content-type': 'text/plain',
        connection: 'close',
        'keep-alive': 't=5',
        'transfer-encoding': 'chunked',
      },
      { 'content-type': 'text/plain' },
    ],
    [{ connection: 'x-secret', 'x-secret': '1', 'x-ok': '2' }, { 'x-ok': '2' }],
    [{ 'set-cookie': ['a=1', 'b=2'], upgrade: 'h2c' }, { 'set-cookie': ['a=1', 'b=2'] }],
  ])('responseHeaders(%j) → %j', (upstream, expected) => {
    expect(responseHeaders(upstream)).toEqual(expected);
  });

  // The raw header block as undici's parser hands it over (Buffers, the upstream's spelling).
  const raw = (...pairs: string[]) => pairs.map((p) => Buffer.from(p, 'latin1'));
  it.each([
    [
      raw('Content-Type', 'text/plain', 'Connection', 'close', 'Keep-Alive', 't=5'),
      ['content-type', 'text/plain'],
    ],
    [raw('Transfer-Encoding', 'chunked', 'Date', 'x', 'Upgrade', 'h2c'), ['date', 'x']],
    // A Connection header names more hop-by-hop headers, in any case and across repeated lines.
    [
      raw(
        'X-Secret',
        '1',
        'Connection',
        'X-Secret',
        'X-Ok',
        '2',
        'Connection',
        'x-other',
        'X-Other',
        '3',
      ),
      ['x-ok', '2'],
    ],
    // Never removable by a Connection list: framing and Host.
    [raw('Connection', 'content-length', 'Content-Length', '2'), ['content-length', '2']],
    // Repeated headers stay separate lines, in order; values keep their bytes (latin1).
    [
      raw('Set-Cookie', 'a=1', 'X-Name', 'caf\xe9', 'Set-Cookie', 'b=2'),
      ['set-cookie', 'a=1', 'x-name', 'caf\xe9', 'set-cookie', 'b=2'],
    ],
    [[], []],
  ])('responseHeaderList(%#) drops hop-by-hop headers', (block, expected) => {
    expect(responseHeaderList(block)).toEqual(expected);
  });

  it.each<[string[], number]>([
    [['content-type', 'text/plain', 'content-length', '42'], 42],
    [['content-length', '0'], 0],
    [['content-type', 'text/plain'], -1],
    [['content-length', '2', 'content-length', '2'], -1], // several: not trusted to hold a chunk
    [['content-length', ''], -1],
    [['content-length', '1x'], -1],
    [['content-length', '-1'], -1],
    [['content-length', '1234567890123456'], -1], // past 15 digits: not a safe integer
    [['content-length', '123456789012345'], 123456789012345],
  ])('contentLengthOf(%j) → %d', (list, expected) => {
    expect(contentLengthOf(list)).toBe(expected);
  });
});
