// The SSE follower (src/proxy/sse-follower.ts) against real servers on 127.0.0.1: events in order,
// a refusal with its body, the idle timer, the caller ending a connection through its
// AbortController, a callback that throws, a refused connection's cause, stop(), and https with a
// custom CA. It speaks undici's raw dispatch API (not request(), which lives in undici's index the
// proxy does not load): these hold each behaviour request() gave it.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SseEvent } from '../../src/proxy/sse.js';
import type { SseFollowerOptions } from '../../src/proxy/sse-follower.js';
import { SseFollower } from '../../src/proxy/sse-follower.js';
import { selfSignedCert } from '../support/self-signed.js';
import { waitFor } from '../support/wait.js';

interface Served {
  readonly url: string;
  readonly requests: IncomingMessage[];
  /** Requests whose connection has closed (the follower let go). */
  readonly closed: IncomingMessage[];
  close(): Promise<void>;
}

const servers: Server[] = [];
const followers: SseFollower[] = [];
let dir = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'turnout-sse-follower-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await Promise.all(followers.splice(0).map((f) => f.stop()));
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
});

async function serve(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  tls?: { key: string; cert: string },
): Promise<Served> {
  const requests: IncomingMessage[] = [];
  const closed: IncomingMessage[] = [];
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    requests.push(req);
    res.once('close', () => closed.push(req));
    handler(req, res);
  };
  const server = tls === undefined ? createServer(onRequest) : createHttpsServer(tls, onRequest);
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}/v1/stream?since=7`,
    requests,
    closed,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

function eventStream(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.flushHeaders();
}

interface Followed {
  readonly follower: SseFollower;
  readonly events: SseEvent[];
  readonly lost: string[];
  readonly calls: string[];
}

/** A follower of `url` (one connection per test: the backoff is far longer than any test). */
function follow(url: string, extra: Partial<SseFollowerOptions> = {}): Followed {
  const events: SseEvent[] = [];
  const lost: string[] = [];
  const calls: string[] = [];
  const follower = new SseFollower({
    idleTimeoutMs: 30_000,
    backoff: { initialMs: 600_000, maxMs: 600_000 },
    connect: () => ({ url, headers: { accept: 'text/event-stream', authorization: 'Bearer t' } }),
    onConnecting: () => calls.push('connecting'),
    onOpen: () => calls.push('open'),
    onAlive: () => calls.push('alive'),
    onEvent: (event) => events.push(event),
    onLost: (reason) => lost.push(reason),
    ...extra,
  });
  followers.push(follower);
  follower.start();
  return { follower, events, lost, calls };
}

const lostOne = (f: Followed) => waitFor('the connection lost', () => f.lost[0]);

describe('SseFollower', () => {
  it('reads events as they come; the server ending the stream is a loss', async () => {
    let stream: ServerResponse | null = null;
    const s = await serve((_req, res) => {
      eventStream(res);
      stream = res;
    });
    const f = follow(s.url);
    const res = await waitFor('the stream', () => stream);
    res.write('event: a\ndata: 1\n\n');
    await waitFor('the first event', () => f.events.length === 1);
    // One event split across two writes, then two in one.
    res.write('event: b\nda');
    res.write('ta: 2\n\nevent: c\ndata: 3\n\n');
    res.end();
    expect(await lostOne(f)).toBe('the server ended the stream');
    expect(f.events.map((e) => [e.type, e.data])).toEqual([
      ['a', '1'],
      ['b', '2'],
      ['c', '3'],
    ]);
    expect(f.calls).toEqual(['connecting', 'open', 'alive']);
    const req = s.requests[0]!;
    expect([req.method, req.url]).toEqual(['GET', '/v1/stream?since=7']);
    expect(req.headers).toMatchObject({ accept: 'text/event-stream', authorization: 'Bearer t' });
  });

  it('reads a refusal with its status, content type and body', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end('{"message":"not yours"}');
    });
    const seen: unknown[] = [];
    const f = follow(s.url, {
      refusal: (status, type, body) => {
        seen.push([status, type, body]);
        return `refused: ${status} ${body}`;
      },
    });
    expect(await lostOne(f)).toBe('refused: 403 {"message":"not yours"}');
    expect(seen).toEqual([[403, 'application/json', '{"message":"not yours"}']]);
    expect(f.calls).toEqual(['connecting']);
  });

  it('by default names the status, or the content type of a 200 that is not an event stream', async () => {
    const status = await serve((_req, res) => {
      res.writeHead(500).end('boom');
    });
    expect(await lostOne(follow(status.url))).toBe('HTTP 500');
    const type = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'Text/Plain' }).end('hello');
    });
    expect(await lostOne(follow(type.url))).toBe('expected text/event-stream, got "text/plain"');
  });

  it('drops a connection silent past idleTimeoutMs, with that reason', async () => {
    const s = await serve((_req, res) => {
      eventStream(res);
      res.write(': keepalive\n\n');
    });
    const f = follow(s.url, { idleTimeoutMs: 300 });
    expect(await lostOne(f)).toBe('no data for 300 ms');
    expect(f.calls).toEqual(['connecting', 'open', 'alive']);
    await waitFor('the server to see the connection closed', () => s.closed.length === 1);
  });

  it('lets the caller end a connection through its AbortController', async () => {
    const s = await serve((_req, res) => {
      eventStream(res);
      res.write('data: 1\n\ndata: 2\n\n');
    });
    const aborted: boolean[] = [];
    const f = follow(s.url, {
      onEvent: (_event, connection) => {
        aborted.push(connection.signal.aborted);
        connection.abort(new Error('resync for a full snapshot'));
      },
    });
    expect(await lostOne(f)).toBe('resync for a full snapshot');
    // Both events were in one chunk: the second came with its connection already aborted.
    expect(aborted).toEqual([false, true]);
    await waitFor('the server to see the connection closed', () => s.closed.length === 1);
  });

  it('ends a connection whose event callback throws, with its error', async () => {
    const s = await serve((_req, res) => {
      eventStream(res);
      res.write('data: x\n\n');
    });
    const f = follow(s.url, {
      onEvent: () => {
        throw new Error('a bad assignments event: not JSON');
      },
    });
    expect(await lostOne(f)).toBe('a bad assignments event: not JSON');
    await waitFor('the server to see the connection closed', () => s.closed.length === 1);
  });

  it('names the cause of a connection that fails', async () => {
    const s = await serve(() => {});
    await s.close(); // nothing listens on its port any more
    const reason = await lostOne(follow(s.url));
    expect(reason).toContain('ECONNREFUSED');
  });

  it('stop() ends an open connection and the loop, without a loss', async () => {
    const s = await serve((_req, res) => eventStream(res));
    const f = follow(s.url);
    await waitFor('the connection open', () => f.calls.includes('open'));
    await f.follower.stop();
    await waitFor('the server to see the connection closed', () => s.closed.length === 1);
    expect(f.lost).toEqual([]);
  });

  it('trusts a custom CA for https, and only with it', async () => {
    const { cert, key } = selfSignedCert(dir);

    const tls = { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
    const s = await serve((_req, res) => {
      eventStream(res);
      res.end('data: over tls\n\n');
    }, tls);
    const trusted = follow(s.url, { ca: tls.cert });
    expect(await lostOne(trusted)).toBe('the server ended the stream');
    expect(trusted.events.map((e) => e.data)).toEqual(['over tls']);
    const untrusted = follow(s.url);
    expect(await lostOne(untrusted)).toMatch(/certificate/);
    expect(untrusted.events).toEqual([]);
  });
});
