// The example service (examples/services/service.mjs) as a real process: what it answers, the
// lane it reports, its calls through an outbound proxy, its fault switch and its graceful stop.

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { get, inFlightGet, killAll, SERVICE, waitFor } from './support.js';

interface Service {
  child: ChildProcess;
  address: string;
  output: () => string;
  exited: Promise<number | null>;
}

const pids: number[] = [];
const servers: http.Server[] = [];
afterEach(() => {
  killAll(pids);
  for (const s of servers.splice(0)) s.close();
});

/** Starts the service on an ephemeral port and waits for its "listening on" line. */
async function startService(env: Record<string, string>): Promise<Service> {
  const child = spawn(process.execPath, [SERVICE], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  pids.push(child.pid!);
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const address = await new Promise<string>((resolve, reject) => {
    const check = () => {
      const m = /listening on (127\.0\.0\.1:\d+)/.exec(output);
      if (m) resolve(m[1]!);
    };
    child.stdout!.on('data', check);
    void exited.then((code) => reject(new Error(`service exited (${code}): ${output}`)));
  });
  return { child, address, output: () => output, exited };
}

/** A stand-in for the Turnout outbound proxy: records absolute-form requests, answers per host. */
async function fakeProxy(answer: (host: string) => { status: number; body: unknown }) {
  const seen: { url: string; headers: http.IncomingHttpHeaders }[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    const { status, body } = answer(req.headers.host ?? '');
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

describe('example service', () => {
  it('answers with its name, version and no lane, and 200 on /healthz', async () => {
    const s = await startService({ SERVICE_NAME: 'orders', SERVICE_VERSION: '2.0.0' });
    const answer = await get(s.address, '/orders/42');
    expect(answer.status).toBe(200);
    expect(answer.json()).toEqual({ service: 'orders', version: '2.0.0', lane: null, calls: [] });
    expect((await get(s.address, '/healthz')).status).toBe(200);
  });

  it('reports the lane from x-turnout-lane, which wins over baggage, or from baggage', async () => {
    const s = await startService({ SERVICE_NAME: 'orders' });
    const baggage = 'turnout-product=shop, turnout-lane=ticket%2D7;p=1';
    expect((await get(s.address, '/', { baggage })).json().lane).toBe('ticket-7');
    const both = { baggage, 'x-turnout-lane': 'by-hand' };
    expect((await get(s.address, '/', both)).json().lane).toBe('by-hand');
  });

  it('skips its calls cleanly when there is no http_proxy', async () => {
    const s = await startService({ SERVICE_NAME: 'web', SERVICE_CALLS: 'orders,account' });
    const answer = await get(s.address, '/');
    expect(answer.status).toBe(200);
    expect(answer.json().calls).toEqual([]);
    expect(s.output()).toContain('no http_proxy: calls to orders,account are skipped');
  });

  it('calls each callee through the proxy in absolute form, forwarding the context headers', async () => {
    const proxy = await fakeProxy((host) =>
      host === 'account'
        ? { status: 503, body: { error: { code: 'no_endpoints' } } }
        : { status: 200, body: { service: host, version: '1.0.0', lane: 'l1', calls: [] } },
    );
    const s = await startService({
      SERVICE_NAME: 'web',
      SERVICE_CALLS: 'orders, account',
      http_proxy: proxy.url,
    });
    const context = {
      baggage: 'turnout-product=shop,turnout-lane=l1',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      'x-turnout-lane': 'l1',
      'x-turnout-override': 'token',
      'x-other': 'not forwarded',
    };
    const answer = await get(s.address, '/checkout?x=1', context);
    expect(answer.status).toBe(502); // a callee failed
    expect(answer.json().calls).toEqual([
      { service: 'orders', version: '1.0.0', lane: 'l1', calls: [] },
      { service: 'account', error: 'HTTP 503' },
    ]);
    expect(proxy.seen.map((r) => r.url).sort()).toEqual([
      'http://account/checkout?x=1',
      'http://orders/checkout?x=1',
    ]);
    for (const { headers } of proxy.seen) {
      expect(headers.baggage).toBe(context.baggage);
      expect(headers.traceparent).toBe(context.traceparent);
      expect(headers['x-turnout-lane']).toBe('l1');
      expect(headers['x-turnout-override']).toBe('token');
      expect(headers['x-other']).toBeUndefined();
    }
  });

  it('answers 500 to exactly the configured share of requests, never to /healthz', async () => {
    const s = await startService({ SERVICE_NAME: 'orders', FAULT_ERROR_RATE: '0.25' });
    const statuses: number[] = [];
    for (let i = 0; i < 100; i++) {
      statuses.push((await get(s.address, '/')).status);
      if (i % 5 === 0) expect((await get(s.address, '/healthz')).status).toBe(200);
    }
    expect(statuses.filter((c) => c === 500)).toHaveLength(25);
    expect(statuses.filter((c) => c === 200)).toHaveLength(75);
    // spread out, not bunched: every run of four requests holds exactly one failure
    for (let i = 0; i < 100; i += 4) expect(statuses.slice(i, i + 4)).toContain(500);
  });

  it('adds FAULT_LATENCY_MS to every request but /healthz', async () => {
    const s = await startService({ FAULT_LATENCY_MS: '300' });
    const t = Date.now();
    expect((await get(s.address, '/')).status).toBe(200);
    expect(Date.now() - t).toBeGreaterThanOrEqual(295);
    // /healthz answers while a request held by a (much longer) latency is still waiting.
    const held = await startService({ FAULT_LATENCY_MS: '600000' });
    let answered = false;
    const waiting = get(held.address, '/').then(
      () => (answered = true),
      () => false,
    );
    expect((await get(held.address, '/healthz')).status).toBe(200);
    expect(answered).toBe(false);
    held.child.kill('SIGKILL');
    await waiting;
  });

  it('on SIGTERM finishes the request in flight, refuses new ones and exits 0', async () => {
    const s = await startService({ FAULT_LATENCY_MS: '800' });
    const inFlight = await inFlightGet(s.address, '/slow');
    s.child.kill('SIGTERM');
    await waitFor('new connections to be refused', () =>
      get(s.address, '/healthz').then(
        () => false,
        (e: Error) => /ECONNREFUSED/.test(e.message) || Promise.reject(e),
      ),
    );
    expect((await inFlight.answer).status).toBe(200);
    expect(await s.exited).toBe(0);
  });

  it('refuses to start without PORT', async () => {
    const child = spawn(process.execPath, [SERVICE], { env: {}, stdio: 'ignore' });
    pids.push(child.pid!);
    expect(await new Promise((r) => child.on('exit', r))).toBe(2);
  });
});
