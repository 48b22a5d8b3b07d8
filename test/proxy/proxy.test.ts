import type { IncomingMessage, ServerResponse } from 'node:http';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SnapshotInput } from '../../src/config/snapshot.js';
import type { Upstream } from './harness.js';
import {
  deadAddress,
  send,
  startTestProxy,
  startUpstream,
  tempDir,
  writeSnapshot,
} from './harness.js';

let orders1: Upstream;
let orders2: Upstream;
let web: Upstream;
let account: Upstream;
let proxy: Awaited<ReturnType<typeof startTestProxy>>;
let dead: string;

function snapshot(): SnapshotInput {
  return {
    version: 1,
    products: [
      {
        name: 'shop',
        hosts: ['shop.example.com'],
        entry: 'web',
        dtab: '/svc/web=>/v/web/1;/svc/orders=>/v/orders/1;/svc/account=>/v/account/1;/svc/w=>/v/orders/1 & 3*/v/orders/2;/svc/empty=>/v/empty/1',
        lanes: [{ name: 't-1', overlay: '/svc/orders=>/v/orders/2;/svc/account=>/v/account/2' }],
        // A testers' header, client-chosen on purpose (test/proxy/trust.test.ts covers the default).
        rules: [{ lane: 't-1', header: { name: 'x-qa-lane', equals: 't-1', trust: 'any-client' } }],
      },
      {
        name: 'admin',
        hosts: ['admin.example.com'],
        entry: 'account',
        dtab: '/svc/account=>/v/account/1',
      },
    ],
    modules: [
      { name: 'web', versions: [{ version: '1', endpoints: [{ address: web.address }] }] },
      {
        name: 'orders',
        versions: [
          { version: '1', endpoints: [{ address: orders1.address }, { address: dead }] },
          { version: '2', endpoints: [{ address: orders2.address }] },
        ],
      },
      {
        name: 'account',
        versions: [
          { version: '1', endpoints: [{ address: account.address }] },
          { version: '2', endpoints: [{ address: '127.0.0.1:1', state: 'starting' }] },
        ],
      },
      { name: 'empty', versions: [{ version: '1' }] },
    ],
  };
}

/** Resolves when web@1 sees its never-ending answer closed before it finished it. */
let neverEndsClosed: (finished: boolean) => void = () => {};

/** /big: 16 MiB in 64 KiB chunks, each filled with its own index. */
const BIG_CHUNKS = 256;
const bigChunk = (i: number) => Buffer.alloc(64 * 1024, i % 251);
/** Resolves when web@1's /big writes have had to wait for the proxy (write() returned false). */
let bigBlocked: () => void = () => {};

/** web@1 sends the second half of /two-halves when this is called. */
let sendSecondHalf: () => void = () => {};

/** web@1's answers for 'the upstream's answer' below; other paths get the usual echo. */
function webAnswers(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.url === '/answer-headers') {
    // A flat list: Node sends it as it is (a Connection list, a repeated header, a latin1 byte).
    res.writeHead(200, [
      'Connection',
      'keep-alive, X-Upstream-Hop',
      'X-Upstream-Hop',
      '1',
      'Set-Cookie',
      'a=1',
      'X-Name',
      'caf\xe9',
      'Set-Cookie',
      'b=2',
    ]);
    res.end('ok');
    return true;
  }
  if (req.url === '/trailers') {
    res.writeHead(200, { trailer: 'x-checksum', 'content-type': 'text/plain' });
    res.write('hello ');
    res.addTrailers({ 'x-checksum': 'abc123' });
    res.end('world');
    return true;
  }
  if (req.url === '/big') {
    res.writeHead(200, { 'content-length': String(BIG_CHUNKS * 64 * 1024) });
    let i = 0;
    const more = () => {
      while (i < BIG_CHUNKS) {
        if (!res.write(bigChunk(i++))) {
          bigBlocked();
          res.once('drain', more);
          return;
        }
      }
      res.end();
    };
    more();
    return true;
  }
  if (req.url === '/two-halves') {
    res.writeHead(200, { 'content-length': '10', 'content-type': 'text/plain' });
    res.write('hello');
    sendSecondHalf = () => res.end('world');
    return true;
  }
  if (req.url === '/never-ends') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first chunk');
    res.on('close', () => neverEndsClosed(res.writableFinished));
    return true;
  }
  return false;
}

beforeAll(async () => {
  [orders1, orders2, web, account] = await Promise.all([
    startUpstream('orders@1'),
    startUpstream('orders@2'),
    startUpstream('web@1', webAnswers),
    startUpstream('account@1'),
  ]);
  dead = await deadAddress();
  const file = writeSnapshot(tempDir(), snapshot());
  proxy = await startTestProxy(file);
});

afterAll(async () => {
  await proxy?.stop(1_000);
  await Promise.all([orders1, orders2, web, account].map((u) => u?.close()));
});

const out = () => proxy.outbound!.port;
const edge = () => proxy.edge!.port;
const shop = 'turnout-product=shop';

describe('outbound listener (explicit proxy)', () => {
  it('routes an absolute-form request by its host to the stable version', async () => {
    const r = await send(out(), { path: 'http://orders/list?x=1', headers: { baggage: shop } });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ name: 'orders@1', url: '/list?x=1' });
  });

  it('routes an origin-form request by its Host header', async () => {
    const r = await send(out(), { path: '/a', headers: { host: 'account', baggage: shop } });
    expect(JSON.parse(r.body).name).toBe('account@1');
  });

  it('sends lane traffic to the lane version, and falls back to stable where the lane version is not ready', async () => {
    const o = await send(out(), {
      path: 'http://orders/',
      headers: { baggage: `${shop},turnout-lane=t-1` },
    });
    expect(JSON.parse(o.body).name).toBe('orders@2');
    const a = await send(out(), {
      path: 'http://account/',
      headers: { 'x-turnout-lane': 't-1', baggage: shop },
    });
    expect(JSON.parse(a.body).name).toBe('account@1');
  });

  it('carries the context on to the upstream in baggage, keeping foreign members', async () => {
    const r = await send(out(), {
      path: 'http://orders/',
      headers: {
        baggage: `userId=7,${shop},turnout-lane=t-1`,
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      },
    });
    const seen = JSON.parse(r.body).headers;
    expect(seen.baggage).toBe('userId=7,turnout-product=shop,turnout-lane=t-1');
    expect(seen.traceparent).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    expect(seen.via).toBe('1.1 turnout');
    expect(seen['x-forwarded-for']).toBe('127.0.0.1');
  });

  it('removes hop-by-hop headers, including those Connection names', async () => {
    const r = await send(out(), {
      path: 'http://orders/',
      headers: {
        baggage: shop,
        connection: 'keep-alive, x-secret-hop',
        'x-secret-hop': '1',
        'proxy-authorization': 'Basic eA==',
        te: 'trailers',
      },
    });
    const seen = JSON.parse(r.body).headers;
    expect(seen['x-secret-hop']).toBeUndefined();
    expect(seen['proxy-authorization']).toBeUndefined();
    expect(seen.te).toBeUndefined();
    expect(r.headers['keep-alive']).not.toBe('timeout=7'); // the upstream's own; Node adds the proxy's
  });

  it('retries connection failures on another endpoint: no request fails although one orders@1 endpoint is down', async () => {
    const results = await Promise.all(
      Array.from({ length: 60 }, () =>
        send(out(), { path: 'http://orders/', headers: { baggage: shop } }),
      ),
    );
    expect(results.map((r) => r.status).filter((s) => s !== 200)).toEqual([]);
  });

  it('streams a request body through and back', async () => {
    const body = Buffer.alloc(3 * 1024 * 1024, 'abcdefgh');
    const r = await send(out(), {
      path: 'http://orders/echo',
      method: 'POST',
      headers: { baggage: shop },
      body,
    });
    expect(r.status).toBe(200);
    expect(r.body.length).toBe(body.length);
    expect(r.body === body.toString()).toBe(true);
  });

  it('splits a weighted union by its weights (10,000 requests, ±2.5 points)', async () => {
    const agent = new (await import('node:http')).Agent({ keepAlive: true, maxSockets: 32 });
    let toV2 = 0;
    const total = 10_000;
    for (let batch = 0; batch < total / 500; batch++) {
      const replies = await Promise.all(
        Array.from({ length: 500 }, () =>
          send(out(), { path: 'http://w/', headers: { baggage: shop }, agent }),
        ),
      );
      for (const r of replies) if (r.headers['x-served-by'] === 'orders@2') toV2++;
    }
    agent.destroy();
    expect(Math.abs(toV2 / total - 0.75)).toBeLessThan(0.025);
  }, 120_000); // 10,000 real requests: the time only bounds a hang
});

describe('errors a client can act on', () => {
  it.each([
    [
      'an unknown service',
      { path: 'http://nothing/', headers: { baggage: shop } },
      404,
      'unknown_service',
      'unknown service /svc/nothing',
    ],
    [
      'a version with no ready endpoints',
      { path: 'http://empty/', headers: { baggage: shop } },
      503,
      'no_endpoints',
      'no ready endpoints for /svc/empty in stable (product shop)',
    ],
    [
      'a lane version with no ready endpoints',
      { path: 'http://empty/', headers: { baggage: `${shop},turnout-lane=t-1` } },
      503,
      'no_endpoints',
      'no ready endpoints for /svc/empty in lane t-1 (product shop)',
    ],
    [
      'a module the product does not route',
      { path: 'http://web2/', headers: { baggage: shop } },
      404,
      'unknown_service',
      'unknown service /svc/web2',
    ],
    [
      'a request without product context',
      { path: 'http://orders/' },
      400,
      'missing_context',
      'forward the baggage header',
    ],
    [
      'an invalid lane',
      { path: 'http://orders/', headers: { baggage: shop, 'x-turnout-lane': 'Bad Lane' } },
      400,
      'bad_request',
      'x-turnout-lane',
    ],
    [
      'a host that disagrees with the absolute URI',
      { path: 'http://orders/', headers: { host: 'account', baggage: shop } },
      400,
      'bad_request',
      'different hosts',
    ],
  ])(
    'answers %s with a status, a code header and a message',
    async (_name, req, status, code, message) => {
      const r = await send(out(), req);
      expect(r.status).toBe(status);
      expect(r.headers['x-turnout-error']).toBe(code);
      expect(r.body).toContain(message);
    },
  );

  it('answers JSON when the client accepts it', async () => {
    const r = await send(out(), {
      path: 'http://nothing/',
      headers: { baggage: shop, accept: 'application/json' },
    });
    expect(JSON.parse(r.body)).toEqual({
      error: { code: 'unknown_service', message: 'unknown service /svc/nothing' },
    });
  });
});

function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(text));
    let got = '';
    s.on('data', (d) => {
      got += d.toString();
    });
    s.on('end', () => resolve(got));
    s.on('close', () => resolve(got));
    s.on('error', reject);
    // Every answer here ends the connection; this only bounds a hang.
    setTimeout(() => {
      s.destroy();
      resolve(got);
    }, 20_000);
  });
}

describe('request smuggling and malformed requests', () => {
  it.each([
    [
      'two Host headers',
      'GET / HTTP/1.1\r\nHost: orders\r\nHost: account\r\nbaggage: turnout-product=shop\r\n\r\n',
      '400',
      'more than one Host header',
    ],
    [
      'Content-Length with Transfer-Encoding',
      'POST / HTTP/1.1\r\nHost: orders\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      '400',
      'x-turnout-error: bad_request',
    ],
    [
      'two different Content-Lengths',
      'POST / HTTP/1.1\r\nHost: orders\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde',
      '400',
      'x-turnout-error: bad_request',
    ],
    [
      'an obs-fold header',
      'GET / HTTP/1.1\r\nHost: orders\r\nX-A: a\r\n  folded\r\n\r\n',
      '400',
      'x-turnout-error: bad_request',
    ],
    [
      'an h2c upgrade',
      'GET / HTTP/1.1\r\nHost: orders\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n',
      '400',
      'upgrade to h2c is not supported',
    ],
    [
      'headers over the size limit',
      `GET / HTTP/1.1\r\nHost: orders\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      '431',
      'x-turnout-error: headers_too_large',
    ],
  ])('rejects %s', async (_name, request, status, text) => {
    const reply = await raw(out(), request);
    expect(reply.startsWith(`HTTP/1.1 ${status}`)).toBe(true);
    expect(reply).toContain(text);
  });

  it('accepts an HTTP/1.0 request', async () => {
    const reply = await raw(
      out(),
      'GET http://orders/ HTTP/1.0\r\nbaggage: turnout-product=shop\r\n\r\n',
    );
    expect(reply).toMatch(/^HTTP\/1\.1 200/);
    expect(reply).toContain('orders@1');
  });
});

describe('edge listener', () => {
  it('routes a product host to its entry module on stable', async () => {
    const r = await send(edge(), { path: '/', headers: { host: 'shop.example.com' } });
    expect(JSON.parse(r.body).name).toBe('web@1');
    expect(JSON.parse(r.body).headers.baggage).toBe('turnout-product=shop');
  });

  it('ignores lane and context headers sent from outside', async () => {
    const r = await send(edge(), {
      path: '/',
      headers: {
        host: 'shop.example.com',
        'x-turnout-lane': 't-1',
        baggage: 'turnout-lane=t-1,turnout-product=admin,k=v',
      },
    });
    const seen = JSON.parse(r.body).headers;
    expect(seen['x-turnout-lane']).toBeUndefined();
    expect(seen.baggage).toBe('k=v,turnout-product=shop');
  });

  it('assigns the lane by the product rules and carries it downstream', async () => {
    const r = await send(edge(), {
      path: '/',
      headers: { host: 'shop.example.com', 'x-qa-lane': 't-1' },
    });
    expect(JSON.parse(r.body).headers.baggage).toBe('turnout-product=shop,turnout-lane=t-1');
  });

  it('answers 404 for a host no product serves, without internal details', async () => {
    const r = await send(edge(), { path: '/', headers: { host: 'nope.example.com' } });
    expect(r.status).toBe(404);
    expect(r.headers['x-turnout-error']).toBe('unknown_product');
    expect(r.body).not.toMatch(/127\.0\.0\.1|=>/);
  });
});

describe("the upstream's answer", () => {
  const get = (path: string) =>
    new Promise<IncomingMessage & { text: string }>((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port: edge(), path, headers: { host: 'shop.example.com' } },
        (res) => {
          let text = '';
          res.setEncoding('latin1');
          res.on('data', (c: string) => {
            text += c;
          });
          res.on('end', () => resolve(Object.assign(res, { text })));
        },
      );
      req.on('error', reject);
      req.end();
    });

  it('reaches the client without hop-by-hop headers, repeated headers and bytes as they were', async () => {
    const r = await get('/answer-headers');
    expect(r.text).toBe('ok');
    expect(r.headers['x-upstream-hop']).toBeUndefined();
    expect(r.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(Buffer.from(r.headers['x-name'] as string, 'latin1')).toEqual(
      Buffer.from('caf\xe9', 'latin1'),
    );
  });

  it('passes trailers on', async () => {
    const r = await get('/trailers');
    expect(r.text).toBe('hello world');
    expect(r.trailers).toEqual({ 'x-checksum': 'abc123' });
  });

  it('streams a Content-Length body as it comes: the first half reaches the client before the upstream sends the rest', async () => {
    const body = await new Promise<string>((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port: edge(),
          path: '/two-halves',
          headers: { host: 'shop.example.com' },
        },
        (res) => {
          let text = '';
          res.setEncoding('latin1');
          res.on('data', (c: string) => {
            // Only once the client holds the first half does the upstream send the second.
            if (text === '' && c === 'hello') sendSecondHalf();
            text += c;
          });
          res.on('end', () => resolve(text));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(body).toBe('helloworld');
  });

  it('reaches a client that stops reading, whole and in order, once it reads again', async () => {
    const upstreamWaited = new Promise<void>((resolve) => {
      bigBlocked = resolve;
    });
    const received = await new Promise<Buffer>((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port: edge(), path: '/big', headers: { host: 'shop.example.com' } },
        (res) => {
          const chunks: Buffer[] = [];
          res.once('data', () => {
            // The client stops reading until the upstream has had to wait: the proxy's writes to
            // the client back up, it pauses the upstream, and must resume it on the client's drain.
            res.pause();
            void upstreamWaited.then(() => res.resume());
          });
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(Buffer.concat(chunks)));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(received.length).toBe(BIG_CHUNKS * 64 * 1024);
    const expected = Buffer.concat(Array.from({ length: BIG_CHUNKS }, (_, i) => bigChunk(i)));
    expect(received.equals(expected)).toBe(true);
  });

  it('is stopped at the upstream when the client leaves in the middle of it', async () => {
    const upstreamClosed = new Promise<boolean>((resolve) => {
      neverEndsClosed = resolve;
    });
    const req = httpRequest({
      host: '127.0.0.1',
      port: edge(),
      path: '/never-ends',
      headers: { host: 'shop.example.com' },
    });
    req.on('error', () => {});
    req.on('response', (res) => res.once('data', () => req.destroy()));
    req.end();
    // Only the proxy's abort of its upstream exchange closes web@1's answer: it never ends it.
    expect(await upstreamClosed).toBe(false);
  });
});

describe('admin listener', () => {
  it('is ready with the config version and exposes metrics per product, lane, module and version', async () => {
    const ready = await send(proxy.admin!.port, { path: '/ready' });
    expect(JSON.parse(ready.body)).toEqual({ ready: true, version: 1 });
    const metrics = await send(proxy.admin!.port, { path: '/metrics' });
    expect(metrics.body).toMatch(
      /turnout_requests_total\{product="shop",lane="t-1",module="orders",version="2",endpoint="127\.0\.0\.1:\d+",class="2xx"\} \d+/,
    );
    expect(metrics.body).toContain('turnout_config_version 1');
  });
});

describe('admin /stats', () => {
  it('serves the same series as JSON for the control plane to pull', async () => {
    const r = await send(proxy.admin!.port, { path: '/stats' });
    const body = JSON.parse(r.body);
    expect(body.version).toBe(1);
    const requests = body.metrics.find(
      (m: { name: string }) => m.name === 'turnout_requests_total',
    );
    expect(
      requests.values.some(
        (v: { labels: Record<string, string>; value: number }) =>
          v.labels.module === 'orders' && v.labels.class === '2xx' && v.value > 0,
      ),
    ).toBe(true);
  });
});
