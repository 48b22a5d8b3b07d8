// The routes the dashboard needs beyond the resources, over real HTTP on SQLite: who a token is
// (GET /v1/whoami), what changed (GET /v1/events, Server-Sent Events), and how a request would be
// routed (POST /v1/explain, against the snapshot the control plane publishes).

import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import type { KeySample } from '../../src/release/stats-sample.js';
import { StatsWindow } from '../../src/release/stats-window.js';
import { waitFor } from '../support/wait.js';
import type { Answer, Api, StartApiOptions } from './harness.js';
import { startApi, TOKENS } from './harness.js';

const opened: Api[] = [];
afterEach(async () => {
  for (const api of opened.splice(0).reverse()) await api.close();
});

async function serve(options: StartApiOptions = {}): Promise<Api> {
  const api = await startApi(options);
  opened.push(api);
  return api;
}

function expectError(a: Answer, status: number, code: string, field?: string) {
  expect(a.status, JSON.stringify(a.body)).toBe(status);
  expect(a.body.error.code).toBe(code);
  if (field !== undefined) expect(a.body.error.field).toBe(field);
}

describe('instances with the load the proxies report', () => {
  it('shows requests under way per instance (by its address), 0 for one without any', async () => {
    const load = new Map([['127.0.0.1:7001', 3]]);
    const api = await serve({ inFlight: () => load });
    await api.store.createOrg({ name: 'acme' }, 'ada');
    await api.store.createModule(
      { name: 'orders', org: 'acme', run: { process: { command: 'node' } } },
      'ada',
    );
    await api.store.createVersion({ module: 'orders', version: '1.0.0' }, 'ada');
    const instances: [string, string][] = [
      ['a', '127.0.0.1:7001'],
      ['b', '127.0.0.1:7002'],
    ];
    for (const [id, address] of instances) {
      await api.store.createInstance(
        { id, module: 'orders', version: '1.0.0', host: 'h', address },
        'ada',
      );
    }
    const list = await api.call('GET', '/v1/instances', { as: 'viewer' });
    expect(
      list.body.items.map((i: { id: string; inFlight: number }) => [i.id, i.inFlight]),
    ).toEqual([
      ['a', 3],
      ['b', 0],
    ]);
    expect((await api.call('GET', '/v1/instances/a', { as: 'viewer' })).body.inFlight).toBe(3);
    load.set('127.0.0.1:7001', 0);
    expect((await api.call('GET', '/v1/instances/a', { as: 'viewer' })).body.inFlight).toBe(0);
  });

  it('leaves the field out without a stats source', async () => {
    const api = await serve();
    await api.store.createOrg({ name: 'acme' }, 'ada');
    await api.store.createModule(
      { name: 'orders', org: 'acme', run: { process: { command: 'node' } } },
      'ada',
    );
    await api.store.createVersion({ module: 'orders', version: '1.0.0' }, 'ada');
    await api.store.createInstance(
      { id: 'a', module: 'orders', version: '1.0.0', host: 'h', address: '127.0.0.1:7001' },
      'ada',
    );
    expect((await api.call('GET', '/v1/instances/a', { as: 'viewer' })).body).not.toHaveProperty(
      'inFlight',
    );
  });
});

describe('GET /v1/whoami', () => {
  it("answers each token's name and role", async () => {
    const api = await serve();
    const who = async (as: keyof typeof TOKENS) =>
      (await api.call('GET', '/v1/whoami', { as })).body;
    expect(await who('viewer')).toEqual({ name: 'vic', role: 'viewer' });
    expect(await who('releaser')).toEqual({ name: 'rey', role: 'releaser' });
    expect(await who('admin')).toEqual({ name: 'ada', role: 'admin' });
  });

  it('needs a known token', async () => {
    const api = await serve();
    expectError(await api.call('GET', '/v1/whoami', { as: null }), 401, 'unauthorized');
    expectError(await api.call('GET', '/v1/whoami', { token: 'nope' }), 401, 'unauthorized');
  });

  it('answers the local admin in insecure local mode', async () => {
    const api = await serve({ auth: { insecureLocal: true } });
    const a = await api.call('GET', '/v1/whoami', { as: null });
    expect(a.status).toBe(200);
    expect(a.body).toEqual({ name: 'local', role: 'admin' });
  });
});

interface Frame {
  event: string | null;
  data: string | null;
  comment: string | null;
}

/** An SSE client as the dashboard has one: a plain request with the token in Authorization. */
async function openEvents(api: Api, as: keyof typeof TOKENS = 'viewer') {
  const controller = new AbortController();
  const res = await request(`${api.url}/v1/events`, {
    headers: { authorization: `Bearer ${TOKENS[as]}` },
    signal: controller.signal,
  });
  const frames: Frame[] = [];
  const waiter: { wake: (() => void) | null } = { wake: null };
  let buffer = '';
  const reading = (async () => {
    try {
      for await (const chunk of res.body) {
        buffer += chunk.toString();
        for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
          const frame: Frame = { event: null, data: null, comment: null };
          for (const line of buffer.slice(0, end).split('\n')) {
            if (line.startsWith(':')) frame.comment = line.slice(1).trim();
            else if (line.startsWith('event: ')) frame.event = line.slice(7);
            else if (line.startsWith('data: ')) frame.data = line.slice(6);
          }
          buffer = buffer.slice(end + 2);
          frames.push(frame);
          waiter.wake?.();
        }
      }
    } catch {
      // aborted
    }
  })();
  let seen = 0;
  return {
    status: res.statusCode,
    headers: res.headers,
    frames,
    /** The next frame (after those already taken) that `match` accepts; `ms` bounds a hang. */
    async next(match: (f: Frame) => boolean, ms = 20_000): Promise<Frame> {
      const deadline = Date.now() + ms;
      for (;;) {
        while (seen < frames.length) {
          const f = frames[seen++]!;
          if (match(f)) return f;
        }
        const left = deadline - Date.now();
        if (left <= 0)
          throw new Error(`no matching frame within ${ms} ms: ${JSON.stringify(frames)}`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          waiter.wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
    },
    async close() {
      controller.abort();
      await reading;
    },
  };
}

const isChange = (f: Frame) => f.event === 'change';
const versionOf = (f: Frame) => (JSON.parse(f.data ?? '{}') as { version: number }).version;

describe('GET /v1/events', () => {
  it('tells every connected client about a write, with the new change version, at once', async () => {
    const api = await serve();
    const a = await openEvents(api);
    const b = await openEvents(api, 'admin');
    try {
      expect(a.status).toBe(200);
      expect(a.headers['content-type']).toMatch(/^text\/event-stream/);
      expect(a.headers['cache-control']).toBe('no-cache');
      const v0 = await api.store.changeVersion();
      expect(versionOf(await a.next(isChange))).toBe(v0);
      expect(versionOf(await b.next(isChange))).toBe(v0);

      // (How soon is not bounded here: the write wakes the publisher before its answer goes out,
      // and the publisher also polls every 15 ms, so a time bound could tell nothing apart.)
      expect((await api.call('POST', '/v1/orgs', { body: { name: 'acme' } })).status).toBe(201);
      const v1 = await api.store.changeVersion();
      expect(v1).toBeGreaterThan(v0);
      const [fa, fb] = await Promise.all([
        a.next((f) => isChange(f) && versionOf(f) >= v1),
        b.next((f) => isChange(f) && versionOf(f) >= v1),
      ]);
      expect(versionOf(fa)).toBe(v1);
      expect(versionOf(fb)).toBe(v1);
      expect(fa.data).toBe(`{"version":${v1}}`);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('also reports writes made outside the API (workers write the store directly)', async () => {
    const api = await serve();
    const a = await openEvents(api);
    try {
      const v0 = versionOf(await a.next(isChange));
      await api.store.transaction((tx) => tx.createOrg({ name: 'direct' }, 'worker'));
      const f = await a.next((x) => isChange(x) && versionOf(x) > v0);
      expect(versionOf(f)).toBe(await api.store.changeVersion());
    } finally {
      await a.close();
    }
  });

  it('sends keepalive comments', async () => {
    const api = await serve({ events: { keepaliveMs: 100 } });
    const a = await openEvents(api);
    try {
      // 100 ms configured; 10 s only tells it from the 15 s default.
      const f = await a.next((x) => x.comment !== null, 10_000);
      expect(f).toEqual({ event: null, data: null, comment: 'keepalive' });
    } finally {
      await a.close();
    }
  });

  it('sends a traffic event when the stats window gets new data', async () => {
    const window = new StatsWindow();
    const api = await serve({ statsWindow: window, events: { trafficIntervalMs: 100 } });
    const a = await openEvents(api);
    try {
      await a.next(isChange);
      const key = { product: 'shop', lane: 'stable', module: 'web', version: '1.0.0' };
      const sample = (requests: number): KeySample => ({
        key,
        requests,
        errors: 0,
        buckets: [
          [50, requests],
          [Number.POSITIVE_INFINITY, requests],
        ],
      });
      window.ingest('p', { keys: [sample(0)], configVersion: null }, Date.now() - 1000);
      const before = Date.now();
      window.ingest('p', { keys: [sample(25)], configVersion: null }, Date.now());
      const f = await a.next((x) => x.event === 'traffic');
      const at = (JSON.parse(f.data ?? '{}') as { at: number }).at;
      expect(at).toBeGreaterThanOrEqual(before);
      expect(at).toBeLessThanOrEqual(Date.now());
    } finally {
      await a.close();
    }
  });

  it('bounds the open streams, and a client that went away frees its place', async () => {
    const api = await serve({ events: { maxClients: 1 } });
    const a = await openEvents(api);
    await a.next(isChange);
    const refused = await api.call('GET', '/v1/events', { as: 'viewer' });
    expectError(refused, 503, 'overloaded');
    expect(refused.headers['retry-after']).toBe('5');
    await a.close();
    // The server learns of the disconnect asynchronously: retry until it has.
    const b = await waitFor(
      'the closed stream to be cleaned up',
      async () => {
        const attempt = await openEvents(api);
        if (attempt.status === 200) return attempt;
        await attempt.close();
        return null;
      },
      { everyMs: 50 },
    );
    try {
      await b.next(isChange);
      // and it is a working stream: the next write arrives
      await api.call('POST', '/v1/orgs', { body: { name: 'later' } });
      const v = await api.store.changeVersion();
      await b.next((f) => isChange(f) && versionOf(f) === v);
    } finally {
      await b.close();
    }
  });

  it('needs a token', async () => {
    const api = await serve();
    expectError(await api.call('GET', '/v1/events', { as: null }), 401, 'unauthorized');
    expectError(await api.call('GET', '/v1/events', { token: 'wrong' }), 401, 'unauthorized');
  });
});

describe('POST /v1/explain', () => {
  /** shop (web → account): stable on 1.0.0, lane dev sends web to 2.0.0 for `x-dev: 1`. */
  async function shopWithLane(): Promise<Api> {
    const api = await serve();
    const ok = async (p: Promise<Answer>) => {
      const a = await p;
      expect(a.status, JSON.stringify(a.body)).toBeLessThan(300);
    };
    const proc = { process: { command: 'node' } };
    await ok(api.call('POST', '/v1/orgs', { body: { name: 'acme' } }));
    await ok(
      api.call('POST', '/v1/modules', { body: { name: 'account', org: 'acme', run: proc } }),
    );
    await ok(
      api.call('POST', '/v1/modules', {
        body: { name: 'web', org: 'acme', calls: ['account'], run: proc },
      }),
    );
    await ok(
      api.call('POST', '/v1/products', {
        body: {
          name: 'shop',
          org: 'acme',
          entry: 'web',
          hosts: ['shop.example.com'],
          baseDtab: '/svc/web => /v/web/1.0.0; /svc/account => /v/account/1.0.0;',
        },
      }),
    );
    for (const [m, v] of [
      ['account', '1.0.0'],
      ['web', '1.0.0'],
      ['web', '2.0.0'],
    ]) {
      await ok(api.call('POST', `/v1/modules/${m}/versions`, { body: { version: v } }));
    }
    await ok(
      api.call('POST', '/v1/instances', {
        as: 'releaser',
        body: {
          id: 'web-2',
          module: 'web',
          version: '2.0.0',
          host: 'h1',
          address: '127.0.0.1:9002',
          state: 'ready',
          health: 'healthy',
        },
      }),
    );
    await ok(
      api.call('POST', '/v1/products/shop/lanes', {
        as: 'releaser',
        body: {
          name: 'dev',
          overlay: '/svc/web => /v/web/2.0.0;',
          rules: [
            { lane: 'dev', query: { name: 'beta', equals: 'yes' } },
            { lane: 'dev', header: { name: 'x-dev', equals: '1' } },
          ],
        },
      }),
    );
    return api;
  }

  it('routes a request with the header into the lane: every rule, the dtab, the delegation', async () => {
    const api = await shopWithLane();
    const a = await api.call('POST', '/v1/explain', {
      as: 'viewer',
      body: { host: 'shop.example.com', path: '/checkout', headers: { 'X-Dev': '1' } },
    });
    expect(a.status, JSON.stringify(a.body)).toBe(200);
    expect(a.body.snapshotVersion).toBe(await api.store.changeVersion());
    expect(a.body).toMatchObject({ product: 'shop', name: '/svc/web', path: '/checkout' });
    expect(a.body.lane).toMatchObject({ lane: 'dev', ruleIndex: 1, known: true });
    expect(a.body.lane.rules).toEqual([
      expect.objectContaining({ index: 0, lane: 'dev', matched: false, wouldMatch: false }),
      expect.objectContaining({ index: 1, lane: 'dev', matched: true, wouldMatch: true }),
    ]);
    expect(a.body.lane.rules[1].rule).toContain('x-dev');
    // The lane's overlay comes after the base dtab, so it wins.
    expect(a.body.dtab).toEqual([
      '/svc/web=>/v/web/1.0.0',
      '/svc/account=>/v/account/1.0.0',
      '/svc/web=>/v/web/2.0.0',
    ]);
    const root = a.body.explanation;
    expect(root).toMatchObject({ path: '/svc/web', via: null, outcome: 'bound' });
    expect(JSON.stringify(root)).toContain('"via":"/svc/web=>/v/web/2.0.0"');
    expect(a.body.result).toMatchObject({ state: 'ok', addresses: ['127.0.0.1:9002'] });
  });

  it('without the header the request stays on stable, and says why per rule', async () => {
    const api = await shopWithLane();
    const a = await api.call('POST', '/v1/explain', {
      as: 'viewer',
      body: { host: 'SHOP.example.com:8080', path: '/' },
    });
    expect(a.status, JSON.stringify(a.body)).toBe(200);
    expect(a.body.lane).toMatchObject({ lane: null, ruleIndex: null, known: true });
    expect(a.body.lane.rules.map((r: { matched: boolean }) => r.matched)).toEqual([false, false]);
    expect(a.body.dtab).toEqual(['/svc/web=>/v/web/1.0.0', '/svc/account=>/v/account/1.0.0']);
    // web 1.0.0 has no instance: delegation reaches it, but nothing serves it.
    expect(JSON.stringify(a.body.explanation)).toContain('/v/web/1.0.0');
  });

  it('takes the query from path or from query, and another logical name with name', async () => {
    const api = await shopWithLane();
    const viaPath = await api.call('POST', '/v1/explain', {
      as: 'viewer',
      body: { host: 'shop.example.com', path: '/x?beta=yes' },
    });
    expect(viaPath.body.lane).toMatchObject({ lane: 'dev', ruleIndex: 0 });
    const viaQuery = await api.call('POST', '/v1/explain', {
      as: 'viewer',
      body: { host: 'shop.example.com', path: '/x', query: 'beta=yes', name: '/svc/account' },
    });
    expect(viaQuery.body.lane).toMatchObject({ lane: 'dev', ruleIndex: 0 });
    expect(viaQuery.body.name).toBe('/svc/account');
    expect(viaQuery.body.explanation).toMatchObject({ path: '/svc/account' });
  });

  it('explains against the snapshot published now: a lane change shows at once', async () => {
    const api = await shopWithLane();
    const put = await api.call('PUT', '/v1/products/shop/lanes/dev', {
      as: 'releaser',
      body: { overlay: '', rules: [{ lane: 'dev', header: { name: 'x-other', equals: '1' } }] },
    });
    expect(put.status).toBe(200);
    const a = await api.call('POST', '/v1/explain', {
      as: 'viewer',
      body: { host: 'shop.example.com', path: '/', headers: { 'x-dev': '1' } },
    });
    expect(a.body.lane).toMatchObject({ lane: null });
    expect(a.body.lane.rules).toHaveLength(1);
  });

  // Regression (issue 11): a releaser's `^(a+)+$` and a viewer's 28-byte header stalled the
  // control plane (and the engine in it) for seconds; this header would take V8 for ever.
  it('matches a backtracking-prone rule in linear time, and refuses what RE2 cannot run', async () => {
    const api = await shopWithLane();
    const rules = (regex: string) => [{ lane: 'dev', header: { name: 'x-dev', regex } }];
    const put = await api.call('PUT', '/v1/products/shop/lanes/dev', {
      as: 'releaser',
      body: { overlay: '', rules: rules('^(a+)+$') },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const explain = (value: string) =>
      api.call('POST', '/v1/explain', {
        as: 'viewer',
        body: { host: 'shop.example.com', path: '/', headers: { 'x-dev': value } },
      });
    expect((await explain(`${'a'.repeat(200)}!`)).body.lane).toMatchObject({ lane: null });
    expect((await explain('a'.repeat(200))).body.lane).toMatchObject({ lane: 'dev' });
    const before = await api.store.changeVersion();
    const refused = await api.call('PUT', '/v1/products/shop/lanes/dev', {
      as: 'releaser',
      body: { overlay: '', rules: rules('^(a)\\1$') },
    });
    expectError(refused, 400, 'invalid_argument', 'rules[0].header.regex');
    expect(JSON.stringify(refused.body)).toContain('RE2');
    expect(await api.store.changeVersion()).toBe(before);
  });

  it('names the field of a bad input', async () => {
    const api = await shopWithLane();
    const explainAs = (body: unknown) => api.call('POST', '/v1/explain', { as: 'viewer', body });
    expectError(await explainAs({ host: 'nope.example.com', path: '/' }), 404, 'not_found', 'host');
    expectError(
      await explainAs({ host: 'shop.example.com', path: 'checkout' }),
      400,
      'invalid_argument',
      'path',
    );
    expectError(
      await explainAs({ host: 'shop.example.com', path: '/a b' }),
      400,
      'invalid_argument',
      'path',
    );
    expectError(await explainAs({ path: '/' }), 400, 'invalid_argument', 'host');
    expectError(await explainAs({ host: 'a b', path: '/' }), 400, 'invalid_argument', 'host');
    expectError(
      await explainAs({ host: 'shop.example.com', path: '/', headers: { 'bad name': '1' } }),
      400,
      'invalid_argument',
      'headers.bad name',
    );
    expectError(
      await explainAs({ host: 'shop.example.com', path: '/', clientIp: 'localhost' }),
      400,
      'invalid_argument',
      'clientIp',
    );
    expectError(
      await explainAs({ host: 'shop.example.com', path: '/?a=1', query: 'a=2' }),
      400,
      'invalid_argument',
      'query',
    );
    expectError(
      await explainAs({ host: 'shop.example.com', path: '/', name: 'svc/web' }),
      400,
      'invalid_argument',
      'name',
    );
    expectError(
      await explainAs({ host: 'shop.example.com', path: '/', laneName: 'dev' }),
      400,
      'invalid_argument',
      'laneName',
    );
    expectError(
      await explainAs({ host: 'shop.example.com', product: 'shop', path: '/' }),
      400,
      'invalid_argument',
      'product',
    );
    expectError(await explainAs({ product: 'nope', path: '/' }), 404, 'not_found', 'product');
  });

  it('asks by product instead of host, and in a given lane (what `route explain` sends)', async () => {
    const api = await shopWithLane();
    const a = await api.call('POST', '/v1/explain', {
      as: 'viewer',
      body: { product: 'shop', path: '/', lane: 'dev' },
    });
    expect(a.status, JSON.stringify(a.body)).toBe(200);
    expect(a.body).toMatchObject({
      host: null,
      product: 'shop',
      lane: { lane: 'dev', ruleIndex: null, reason: 'given with lane', rules: [] },
    });
    const byHost = await api.call('POST', '/v1/explain', {
      as: 'viewer',
      body: { host: 'shop.example.com', path: '/', lane: 'dev' },
    });
    // Named by product or by the host that serves it, the same lane routes the same way: the
    // lane's overlay sends web to 2.0.0.
    expect(a.body.result).toMatchObject({ state: 'ok', tree: '/v/web/2.0.0' });
    expect(a.body.dtab).toEqual(byHost.body.dtab);
    expect(a.body.result).toEqual(byHost.body.result);
  });

  it('needs a token; a viewer may ask', async () => {
    const api = await shopWithLane();
    const body = { host: 'shop.example.com', path: '/' };
    expectError(await api.call('POST', '/v1/explain', { as: null, body }), 401, 'unauthorized');
    expect((await api.call('POST', '/v1/explain', { as: 'viewer', body })).status).toBe(200);
  });
});
