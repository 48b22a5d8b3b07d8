// The config stream with deltas (`?delta=1`), end to end: a SQLite store in a temp dir, the
// publisher, the fastify stream route on 127.0.0.1:0, read by the proxy's real client with deltas
// on and by raw HTTP for the frames (delta vs snapshot, tags, resume, fallbacks).

import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { streamPlugin } from '../../src/api/stream.js';
import type { CompiledSnapshot } from '../../src/config/compile.js';
import { compileStoreSnapshot } from '../../src/control/compile-snapshot.js';
import type { PublisherOptions } from '../../src/control/publisher.js';
import { readStoreState, SnapshotPublisher } from '../../src/control/publisher.js';
import type { ConfigSource } from '../../src/proxy/config-source.js';
import { createConfigSource } from '../../src/proxy/config-source.js';
import { type SseEvent, SseParser } from '../../src/proxy/sse.js';
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
let queries: string[];

async function start(options: PublisherOptions = {}, seeded = true): Promise<void> {
  if (seeded) await seed(store);
  publisher = new SnapshotPublisher(store, { pollIntervalMs: 10, ...options });
  await publisher.start();
  app = Fastify({ forceCloseConnections: true });
  app.addHook('onRequest', async (req) => {
    queries.push(req.url.slice(req.url.indexOf('?') + 1));
  });
  await app.register(streamPlugin, { store, publisher, prefix: '/v1' });
  await app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/stream`;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'turnout-stream-delta-'));
  store = await openSqliteStore(join(dir, 'turnout.db'));
  sources = [];
  queries = [];
});

afterEach(async () => {
  await Promise.all(sources.map((s) => s.stop()));
  publisher?.stop();
  await app?.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

/** A raw SSE reader: every event as parsed, until closed. */
async function rawStream(query: string) {
  const ac = new AbortController();
  const events: SseEvent[] = [];
  const parser = new SseParser({ onEvent: (e) => events.push(e) });
  const res = await fetch(`${url}?${query}`, {
    headers: { accept: 'text/event-stream' },
    signal: ac.signal,
  });
  const reading = (async () => {
    const reader = res.body!.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      parser.push(value);
    }
  })().catch(() => {});
  return {
    status: res.status,
    events,
    close: async () => {
      ac.abort();
      await reading;
    },
  };
}

function deltaClient() {
  const applied: CompiledSnapshot[] = [];
  const source = createConfigSource({
    source: url,
    lastGoodPath: null,
    logger: pino({ level: 'silent' }),
    backoff: { initialMs: 20, maxMs: 100 },
    deltas: true,
  });
  sources.push(source);
  const started = source.start((compiled) => {
    applied.push(compiled);
  });
  return { started, applied, last: () => applied.at(-1)?.version ?? -1 };
}

const fullCompile = async () => {
  const r = compileStoreSnapshot(await readStoreState(store));
  if (!r.ok) throw r.error;
  return r.snapshot;
};

describe('config stream with deltas', () => {
  it('sends the snapshot on connect, then only what changed, as the real client applies it', async () => {
    await start();
    const raw = await rawStream('delta=1');
    const c = deltaClient();
    await c.started;
    await waitFor('the first frame', () => raw.events.length === 1);
    const v0 = await store.changeVersion();
    expect(raw.events[0]).toMatchObject({ type: 'snapshot', id: `${v0}.0` });

    await store.updateInstance('i-1', { weight: 7, state: 'ready' }, ACTOR);
    void publisher.notify();
    await waitFor('the delta', () => raw.events.length === 2 && c.last() === v0 + 1);
    const delta = raw.events[1]!;
    expect(delta.type).toBe('delta');
    expect(delta.id).toBe(`${v0 + 1}.0`);
    const body = JSON.parse(delta.data);
    expect(body.from).toBe(`${v0}.0`);
    expect(body.to).toBe(`${v0 + 1}.0`);
    expect(delta.data.length).toBeLessThan(publisher.current()!.json.length / 2);
    expect(delta.data).toContain('"weight":7');
    // The client's result of applying the delta is the full compile at that version.
    expect(c.applied.at(-1)!.snapshot).toEqual(await fullCompile());
    await raw.close();
  });

  it('a client without the flag keeps getting whole snapshots under bare version ids', async () => {
    await start();
    const raw = await rawStream('');
    await waitFor('the first frame', () => raw.events.length === 1);
    const v0 = await store.changeVersion();
    await store.updateInstance('i-1', { weight: 5 }, ACTOR);
    void publisher.notify();
    await waitFor('the change', () => raw.events.length === 2);
    expect(raw.events.map((e) => [e.type, e.id])).toEqual([
      ['snapshot', String(v0)],
      ['snapshot', String(v0 + 1)],
    ]);
    expect(JSON.parse(raw.events[1]!.data)).toEqual(await fullCompile());
    await raw.close();
  });

  it('resumes from a recent tag with the deltas since, and from a gap with the full snapshot', async () => {
    await start({ deltaHistory: 3 });
    const v0 = await store.changeVersion();
    await store.updateInstance('i-1', { weight: 2 }, ACTOR);
    await publisher.notify();
    await store.updateInstance('i-1', { weight: 3 }, ACTOR);
    await publisher.notify();
    const resumed = await rawStream(`delta=1&since=${v0}.0`);
    await waitFor('two deltas', () => resumed.events.length === 2);
    expect(resumed.events.map((e) => [e.type, e.id])).toEqual([
      ['delta', `${v0 + 1}.0`],
      ['delta', `${v0 + 2}.0`],
    ]);
    await resumed.close();
    // Three more changes: v0 leaves the ring of three deltas.
    for (const weight of [4, 5, 6]) {
      await store.updateInstance('i-1', { weight }, ACTOR);
      await publisher.notify();
    }
    const gap = await rawStream(`delta=1&since=${v0}.0`);
    await waitFor('a frame', () => gap.events.length === 1);
    expect(gap.events[0]).toMatchObject({ type: 'snapshot', id: `${v0 + 5}.0` });
    expect(JSON.parse(gap.events[0]!.data)).toEqual(await fullCompile());
    await gap.close();
    // Last-Event-ID works as the resume point too; the current tag means nothing to send yet.
    const res = await fetch(`${url}?delta=1`, {
      headers: { accept: 'text/event-stream', 'last-event-id': `${v0 + 4}.0` },
    });
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toBe(
      `event: delta\nid: ${v0 + 5}.0\ndata: ${publisher.deltaChain(`${v0 + 4}.0`)![0]!.json}\n\n`,
    );
    await reader.cancel();
  });

  it('sends the full snapshot when the delta would be larger', async () => {
    await start({}, false);
    await store.createOrg({ name: 'acme' }, ACTOR);
    await publisher.notify();
    const v0 = publisher.current()!.version;
    const raw = await rawStream(`delta=1&since=${v0}.0`);
    await store.createModule(
      { name: 'web', org: 'acme', run: { process: { command: 'node' } } },
      ACTOR,
    );
    void publisher.notify();
    await waitFor('a frame', () => raw.events.length === 1);
    expect(raw.events[0]!.type).toBe('snapshot');
    expect(JSON.parse(raw.events[0]!.data).modules.map((m: { name: string }) => m.name)).toEqual([
      'web',
    ]);
    await raw.close();
  });

  it('a lease expiry republishes the same version as a delta to the next revision', async () => {
    // The publisher's clock stands still until the test moves it past the lease.
    let clock = Date.now();
    await start({ now: () => new Date(clock) });
    await store.updateInstance(
      'i-1',
      { leaseExpiresAt: new Date(clock + 300).toISOString() },
      ACTOR,
    );
    await publisher.notify();
    const v1 = await store.changeVersion();
    const raw = await rawStream(`delta=1&since=${v1}.0`);
    const c = deltaClient();
    await c.started;
    const endpoints = () =>
      c.applied.at(-1)!.snapshot.modules.find((m) => m.name === 'orders')!.versions[0]!.endpoints
        .length;
    expect(endpoints()).toBe(1);
    clock += 300;
    await waitFor('the republish', () => raw.events.length === 1 && endpoints() === 0);
    expect(raw.events[0]).toMatchObject({ type: 'delta', id: `${v1}.1` });
    expect(JSON.parse(raw.events[0]!.data)).toMatchObject({ from: `${v1}.0`, to: `${v1}.1` });
    expect(c.last()).toBe(v1);
    expect(c.applied.at(-1)!.snapshot).toEqual(JSON.parse(publisher.current()!.json));
    await raw.close();
  });

  it('rejects a bad delta flag or tag naming the field', async () => {
    await start();
    for (const [query, field] of [
      ['delta=yes', 'delta'],
      ['delta=1&since=1.x', 'since'],
    ] as const) {
      const res = await fetch(`${url}?${query}`);
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: unknown };
      expect(body.error).toMatchObject({ code: 'invalid_argument', field });
    }
  });

  it('a real client resumes with its tag after a disconnect and gets deltas', async () => {
    await start();
    const c = deltaClient();
    await c.started;
    const v0 = c.last();
    // The server drops every stream; the client reconnects with since=<its tag>.
    const before = queries.length;
    await store.updateInstance('i-1', { weight: 9 }, ACTOR);
    void publisher.notify();
    await waitFor('the change', () => c.last() === v0 + 1);
    app.server.closeAllConnections();
    await store.updateInstance('i-1', { weight: 8 }, ACTOR);
    void publisher.notify();
    await waitFor('the change after the reconnect', () => c.last() === v0 + 2);
    expect(queries.slice(before)).toContain(`delta=1&since=${v0 + 1}.0`);
    expect(c.applied.at(-1)!.snapshot).toEqual(await fullCompile());
  });
});
