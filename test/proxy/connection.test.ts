// Connection-level hardening of the running proxy, over raw sockets on 127.0.0.1 (issue 11): upgrade
// handshakes always settle and release their slot, pipelined requests keep their responses before
// a parse error's 400, a rejected request closes its connection, CONNECT is answered, slow clients
// time out with 408 and a listener caps its connections. Every load is bounded in count.

import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { connect } from 'node:net';
import { EnvHttpProxyAgent, ProxyAgent, request as undiciRequest } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import type { SnapshotInput } from '../../src/config/snapshot.js';
import type { ClientLimits } from '../../src/proxy/client-connection.js';
import type { HandlerOptions } from '../../src/proxy/handler.js';
import type { Upstream } from './harness.js';
import { send, startTestProxy, startUpstream, tempDir, waitFor, writeSnapshot } from './harness.js';

type TestProxy = Awaited<ReturnType<typeof startTestProxy>>;

const SHOP = 'turnout-product=shop';

/** Product `shop`: `/svc/<name>` → `/v/<name>/1` at the given upstream, for each entry. */
function snapshot(upstreams: Record<string, Upstream>): SnapshotInput {
  const names = Object.keys(upstreams);
  return {
    version: 1,
    products: [
      {
        name: 'shop',
        hosts: ['shop.example.com'],
        entry: names[0]!,
        dtab: names.map((n) => `/svc/${n}=>/v/${n}/1`).join(';'),
      },
    ],
    modules: names.map((n) => ({
      name: n,
      versions: [{ version: '1', endpoints: [{ address: upstreams[n]!.address }] }],
    })),
  };
}

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c().catch(() => undefined)));
});

async function upstream(
  name: string,
  behaviour?: Parameters<typeof startUpstream>[1],
): Promise<Upstream> {
  const up = await startUpstream(name, behaviour);
  closers.push(() => up.close());
  return up;
}

async function proxyFor(
  upstreams: Record<string, Upstream>,
  opts: {
    handler?: Partial<HandlerOptions>;
    clientLimits?: Partial<ClientLimits>;
  } = {},
): Promise<TestProxy> {
  const file = writeSnapshot(tempDir(), snapshot(upstreams));
  const proxy = await startTestProxy(file, opts);
  closers.push(() => proxy.stop(500));
  return proxy;
}

/** A raw client: everything it has read, and a promise of its close. */
interface Raw {
  readonly socket: Socket;
  text(): string;
  /** Resolves with everything read once the proxy has closed the connection. */
  readonly closed: Promise<string>;
  /** Resolves with everything read once `done(text)` holds (or the socket closed). */
  until(done: (text: string) => boolean): Promise<string>;
}

function open(port: number): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let got = '';
    const waiters = new Set<() => void>();
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      for (const w of [...waiters]) w();
    });
    socket.on('error', () => undefined); // a reset shows as 'close', which is what is awaited
    const closed = new Promise<string>((r) =>
      socket.on('close', () => {
        for (const w of [...waiters]) w();
        r(got);
      }),
    );
    socket.once('connect', () =>
      resolve({
        socket,
        text: () => got,
        closed,
        until: (done) =>
          new Promise((r) => {
            const check = () => {
              if (!done(got) && !socket.destroyed) return;
              waiters.delete(check);
              r(got);
            };
            waiters.add(check);
            check();
          }),
      }),
    );
    socket.once('error', reject);
  });
}

/** One whole HTTP/1.1 response with a content-length body at the start of `t`, or null. */
function firstResponse(t: string): { head: string; body: string; rest: string } | null {
  const i = t.indexOf('\r\n\r\n');
  if (i === -1) return null;
  const head = t.slice(0, i);
  const cl = /\r\ncontent-length: *(\d+)/i.exec(head);
  if (cl !== null) {
    const end = i + 4 + Number(cl[1]);
    return t.length < end ? null : { head, body: t.slice(i + 4, end), rest: t.slice(end) };
  }
  if (!/\r\ntransfer-encoding: *chunked/i.test(head)) return null;
  let at = i + 4;
  let body = '';
  for (;;) {
    const eol = t.indexOf('\r\n', at);
    if (eol === -1) return null;
    const size = Number.parseInt(t.slice(at, eol), 16);
    if (size === 0) return t.length < eol + 4 ? null : { head, body, rest: t.slice(eol + 4) };
    if (t.length < eol + 2 + size + 2) return null;
    body += t.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
}

const UPGRADE =
  'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';

function upgradeRequest(service: string, path = '/chat'): string {
  return `GET http://${service}${path} HTTP/1.1\r\nHost: ${service}\r\nbaggage: ${SHOP}\r\n${UPGRADE}`;
}

async function metrics(proxy: TestProxy): Promise<string> {
  return (await send(proxy.admin!.port, { path: '/metrics' })).body;
}

/** A plain node:http service: no 'upgrade' listener, so upgrades reach it as requests. */
async function plainService(): Promise<Upstream> {
  return upstream('plain', (req, res) => {
    const refuse = req.url === '/refuse';
    res.writeHead(refuse ? 426 : 200, { 'content-type': 'text/plain', 'x-served-by': 'plain' });
    res.end(refuse ? 'upgrade required here' : `plain answer to ${req.url}`);
    return true;
  });
}

describe('WebSocket upgrades', () => {
  it('relays a non-101 answer to each of 300 upgrades, and the module still serves afterwards', async () => {
    const plain = await plainService();
    // A pending cap well under 300: every leaked handshake slot would show as 503 overloaded.
    const proxy = await proxyFor({ plain }, { handler: { maxPendingPerEndpoint: 50 } });
    const port = proxy.outbound!.port;
    const paths = Array.from({ length: 300 }, (_, i) => (i % 2 === 0 ? '/refuse' : `/ok-${i}`));
    const answers: string[] = [];
    for (let batch = 0; batch < paths.length; batch += 30) {
      const replies = await Promise.all(
        paths.slice(batch, batch + 30).map(async (path) => {
          const raw = await open(port);
          raw.socket.write(upgradeRequest('plain', path));
          const all = await raw.until((t) => firstResponse(t) !== null);
          raw.socket.destroy();
          return all;
        }),
      );
      answers.push(...replies);
    }
    answers.forEach((all, i) => {
      const r = firstResponse(all);
      const path = paths[i]!;
      expect(r?.head, `upgrade ${i}`).toMatch(
        path === '/refuse' ? /^HTTP\/1\.1 426 / : /^HTTP\/1\.1 200 /,
      );
      expect(r?.head.toLowerCase()).toContain('x-served-by: plain');
      expect(r?.body).toBe(
        path === '/refuse' ? 'upgrade required here' : `plain answer to ${path}`,
      );
    });

    const after = await send(port, { path: 'http://plain/after', headers: { baggage: SHOP } });
    expect([after.status, after.body]).toEqual([200, 'plain answer to /after']);
    const m = await metrics(proxy);
    expect(m).toMatch(/turnout_requests_total\{[^}]*module="plain"[^}]*class="4xx"\} 150\n/);
    expect(m).toMatch(/turnout_requests_total\{[^}]*module="plain"[^}]*class="2xx"\} 151\n/);
    expect(m).toMatch(/turnout_requests_in_flight\{[^}]*module="plain"[^}]*\} 0\n/);
  }, 60_000);

  it('answers 504 upstream_timeout when the upstream never answers the handshake, and frees the slot', async () => {
    const held: IncomingMessage[] = [];
    const silent = await upstream('silent', (req) => {
      if (req.url === '/hang') {
        held.push(req); // never answered
        return true;
      }
      return false;
    });
    const proxy = await proxyFor(
      { silent },
      { handler: { maxPendingPerEndpoint: 1, requestTimeoutMs: 300 } },
    );
    for (let i = 0; i < 3; i++) {
      const raw = await open(proxy.outbound!.port);
      raw.socket.write(upgradeRequest('silent', '/hang'));
      const all = await raw.closed;
      expect(all).toMatch(/^HTTP\/1\.1 504 /);
      expect(all).toContain('x-turnout-error: upstream_timeout');
    }
    const r = await send(proxy.outbound!.port, {
      path: 'http://silent/',
      headers: { baggage: SHOP },
    });
    expect(r.status).toBe(200);
  }, 20_000);

  it('counts an upgrade handshake in progress as in flight when stopping', async () => {
    let release: (() => void) | null = null;
    const held = await upstream('held', (req, res) => {
      req.resume();
      release = () => {
        res.writeHead(426, { 'content-type': 'text/plain' });
        res.end('not now');
      };
      return true;
    });
    const proxy = await proxyFor({ held });
    const raw = await open(proxy.outbound!.port);
    raw.socket.write(upgradeRequest('held'));
    await waitFor(() => release !== null, 5_000, 'the handshake at the upstream');

    let stopped = false;
    const stopping = proxy.stop(10_000).then((r) => {
      stopped = true;
      return r;
    });
    // The listener is closed at once...
    await expect(send(proxy.outbound!.port, { path: '/' })).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
    // ...but the stop waits for the handshake, which is then answered in full.
    expect(stopped).toBe(false);
    release!();
    const all = await raw.closed;
    expect(firstResponse(all)?.head).toMatch(/^HTTP\/1\.1 426 /);
    expect(firstResponse(all)?.body).toBe('not now');
    expect(await stopping).toMatchObject({ leftInFlight: 0 });
  }, 20_000);

  it('survives a client that resets its connection during the handshake', async () => {
    const seen: (() => void)[] = [];
    const held = await upstream('held', (req, res) => {
      req.resume();
      seen.push(() => res.end('late'));
      return true;
    });
    const proxy = await proxyFor({ held });
    const raw = await open(proxy.outbound!.port);
    raw.socket.write(upgradeRequest('held'));
    await waitFor(() => seen.length === 1, 5_000, 'the handshake at the upstream');
    raw.socket.resetAndDestroy();
    await raw.closed;
    seen[0]!();
    const r = send(proxy.outbound!.port, { path: 'http://held/', headers: { baggage: SHOP } });
    await waitFor(() => seen.length === 2, 5_000, 'the next request at the upstream');
    seen[1]!();
    expect((await r).status).toBe(200);
  }, 20_000);

  it('shows open tunnels in the metrics and closes them at the drain deadline', async () => {
    const ws = await upstream('ws');
    ws.server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
      const accept = createHash('sha1')
        .update(`${String(req.headers['sec-websocket-key'])}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
        .digest('base64');
      socket.write(
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
      );
      socket.pipe(socket);
    });
    const proxy = await proxyFor({ ws });
    const raw = await open(proxy.outbound!.port);
    raw.socket.write(upgradeRequest('ws'));
    expect(await raw.until((t) => t.includes('\r\n\r\n'))).toMatch(/^HTTP\/1\.1 101 /);
    const m = await metrics(proxy);
    expect(m).toMatch(/turnout_websocket_tunnels_open\{[^}]*module="ws"[^}]*\} 1\n/);
    expect(m).toMatch(/turnout_requests_total\{[^}]*module="ws"[^}]*class="1xx"\} 1\n/);

    const result = await proxy.stop(200);
    await raw.closed;
    expect(result).toMatchObject({ leftInFlight: 0, upgradesClosed: 1 });
  }, 20_000);
});

describe('pipelining and rejected requests', () => {
  it('answers a pipelined POST in full before the 400 for a malformed request after it, then closes', async () => {
    let posts = 0;
    const orders = await upstream('orders', (req, res) => {
      if (req.method !== 'POST') return false;
      posts++;
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      // Answered a little later than the garbage behind it is parsed, as a real service would.
      req.on('end', () =>
        setTimeout(() => {
          res.writeHead(201, { 'content-type': 'text/plain', 'x-served-by': 'orders' });
          res.end(`created ${Buffer.concat(chunks).toString()}`);
        }, 50),
      );
      return true;
    });
    const proxy = await proxyFor({ orders });
    const raw = await open(proxy.outbound!.port);
    raw.socket.write(
      `POST http://orders/new HTTP/1.1\r\nHost: orders\r\nbaggage: ${SHOP}\r\n` +
        'Content-Type: text/plain\r\nContent-Length: 9\r\n\r\norder-one' +
        'THIS IS NOT HTTP\r\n\r\n',
    );
    const all = await raw.closed;
    const first = firstResponse(all);
    expect(first?.head).toMatch(/^HTTP\/1\.1 201 /);
    expect(first?.body).toBe('created order-one');
    const second = firstResponse(first?.rest ?? '');
    expect(second?.head).toMatch(/^HTTP\/1\.1 400 /);
    expect(second?.head).toContain('x-turnout-error: bad_request');
    expect(second?.head.toLowerCase()).toContain('connection: close');
    expect(second?.rest).toBe('');
    expect(posts).toBe(1);
  });

  it('answers 400 at once for a malformed chunk in the body of the request being read', async () => {
    const orders = await upstream('orders', (req, res) => {
      req.resume();
      req.on('end', () => res.end('whole body read'));
      return true;
    });
    const proxy = await proxyFor({ orders });
    const raw = await open(proxy.outbound!.port);
    raw.socket.write(
      `POST http://orders/ HTTP/1.1\r\nHost: orders\r\nbaggage: ${SHOP}\r\n` +
        'Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nZZ\r\n',
    );
    // Not held back behind the broken request's own answer, which can never come.
    const all = await raw.closed;
    expect(all).toMatch(/^HTTP\/1\.1 400 /);
    expect(all).toContain('x-turnout-error: bad_request');
  }, 10_000);

  it('closes the connection after a duplicate-Host 400', async () => {
    const orders = await upstream('orders');
    const proxy = await proxyFor({ orders });
    const raw = await open(proxy.outbound!.port);
    raw.socket.write(
      `GET http://orders/ HTTP/1.1\r\nHost: orders\r\nHost: account\r\nbaggage: ${SHOP}\r\n\r\n`,
    );
    const all = await raw.until((t) => firstResponse(t) !== null);
    const r = firstResponse(all);
    expect(r?.head).toMatch(/^HTTP\/1\.1 400 /);
    expect(r?.head.toLowerCase()).toContain('connection: close');
    expect(r?.body).toBe('more than one Host header\n');
    // The proxy ends the connection itself (a keep-alive one would stay open for 5 s).
    await new Promise<void>((resolve) => raw.socket.once('end', resolve));
    expect(orders.seen).toHaveLength(0);
  });

  it.each([
    [
      'outbound',
      'text/plain',
      'orders:443',
      'CONNECT is accepted only to a module name on port 80',
    ],
    ['outbound', 'application/json', 'example.com:80', 'CONNECT is accepted only to a module'],
    ['outbound', 'text/plain', 'orders', 'CONNECT is accepted only to a module name on port 80'],
    ['edge', 'application/json', 'orders:80', 'CONNECT is not supported on the edge listener'],
  ])(
    'answers CONNECT on the %s listener (%s) to %s with 400 and the usual error body',
    async (kind, accept, authority, message) => {
      const orders = await upstream('orders');
      const proxy = await proxyFor({ orders });
      const port = kind === 'edge' ? proxy.edge!.port : proxy.outbound!.port;
      const raw = await open(port);
      raw.socket.write(
        `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\nAccept: ${accept}\r\n\r\n`,
      );
      const all = await raw.closed;
      const r = firstResponse(all);
      expect(r?.head).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
      expect(r?.head).toContain('x-turnout-error: bad_request');
      expect(r?.head).toContain(`content-type: ${accept}`);
      expect(r?.body).toContain(message);
      expect(orders.seen).toEqual([]);
    },
  );

  it('serves a CONNECT tunnel to a module name on port 80 with the same stages (undici ProxyAgent, EnvHttpProxyAgent)', async () => {
    const orders = await upstream('orders');
    const proxy = await proxyFor({ orders });
    const uri = `http://127.0.0.1:${proxy.outbound!.port}`;
    // undici's agents tunnel http:// targets with CONNECT by default: how a Node service that
    // honours http_proxy calls another module.
    for (const dispatcher of [new ProxyAgent({ uri }), new EnvHttpProxyAgent({ httpProxy: uri })]) {
      closers.push(() => dispatcher.close());
      for (let i = 0; i < 3; i++) {
        const res = await undiciRequest(`http://orders/path-${i}?q=1`, {
          dispatcher,
          headers: { baggage: SHOP },
        });
        const body = (await res.body.json()) as {
          name: string;
          url: string;
          headers: Record<string, string>;
        };
        expect(res.statusCode).toBe(200);
        expect(body.name).toBe('orders');
        expect(body.url).toBe(`/path-${i}?q=1`);
        // the request went through the proxy's stages: forwarding headers and the context
        expect(body.headers.via).toContain('turnout');
        expect(body.headers.baggage).toContain('turnout-product=shop');
      }
    }
    // A module the snapshot does not have is answered as a plain proxied request would be.
    const agent = new ProxyAgent({ uri });
    closers.push(() => agent.close());
    const missing = await undiciRequest('http://payments/', {
      dispatcher: agent,
      headers: { baggage: SHOP },
    });
    await missing.body.text();
    expect(missing.statusCode).toBeGreaterThanOrEqual(400);
    expect(missing.headers['x-turnout-error']).toBeDefined();
  });
});

describe('slow clients', () => {
  const SHORT = { headerTimeoutMs: 200, bodyTimeoutMs: 200 };

  it('closes a connection that sends nothing within the header timeout', async () => {
    const orders = await upstream('orders');
    const proxy = await proxyFor({ orders }, { clientLimits: SHORT });
    const raw = await open(proxy.outbound!.port);
    await raw.closed;
    expect(raw.socket.destroyed).toBe(true);
  }, 20_000);

  it('answers 408 request_timeout to a partial request head, then closes', async () => {
    const orders = await upstream('orders');
    const proxy = await proxyFor({ orders }, { clientLimits: SHORT });
    const raw = await open(proxy.outbound!.port);
    raw.socket.write(`GET http://orders/ HTTP/1.1\r\nHost: orders\r\nbaggage: ${SHOP}\r\n`);
    const all = await raw.closed;
    expect(all).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(all).toContain('x-turnout-error: request_timeout');
    expect(orders.seen).toHaveLength(0);
  }, 20_000);

  it('answers 408 request_timeout, not 504, when a request body stalls, and counts it', async () => {
    const orders = await upstream('orders', (req, res) => {
      // Reads the whole body before answering, as an API does.
      req.resume();
      req.on('end', () => res.end('whole body read'));
      return true;
    });
    const proxy = await proxyFor(
      { orders },
      { clientLimits: SHORT, handler: { requestTimeoutMs: 10_000 } },
    );
    const raw = await open(proxy.outbound!.port);
    raw.socket.write(
      `POST http://orders/ HTTP/1.1\r\nHost: orders\r\nbaggage: ${SHOP}\r\n` +
        'Content-Length: 100\r\n\r\nonly ten b',
    );
    const all = await raw.closed;
    const r = firstResponse(all);
    expect(r?.head).toMatch(/^HTTP\/1\.1 408 /);
    expect(r?.head).toContain('x-turnout-error: request_timeout');
    expect(r?.body).toBe('the request body did not arrive in time\n');
    expect(await metrics(proxy)).toMatch(
      /turnout_proxy_errors_total\{code="request_timeout",listener="outbound"\} 1\n/,
    );
  }, 20_000);

  it('leaves alone a connection that only waits for a slow upstream', async () => {
    const slow = await upstream('slow', (req, res) => {
      req.resume();
      // Several body timeouts long: the client sent everything and is owed the answer.
      setTimeout(() => res.end('slow but fine'), 800);
      return true;
    });
    const proxy = await proxyFor({ slow }, { clientLimits: SHORT });
    const r = await send(proxy.outbound!.port, {
      path: 'http://slow/',
      method: 'POST',
      headers: { baggage: SHOP },
      body: 'all of it',
    });
    expect([r.status, r.body]).toEqual([200, 'slow but fine']);
  }, 20_000);

  it('closes an idle keep-alive connection after --client-idle-timeout, not Node’s 5 s', async () => {
    const orders = await upstream('orders');
    const limits = { headerTimeoutMs: 2_000, bodyTimeoutMs: 2_000, idleTimeoutMs: 300 };
    const proxy = await proxyFor({ orders }, { clientLimits: limits });
    const idle = await open(proxy.outbound!.port);
    idle.socket.write(`GET http://orders/ HTTP/1.1\r\nHost: orders\r\nbaggage: ${SHOP}\r\n\r\n`);
    await idle.until((t) => firstResponse(t) !== null);
    // The reference: a connection that sends nothing is closed by the 2 s header timeout. The
    // idle one must go first (with Node's 5 s keep-alive timeout it went after).
    const silent = await open(proxy.outbound!.port);
    const first = await Promise.race([
      idle.closed.then(() => 'idle timeout'),
      silent.closed.then(() => 'header timeout'),
    ]);
    expect(first).toBe('idle timeout');
    expect(firstResponse(await idle.closed)?.head).toMatch(/^HTTP\/1\.1 200 /);
    await silent.closed;
  }, 20_000);

  it('keeps an idle kept-alive connection past the header timeout: only the idle timeout closes it', async () => {
    const orders = await upstream('orders');
    const proxy = await proxyFor({ orders }, { clientLimits: SHORT }); // idle: the default minute
    const kept = await open(proxy.outbound!.port);
    const request = `GET http://orders/ HTTP/1.1\r\nHost: orders\r\nbaggage: ${SHOP}\r\n\r\n`;
    const answers = (text: string) => (text.match(/HTTP\/1\.1 200 /g) ?? []).length;
    kept.socket.write(request);
    await kept.until((t) => answers(t) === 1);
    // A connection opened now that sends nothing is closed by the 200 ms header timeout: once it
    // is, the kept-alive one has been idle longer than that and must still serve.
    const silent = await open(proxy.outbound!.port);
    await silent.closed;
    expect(kept.socket.destroyed).toBe(false);
    kept.socket.write(request);
    await kept.until((t) => answers(t) === 2);
    kept.socket.destroy();
  }, 20_000);
});

describe('connection cap', () => {
  it('closes connections over the cap, counts them, and keeps serving the others', async () => {
    const orders = await upstream('orders');
    const proxy = await proxyFor({ orders }, { clientLimits: { maxConnections: 2 } });
    const port = proxy.outbound!.port;
    const get = `GET http://orders/ HTTP/1.1\r\nHost: orders\r\nbaggage: ${SHOP}\r\n\r\n`;
    const held = [await open(port), await open(port)];
    for (const raw of held) {
      raw.socket.write(get);
      expect(firstResponse(await raw.until((t) => firstResponse(t) !== null))?.head).toMatch(
        /^HTTP\/1\.1 200 /,
      );
    }
    const over = await open(port);
    over.socket.write(get);
    expect(await over.closed).toBe('');
    expect(await metrics(proxy)).toMatch(
      /turnout_connections_refused_total\{listener="outbound"\} 1\n/,
    );
    for (const raw of held) {
      const before = raw.text().length;
      raw.socket.write(get);
      const more = await raw.until((t) => firstResponse(t.slice(before)) !== null);
      expect(firstResponse(more.slice(before))?.head).toMatch(/^HTTP\/1\.1 200 /);
      raw.socket.destroy();
    }
  }, 20_000);
});
