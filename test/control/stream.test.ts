// The config stream end to end: a SQLite store in a temp dir, the publisher, the fastify stream
// route on 127.0.0.1:0, consumed by the proxy's real client (createConfigSource) and by raw HTTP
// for the protocol details (resume point, keepalive).

import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { streamPlugin } from '../../src/api/stream.js';
import type { CompiledSnapshot } from '../../src/config/compile.js';
import { SnapshotPublisher } from '../../src/control/publisher.js';
import type { ConfigSource } from '../../src/proxy/config-source.js';
import { createConfigSource } from '../../src/proxy/config-source.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import { ACTOR, seed } from '../store/fixtures.js';
import { waitFor } from '../support/wait.js';

let dir: string;
let store: Store;
let publisher: SnapshotPublisher;
let app: FastifyInstance;
let url: string;
let sources: ConfigSource[];
let sinceSeen: (string | undefined)[];
/** When set, the store's module list hides this module (to make the state fail to compile). */
let hideModule: string | null;
/** Every module hidden so far (the change feed names them: see the store below). */
const everHidden = new Set<string>();

async function startServer(keepaliveMs?: number): Promise<void> {
  app = Fastify({ forceCloseConnections: true });
  app.addHook('onRequest', async (req) => {
    sinceSeen.push((req.query as { since?: string }).since);
  });
  await app.register(streamPlugin, {
    store,
    publisher,
    ...(keepaliveMs === undefined ? {} : { keepaliveMs }),
    prefix: '/v1',
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/stream`;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'turnout-stream-'));
  const real = await openSqliteStore(join(dir, 'turnout.db'));
  await seed(real);
  hideModule = null;
  // A store whose module list can hide a module: state the real store would never hold.
  store = new Proxy(real, {
    get(target, prop, receiver) {
      if (prop === 'transaction') {
        return <T>(fn: Parameters<Store['transaction']>[0]) =>
          target.transaction(
            (tx) =>
              fn(
                new Proxy(tx, {
                  get(t, p, r) {
                    if (p === 'listModules') {
                      return async (q: Parameters<Store['listModules']>[0]) => {
                        const page = await t.listModules(q);
                        return { ...page, items: page.items.filter((m) => m.name !== hideModule) };
                      };
                    }
                    // The same store read through the change feed: the hidden module is gone, and each change
                    // since names every module ever hidden, as a store would that deleted or restored it.
                    if (p === 'getModule')
                      return async (name: string) =>
                        name === hideModule ? null : t.getModule(name);
                    if (p === 'listChanges')
                      return async (since: number) => {
                        if (hideModule !== null) everHidden.add(hideModule);
                        const named = [...everHidden].map((m) => `module/${m}`);
                        return (await t.listChanges(since)).map((e) => ({
                          ...e,
                          targets: [...e.targets, ...named],
                        }));
                      };
                    const v = Reflect.get(t, p, r);
                    return typeof v === 'function' ? v.bind(t) : v;
                  },
                }),
              ) as Promise<T>,
          );
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  publisher = new SnapshotPublisher(store, { pollIntervalMs: 10 });
  await publisher.start();
  sources = [];
  sinceSeen = [];
});

afterEach(async () => {
  await Promise.all(sources.map((s) => s.stop()));
  publisher.stop();
  await app?.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

function client() {
  const applied: CompiledSnapshot[] = [];
  const source = createConfigSource({
    source: url,
    lastGoodPath: null,
    logger: pino({ level: 'silent' }),
    firstTryTimeoutMs: 2_000,
    backoff: { initialMs: 20, maxMs: 100 },
  });
  sources.push(source);
  const started = source.start((compiled) => {
    applied.push(compiled);
  });
  const last = () => applied.at(-1)?.version ?? -1;
  return { source, started, applied, last };
}

/**
 * Reads the raw stream until `done(text)` holds, then closes it; answers the text received.
 * `connected` runs once the answer's head is in (the server subscribes before it sends the
 * head, so a change made there is the next thing the stream can carry).
 */
async function rawRead(
  done: (text: string) => boolean,
  init: { query?: string; headers?: Record<string, string> } = {},
  connected: () => Promise<void> = async () => {},
): Promise<{ status: number; type: string | null; text: string }> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 20_000); // bounds a hang only
  let text = '';
  try {
    const res = await fetch(`${url}${init.query ?? ''}`, {
      headers: { accept: 'text/event-stream', ...init.headers },
      signal: ac.signal,
    });
    await connected();
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    while (!done(text)) {
      const { done: ended, value } = await reader.read();
      if (ended) break;
      text += decoder.decode(value, { stream: true });
    }
    await reader.cancel();
    return { status: res.status, type: res.headers.get('content-type'), text };
  } catch (error) {
    throw new Error(`reading the stream: ${String(error)}; got ${JSON.stringify(text)}`);
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
}

/** One whole event (or comment) has arrived. */
const oneEvent = (text: string) => text.includes('\n\n');

describe('config stream', () => {
  it('sends the current snapshot on connect and every store change after, to the real client', async () => {
    await startServer();
    const c = client();
    await c.started;
    const v0 = await store.changeVersion();
    expect(c.last()).toBe(v0);
    expect(c.applied[0]!.snapshot.products.map((p) => p.name)).toEqual(['shop']);

    await store.updateInstance('i-1', { weight: 7, state: 'ready' }, ACTOR);
    publisher.notify();
    await waitFor('the change in the client', () => c.last() === v0 + 1);
    const orders = c.applied.at(-1)!.snapshot.modules.find((m) => m.name === 'orders')!;
    expect(orders.versions.find((v) => v.version === '1.0.0')!.endpoints).toEqual([
      { address: '127.0.0.1:9001', state: 'ready', weight: 7 },
    ]);
  });

  it('picks up a change by polling alone (no notify)', async () => {
    await startServer();
    const c = client();
    await c.started;
    const v0 = c.last();
    await store.createLane(
      { product: 'shop', name: 'qa', overlay: '/svc/web => /v/web/1.0.0;' },
      ACTOR,
    );
    await waitFor('the new lane', () => c.last() === v0 + 1);
    expect(c.applied.at(-1)!.snapshot.products[0]!.lanes.map((l) => l.name)).toEqual(['dev', 'qa']);
  });

  it('serves two subscribers the same snapshots', async () => {
    await startServer();
    const a = client();
    const b = client();
    await Promise.all([a.started, b.started]);
    const v0 = a.last();
    expect(b.last()).toBe(v0);
    await store.updateInstance('i-1', { weight: 3 }, ACTOR);
    await store.updateInstance('i-1', { weight: 4 }, ACTOR);
    await waitFor('both clients', () => a.last() === v0 + 2 && b.last() === v0 + 2);
    expect(JSON.stringify(a.applied.at(-1)!.snapshot)).toBe(
      JSON.stringify(b.applied.at(-1)!.snapshot),
    );
  });

  it('resumes after a disconnect with since and gets what changed meanwhile', async () => {
    await startServer();
    const c = client();
    await c.started;
    const v0 = c.last();
    expect(sinceSeen).toEqual([undefined]);
    // Stop serving: close the server and every connection, change the store, serve again.
    const port = (app.server.address() as AddressInfo).port;
    await app.close();
    await store.updateInstance('i-1', { weight: 9 }, ACTOR);
    await publisher.notify();
    app = Fastify({ forceCloseConnections: true });
    app.addHook('onRequest', async (req) => {
      sinceSeen.push((req.query as { since?: string }).since);
    });
    await app.register(streamPlugin, { store, publisher, prefix: '/v1' });
    await app.listen({ host: '127.0.0.1', port });
    await waitFor('the change after reconnect', () => c.last() === v0 + 1);
    expect(sinceSeen.at(-1)).toBe(String(v0));
  });

  it('with since equal to the current version sends nothing until a change', async () => {
    await startServer();
    const change = (weight: number) => async () => {
      await store.updateInstance('i-1', { weight }, ACTOR);
      await publisher.notify();
    };
    // Nothing comes before the change made once connected: the first event is the change.
    let v = publisher.current()!.version;
    const same = await rawRead(oneEvent, { query: `?since=${v}` }, change(7));
    expect(same.status).toBe(200);
    expect(same.type).toMatch(/^text\/event-stream/);
    expect(same.text).toBe(`event: snapshot\nid: ${v + 1}\ndata: ${publisher.current()!.json}\n\n`);

    v = publisher.current()!.version;
    const byHeader = await rawRead(
      oneEvent,
      { headers: { 'last-event-id': String(v) } },
      change(8),
    );
    expect(byHeader.text).toBe(
      `event: snapshot\nid: ${v + 1}\ndata: ${publisher.current()!.json}\n\n`,
    );

    v = publisher.current()!.version;
    const older = await rawRead(oneEvent, { query: `?since=${v - 1}` });
    expect(older.text).toBe(`event: snapshot\nid: ${v}\ndata: ${publisher.current()!.json}\n\n`);

    const fresh = await rawRead(oneEvent);
    expect(fresh.text.startsWith(`event: snapshot\nid: ${v}\ndata: {`)).toBe(true);
  });

  it('with since equal to the current version sends the next change only', async () => {
    await startServer();
    const v = publisher.current()!.version;
    const r = await rawRead(oneEvent, { query: `?since=${v}` }, async () => {
      await store.updateInstance('i-1', { weight: 5 }, ACTOR);
      await publisher.notify();
    });
    expect(r.text).toBe(`event: snapshot\nid: ${v + 1}\ndata: ${publisher.current()!.json}\n\n`);
  });

  it('starts and stops its own publisher when none is given', async () => {
    app = Fastify({ forceCloseConnections: true });
    await app.register(streamPlugin, { store, prefix: '/v1' });
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/stream`;
    const c = client();
    await c.started;
    const v0 = c.last();
    expect(v0).toBe(await store.changeVersion());
    await store.updateInstance('i-1', { weight: 6 }, ACTOR);
    await waitFor('the change via the own publisher', () => c.last() === v0 + 1);
  });

  it('rejects a since that is not a version', async () => {
    await startServer();
    const res = await fetch(`${url}?since=abc`);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'invalid_argument', field: 'since' } });
  });

  it('sends a keepalive comment at the configured interval', async () => {
    await startServer(40);
    const v = publisher.current()!.version;
    // Two keepalives (the default interval, 15 s, would not bring them before the read gives up).
    const keepalives = (t: string) => t.split(': keepalive\n\n').length - 1;
    const r = await rawRead((t) => keepalives(t) >= 2, { query: `?since=${v}` });
    expect(keepalives(r.text)).toBeGreaterThanOrEqual(2);
    expect(r.text.replaceAll(': keepalive\n\n', '')).toBe('');
  });

  it('never publishes a snapshot that fails to compile; publishes again once fixed', async () => {
    await startServer();
    const c = client();
    await c.started;
    const v0 = c.last();
    hideModule = 'web'; // the entry module of product shop disappears from the compiled state
    await store.updateInstance('i-1', { weight: 2 }, ACTOR);
    await publisher.notify();
    expect(publisher.lastError()?.field).toBe('products[0].entry');
    expect(publisher.current()!.version).toBe(v0);

    hideModule = null;
    await store.updateInstance('i-1', { weight: 3 }, ACTOR);
    await waitFor('the fixed snapshot', () => c.last() === v0 + 2);
    expect(publisher.lastError()).toBeNull();
    // The stream is in order: had the broken one gone out, the client would have had it first.
    expect(c.applied.map((a) => a.version)).toEqual([v0, v0 + 2]);
  });

  it('drops a lease-expired instance from the endpoints without a store change', async () => {
    // The publisher's clock stands still until the test moves it past the lease.
    publisher.stop();
    let clock = Date.now();
    publisher = new SnapshotPublisher(store, { pollIntervalMs: 10, now: () => new Date(clock) });
    await publisher.start();
    await startServer();
    const c = client();
    await c.started;
    const until = new Date(clock + 300).toISOString();
    await store.updateInstance('i-1', { leaseExpiresAt: until }, ACTOR);
    const v1 = await store.changeVersion();
    const endpoints = () =>
      c.applied
        .at(-1)!
        .snapshot.modules.find((m) => m.name === 'orders')!
        .versions.find((v) => v.version === '1.0.0')!.endpoints.length;
    await waitFor('the leased instance', () => c.last() === v1 && endpoints() === 1);
    clock += 300;
    await waitFor('the lease to expire', () => endpoints() === 0);
    expect(c.last()).toBe(v1);
    expect(publisher.current()!.revision).toBe(1);
  });

  it('a slow subscriber gets only the newest snapshot (drop to latest)', async () => {
    const sub = publisher.subscribe();
    const first = await sub.next();
    for (let w = 2; w <= 6; w++) {
      await store.updateInstance('i-1', { weight: w }, ACTOR);
      await publisher.notify();
    }
    const next = await sub.next();
    expect(next.version).toBe(first.version + 5);
    sub.close();
  });
});
