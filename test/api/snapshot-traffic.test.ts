// The API's snapshot routes and traffic routes over real HTTP on a SQLite store: writes wake the
// server's one publisher at once, GET /v1/snapshot long-polls (200 / 304 / resume / lease
// republish / bounds / close), and /v1/traffic answers from a StatsWindow.

import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApiServer } from '../../src/api/server.js';
import { SnapshotPublisher } from '../../src/control/publisher.js';
import type { KeySample } from '../../src/release/stats-sample.js';
import { StatsWindow } from '../../src/release/stats-window.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import { waitFor } from '../support/wait.js';
import { TEST_AUTH, TOKENS } from './harness.js';

let dir: string;
let store: Store;
const closers: (() => Promise<void> | void)[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'turnout-snapshot-'));
  store = await openSqliteStore(join(dir, 'turnout.db'));
});
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function serve(
  options: { publisher?: SnapshotPublisher; statsWindow?: StatsWindow } = {},
): Promise<{ app: FastifyInstance; url: string }> {
  const app = await createApiServer({ store, auth: TEST_AUTH, ...options });
  await app.listen({ host: '127.0.0.1', port: 0 });
  closers.push(() => app.close());
  return { app, url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
}

async function call(
  url: string,
  path: string,
  init: { method?: 'GET' | 'POST'; body?: unknown; as?: keyof typeof TOKENS | null } = {},
) {
  const headers: Record<string, string> = {};
  const as = init.as === undefined ? 'admin' : init.as;
  if (as !== null) headers.authorization = `Bearer ${TOKENS[as]}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const started = performance.now();
  const res = await request(`${url}${path}`, {
    method: init.method ?? 'GET',
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    tag: res.headers['x-turnout-snapshot'],
    // biome-ignore lint/suspicious/noExplicitAny: assertions read arbitrary JSON
    body: (text === '' ? undefined : JSON.parse(text)) as any,
    ms: performance.now() - started,
  };
}

describe('API writes wake the config stream', () => {
  it('a 2xx write is in /v1/snapshot when its answer arrives, with polling out of the picture', async () => {
    // This publisher never polls: only the API's notify can make it see a change.
    const publisher = new SnapshotPublisher(store, { pollIntervalMs: 2_000_000_000 });
    await publisher.start();
    closers.push(() => publisher.stop());
    const { url } = await serve({ publisher });
    const first = await call(url, '/v1/snapshot');
    expect(first.status).toBe(200);
    const v0 = first.body.version as number;
    expect(first.tag).toBe(`${v0}.0`);

    expect((await call(url, '/v1/orgs', { method: 'POST', body: { name: 'acme' } })).status).toBe(
      201,
    );
    expect(
      (
        await call(url, '/v1/modules', {
          method: 'POST',
          body: { name: 'web', org: 'acme', run: { process: { command: 'node' } } },
        })
      ).status,
    ).toBe(201);
    const after = await call(url, `/v1/snapshot?since=${v0}&waitMs=0`);
    expect(after.status).toBe(200);
    expect(after.body.version).toBe(v0 + 2);
    expect(after.body.modules.map((m: { name: string }) => m.name)).toEqual(['web']);

    // A rejected write changes nothing, and a read wakes nothing.
    const bad = await call(url, '/v1/orgs', { method: 'POST', body: { name: 'Not A Name' } });
    expect(bad.status).toBe(400);
    expect((await call(url, `/v1/snapshot?since=${v0 + 2}&waitMs=0`)).status).toBe(304);
  });
});

describe('GET /v1/snapshot (long-poll)', () => {
  /** A polling publisher that counts subscriptions: a long poll subscribes once it waits. */
  async function countingPublisher() {
    const publisher = new SnapshotPublisher(store, { pollIntervalMs: 20 });
    await publisher.start();
    closers.push(() => publisher.stop());
    let subscribed = 0;
    const subscribe = publisher.subscribe.bind(publisher);
    publisher.subscribe = () => {
      subscribed++;
      return subscribe();
    };
    return { publisher, subscribed: () => subscribed };
  }
  /** Sends a long poll and resolves once the server holds it (its answer stays pending). */
  async function heldPoll(url: string, path: string, subscribed: () => number) {
    const before = subscribed();
    const answer = call(url, path);
    await waitFor('the poll to wait', () => subscribed() > before);
    return { answer };
  }

  it('answers 304 after waitMs when nothing changes, and 200 as soon as something does', async () => {
    const { publisher, subscribed } = await countingPublisher();
    const { url } = await serve({ publisher });
    const v = (await call(url, '/v1/snapshot', { as: 'viewer' })).body.version as number;
    const idle = await call(url, `/v1/snapshot?since=${v}&waitMs=300`, { as: 'viewer' });
    expect(idle.status).toBe(304);
    expect(idle.body).toBeUndefined();
    expect(idle.ms).toBeGreaterThanOrEqual(280);

    // waitMs is the longest allowed, past the test's own timeout: any answer is an early one.
    const waiting = await heldPoll(url, `/v1/snapshot?since=${v}&waitMs=60000`, subscribed);
    await store.createOrg({ name: 'acme' }, 'someone'); // not through the API: found by polling
    const woke = await waiting.answer;
    expect(woke.status).toBe(200);
    expect(woke.body.version).toBe(v + 1);
    expect(woke.tag).toBe(`${v + 1}.0`);

    // Resuming from an older version answers at once (no wait); from the current one, waits.
    const old = await call(url, `/v1/snapshot?since=${v}&waitMs=60000`);
    expect(old.status).toBe(200);
    expect(old.body.version).toBe(v + 1);
    expect((await call(url, `/v1/snapshot?since=${v + 1}&waitMs=0`)).status).toBe(304);
  });

  it('hands lease-expiry and heartbeat republishes to clients that echo version.revision', async () => {
    const { url } = await serve();
    await store.createOrg({ name: 'acme' }, 'a');
    await store.createModule({ name: 'web', org: 'acme', run: { process: { command: 'x' } } }, 'a');
    await store.createVersion({ module: 'web', version: '1.0.0' }, 'a');
    await store.createInstance(
      {
        id: 'i-1',
        module: 'web',
        version: '1.0.0',
        host: 'h',
        address: '127.0.0.1:9',
        leaseExpiresAt: new Date(Date.now() + 1500).toISOString(),
      },
      'a',
    );
    const cur = await call(url, '/v1/snapshot');
    const endpoints = (s: { modules: { versions: { endpoints: unknown[] }[] }[] }) =>
      s.modules[0]?.versions[0]?.endpoints.length;
    expect(endpoints(cur.body)).toBe(1);
    const [version, revision] = String(cur.tag).split('.').map(Number);
    const next = await call(url, `/v1/snapshot?since=${cur.tag}&waitMs=20000`);
    expect(next.status).toBe(200);
    expect(next.tag).toBe(`${version}.${(revision ?? 0) + 1}`);
    expect(next.body.version).toBe(version);
    expect(endpoints(next.body)).toBe(0);
    // Echoing the new tag: nothing newer.
    expect((await call(url, `/v1/snapshot?since=${next.tag}&waitMs=0`)).status).toBe(304);

    // A heartbeat revives the lease: no store change, yet the instance is routed again at once.
    const beat = await call(url, '/v1/instances/heartbeat', {
      method: 'POST',
      body: { ids: ['i-1'], ttlMs: 60_000 },
      as: 'releaser',
    });
    expect(beat.status).toBe(200);
    const revived = await call(url, `/v1/snapshot?since=${next.tag}&waitMs=0`);
    expect(revived.status).toBe(200);
    expect(revived.body.version).toBe(version);
    expect(endpoints(revived.body)).toBe(1);
  });

  it('rejects bad since and waitMs, needs a token, and ends waiting polls on close', async () => {
    const { publisher, subscribed } = await countingPublisher();
    const { app, url } = await serve({ publisher });
    for (const q of ['since=abc', 'since=1.2.3', 'since=-1', 'since=1&waitMs=60001', 'waitMs=x']) {
      const r = await call(url, `/v1/snapshot?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.body.error.code).toBe('invalid_argument');
      expect(r.body.error.field).toBe(q.includes('waitMs') ? 'waitMs' : 'since');
    }
    expect((await call(url, '/v1/snapshot', { as: null })).status).toBe(401);

    const v = (await call(url, '/v1/snapshot')).body.version as number;
    // Held for up to 60 s, past the test's own timeout: answering at all is the close ending it.
    const waiting = await heldPoll(url, `/v1/snapshot?since=${v}&waitMs=60000`, subscribed);
    await app.close();
    const r = await waiting.answer;
    expect(r.status).toBe(304);
  });
});

describe('GET /v1/traffic', () => {
  const key = { product: 'shop', lane: 'stable', module: 'web', version: '1.0.0' };
  const lane = { ...key, lane: 't-1', version: '1.1.0' };
  const sample = (k: typeof key, requests: number, errors: number, fast: number): KeySample => ({
    key: k,
    requests,
    errors,
    buckets: [
      [5, fast],
      [50, requests],
      [Number.POSITIVE_INFINITY, requests],
    ],
  });

  it('answers per-key summaries and the filter total, and per-second series', async () => {
    const window = new StatsWindow();
    const now = Date.now();
    window.ingest(
      'p',
      { keys: [sample(key, 0, 0, 0), sample(lane, 0, 0, 0)], configVersion: null },
      now - 2000,
    );
    window.ingest(
      'p',
      { keys: [sample(key, 30, 3, 30), sample(lane, 10, 5, 0)], configVersion: null },
      now - 1000,
    );
    const { url } = await serve({ statsWindow: window });

    const all = await call(url, '/v1/traffic', { as: 'viewer' });
    expect(all.status).toBe(200);
    expect(all.body.windowMs).toBe(60_000);
    expect(all.body.total).toMatchObject({ requests: 40, errors: 8, errorRate: 0.2 });
    expect(all.body.keys).toHaveLength(2);
    const byLane = Object.fromEntries(
      all.body.keys.map((k: { key: typeof key; summary: unknown }) => [k.key.lane, k.summary]),
    );
    expect(byLane.stable).toMatchObject({ requests: 30, errors: 3, rps: 0.5, p50Ms: 2.5 });
    expect(byLane['t-1']).toMatchObject({ requests: 10, errorRate: 0.5, p50Ms: 27.5 });

    const filtered = await call(url, '/v1/traffic?product=shop&lane=t-1&module=&windowMs=10000');
    expect(filtered.body.windowMs).toBe(10_000);
    expect(filtered.body.total).toMatchObject({ requests: 10, rps: 1 });
    expect(filtered.body.keys.map((k: { key: typeof key }) => k.key)).toEqual([lane]);

    const series = await call(url, '/v1/traffic/series?lane=stable');
    expect(series.status).toBe(200);
    expect(series.body.bucketMs).toBe(1000);
    expect(series.body.points).toHaveLength(60);
    const busy = series.body.points.filter((p: { requests: number }) => p.requests > 0);
    expect(busy).toHaveLength(1);
    expect(busy[0]).toMatchObject({ requests: 30, rps: 30, errorRate: 0.1 });
    expect(busy[0].atMs).toBe(Math.floor((now - 1000) / 1000) * 1000);

    expect((await call(url, '/v1/traffic', { as: null })).status).toBe(401);
    const bad = await call(url, '/v1/traffic?windowMs=5');
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('windowMs');
  });

  it('answers not_found when the server keeps no traffic stats', async () => {
    const { url } = await serve();
    const r = await call(url, '/v1/traffic');
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('not_found');
  });
});
