// `turnout load` on the real bin against a small real upstream on 127.0.0.1 that answers as the
// example services do (its name, version and lane, and what it called): the summary by lane and
// by version, its bounds (max requests, duration, rate), the lane header, failures, and bad flags
// refused naming the flag before anything is sent.

import type { IncomingHttpHeaders, Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LoadFlags } from '../../src/cli/load-flags.js';
import { parseLoadFlags } from '../../src/cli/load-flags.js';
import { turnout } from '../cli/run.js';
import { ensureBuilt } from '../support/build.js';
import { freePort } from '../support/turnout-up.js';

/** The upstream: web 1.0.0 calling orders (2.0.0 in lane t-7, reached with x-prerelease: s3cret). */
function upstream(seen: IncomingHttpHeaders[]): Server {
  return createServer((req, res) => {
    seen.push(req.headers);
    const inLane = req.headers['x-prerelease'] === 's3cret';
    if (req.url === '/broken') {
      res.writeHead(503, { 'x-turnout-error': 'no_endpoints' }).end('no endpoints');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        service: 'web',
        version: '1.0.0',
        lane: inLane ? 't-7' : null,
        calls: [{ service: 'orders', version: inLane ? '2.0.0' : '1.0.0', lane: null }],
      }),
    );
  });
}

interface Summary {
  requests: number;
  ok: number;
  failed: number;
  users: number;
  elapsedMs: number;
  lanes: { lane: string; requests: number; users: number; failed: number }[];
  versions: { module: string; version: string; lane: string; requests: number }[];
  errors: { reason: string; requests: number }[];
}

describe('turnout load', () => {
  const seen: IncomingHttpHeaders[] = [];
  let server: Server;
  let edge: string;
  const load = (...args: string[]) => turnout('load', '--edge', edge, ...args);

  beforeAll(async () => {
    await ensureBuilt();
    server = upstream(seen);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    edge = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }, 180_000);

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  beforeEach(() => {
    seen.length = 0;
  });

  it('sends max-requests requests as the users, and sums them by lane and version', async () => {
    const run = await load('--users', '5', '--rate', '200', '--max-requests', '40', '--json');
    expect(run.code, run.stderr).toBe(0);
    const s = JSON.parse(run.stdout) as Summary;
    expect(s).toMatchObject({ requests: 40, ok: 40, failed: 0, users: 5 });
    expect(s.lanes).toEqual([{ lane: 'stable', requests: 40, users: 5, failed: 0 }]);
    expect(s.versions).toEqual([
      { module: 'orders', version: '1.0.0', lane: 'stable', requests: 40 },
      { module: 'web', version: '1.0.0', lane: 'stable', requests: 40 },
    ]);
    // What the upstream saw: every request, each user 8 times, for the product's host.
    expect(seen).toHaveLength(40);
    const users = seen.map((h) => h['x-user-id']);
    expect(new Set(users)).toEqual(new Set(['u0', 'u1', 'u2', 'u3', 'u4']));
    for (const u of new Set(users)) expect(users.filter((x) => x === u)).toHaveLength(8);
    expect(new Set(seen.map((h) => h.host))).toEqual(new Set(['shop.localhost']));
  });

  it('rides a lane with its header and prints the tables for people', async () => {
    const run = await load(
      '--host',
      'admin.localhost',
      '--users',
      '3',
      '--user-prefix',
      'qa-',
      '--rate',
      '100',
      '--max-requests',
      '9',
      '--header',
      'x-prerelease: s3cret',
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^9 requests to admin\.localhost at http:\/\/127\.0\.0\.1:\d+ in /);
    expect(run.stdout).toContain('from 3 users: 9 ok, 0 failed');
    const rows = run.stdout.split('\n').map((l) => l.split(/\s+/));
    expect(rows).toContainEqual(['LANE', 'REQUESTS', 'USERS', 'FAILED']);
    expect(rows).toContainEqual(['t-7', '9', '3', '0']);
    expect(rows).toContainEqual(['orders', '2.0.0', 't-7', '9']);
    expect(seen.every((h) => h['x-prerelease'] === 's3cret' && h.host === 'admin.localhost')).toBe(
      true,
    );
    expect(new Set(seen.map((h) => h['x-user-id']))).toEqual(new Set(['qa-0', 'qa-1', 'qa-2']));
  });

  it('is paced to --rate: 10 requests at 20/s take at least 9 intervals', async () => {
    const run = await load('--rate', '20', '--max-requests', '10', '--json');
    expect(run.code, run.stderr).toBe(0);
    const s = JSON.parse(run.stdout) as Summary;
    expect(s.requests).toBe(10);
    // A lower bound only: a busy machine makes it slower, never faster.
    expect(s.elapsedMs).toBeGreaterThanOrEqual(9 * 50 - 5);
  });

  it('ends by --duration: never more than rate × duration requests', async () => {
    const run = await load('--rate', '10', '--duration', '300ms', '--json');
    expect(run.code, run.stderr).toBe(0);
    const s = JSON.parse(run.stdout) as Summary;
    expect(s.requests).toBeGreaterThanOrEqual(1);
    expect(s.requests).toBeLessThanOrEqual(3);
    expect(seen.length).toBe(s.requests);
  });

  it('counts failures with the proxy error code', async () => {
    const run = await load('--path', '/broken', '--max-requests', '4', '--rate', '100', '--json');
    expect(run.code, run.stderr).toBe(0);
    const s = JSON.parse(run.stdout) as Summary;
    expect(s).toMatchObject({ requests: 4, ok: 0, failed: 4 });
    expect(s.errors).toEqual([{ reason: '503 no_endpoints', requests: 4 }]);
    expect(s.versions).toEqual([]);
  });

  it('refuses a bad flag naming it, before sending anything', async () => {
    const run = await load('--users', '0', '--json');
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stderr)).toEqual({
      error: {
        code: 'invalid_argument',
        message: expect.stringContaining('--users 0: a whole number from 1 to'),
        field: 'users',
      },
    });
    const text = await load('--header', 'host: evil', '--rate', '5');
    expect(text.code).toBe(2);
    expect(text.stderr).toContain('--header host: evil: the Host header is --host');
    expect(seen).toEqual([]);
  });

  it('says the edge answered nothing when nothing listens there', async () => {
    const port = await freePort();
    const run = await turnout('load', '--edge', `http://127.0.0.1:${port}`, '--max-requests', '2');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`--edge http://127.0.0.1:${port}: no request was answered`);
  });
});

describe('turnout load flags', () => {
  const flags = (over: Partial<LoadFlags> = {}): LoadFlags => ({
    edge: 'http://127.0.0.1:8080',
    host: 'shop.localhost',
    path: '/',
    users: '100',
    rate: '10',
    duration: '10s',
    concurrency: '4',
    userPrefix: 'u',
    header: [],
    ...over,
  });

  it('defaults to a bound of rate × duration requests', () => {
    expect(parseLoadFlags(flags())).toMatchObject({
      edge: 'http://127.0.0.1:8080',
      users: 100,
      rate: 10,
      durationMs: 10_000,
      maxRequests: 100,
      headers: {},
    });
    expect(parseLoadFlags(flags({ rate: '2.5/s', duration: '1s' })).maxRequests).toBe(3);
    expect(parseLoadFlags(flags({ header: ['X-Prerelease:  abc '] })).headers).toEqual({
      'x-prerelease': 'abc',
    });
  });

  const cases: [Partial<LoadFlags>, string, string][] = [
    [{ users: '0' }, 'users', 'a whole number from 1 to 1000000'],
    [{ users: '1.5' }, 'users', 'a whole number'],
    [{ users: '2000000' }, 'users', 'a whole number from 1 to 1000000'],
    [{ rate: '0' }, 'rate', 'above 0 and at most 1000'],
    [{ rate: '5000' }, 'rate', 'above 0 and at most 1000'],
    [{ rate: 'fast' }, 'rate', 'requests per second'],
    [{ duration: 'soon' }, 'duration', 'a duration such as'],
    [{ duration: '2h' }, 'duration', 'from 1ms to 1h'],
    [{ duration: '0s' }, 'duration', 'from 1ms to 1h'],
    [{ maxRequests: '-1' }, 'max-requests', 'a whole number'],
    [{ maxRequests: '20000000' }, 'max-requests', 'a whole number from 1 to 10000000'],
    [{ concurrency: '65' }, 'concurrency', 'a whole number from 1 to 64'],
    [{ edge: 'ftp://127.0.0.1' }, 'edge', 'an http:// or https:// URL'],
    [{ edge: 'nope' }, 'edge', 'a URL such as'],
    [{ edge: 'http://u:p@127.0.0.1' }, 'edge', 'no user or password'],
    [{ edge: 'http://127.0.0.1:8080/orders' }, 'edge', 'without a path'],
    [{ host: 'shop localhost' }, 'host', 'a host name'],
    [{ host: '' }, 'host', 'a host name'],
    [{ path: 'orders' }, 'path', 'an absolute path'],
    [{ path: '/a b' }, 'path', 'an absolute path'],
    [{ userPrefix: 'a b' }, 'user-prefix', 'letters, digits'],
    [{ header: ['novalue'] }, 'header', "expected 'name: value'"],
    [{ header: ['x-a: b\r\nx-b: c'] }, 'header', 'no control characters'],
    [{ header: ['Host: other'] }, 'header', 'the Host header is --host'],
    [{ header: ['x-user-id: me'] }, 'header', 'set per user'],
  ];
  it.each(cases)('refuses %o naming --%s', (over, field, why) => {
    let error: unknown;
    try {
      parseLoadFlags(flags(over));
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'invalid_argument', field });
    expect((error as Error).message).toContain(why);
  });
});
