// Tests for the proxy's config source: a real watched file in a temp dir, a real SSE server on
// 127.0.0.1, and the last good snapshot on disk; log lines are captured from pino and asserted on.

import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import type { IncomingHttpHeaders, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CompiledSnapshot } from '../../src/config/compile.js';
import type { ConfigSource, ConfigSourceOptions } from '../../src/proxy/config-source.js';
import { createConfigSource } from '../../src/proxy/config-source.js';
import { backoffDelay } from '../../src/proxy/stream-source.js';
import { waitFor } from '../support/wait.js';

type LogLine = Record<string, unknown>;

function captureLogger() {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line !== '') lines.push(JSON.parse(line) as LogLine);
      callback();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

function snapshot(
  version: number,
  address = '127.0.0.1:9001',
  dtab = '/svc/orders => /v/orders/1.0.0',
) {
  return {
    version,
    products: [{ name: 'shop', hosts: ['shop.example.com'], entry: 'orders', dtab }],
    modules: [{ name: 'orders', versions: [{ version: '1.0.0', endpoints: [{ address }] }] }],
  };
}

const text = (s: unknown) => `${JSON.stringify(s, null, 2)}\n`;

interface Applied {
  version: number;
  origin: 'source' | 'disk';
  compiled: CompiledSnapshot;
}

let dir: string;
let sources: ConfigSource[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'turnout-config-'));
  sources = [];
});

afterEach(async () => {
  await Promise.all(sources.map((s) => s.stop()));
  await rm(dir, { recursive: true, force: true });
});

function setup(overrides: Partial<ConfigSourceOptions> & { source: string }) {
  const { logger, lines } = captureLogger();
  const applied: Applied[] = [];
  const source = createConfigSource({
    lastGoodPath: join(dir, 'state', 'last-good.json'),
    logger,
    firstTryTimeoutMs: 1_000,
    backoff: { initialMs: 20, maxMs: 200 },
    ...overrides,
  });
  sources.push(source);
  const start = () =>
    source.start((compiled, origin) => {
      applied.push({ version: compiled.version, origin, compiled });
    });
  const events = (name: string) => lines.filter((l) => l.event === name);
  return { source, start, applied, lines, events };
}

/** The version in a last-good generation, once its checksum holds. */
async function lastGoodVersion(name = 'last-good.json'): Promise<number> {
  const doc = JSON.parse(await readFile(join(dir, 'state', name), 'utf8')) as {
    sha256: string;
    snapshot: { version: number };
  };
  expect(createHash('sha256').update(JSON.stringify(doc.snapshot)).digest('hex')).toBe(doc.sha256);
  return doc.snapshot.version;
}

/** Writes `versions` one after the other through a file source, leaving the generations on disk. */
async function seedLastGood(...versions: number[]): Promise<void> {
  const file = join(dir, 'seed.json');
  // One source per version: its stop() waits for the write, so no two writes coalesce.
  for (const v of versions) {
    await writeFile(file, text(snapshot(v)));
    const seed = setup({ source: file });
    await seed.start();
    await seed.source.stop();
  }
}

describe('config source: file', () => {
  it('applies a valid file at start and writes it as the last good', async () => {
    const file = join(dir, 'routing.json');
    await writeFile(file, text(snapshot(1)));
    const t = setup({ source: file });
    await t.start();
    expect(t.applied.map((a) => [a.version, a.origin])).toEqual([[1, 'source']]);
    expect(t.applied[0]!.compiled.productByHost.get('shop.example.com')).toBe('shop');
    await t.source.stop(); // flushes the last-good write
    expect(await lastGoodVersion()).toBe(1);
    expect(t.events('config_applied')[0]).toMatchObject({ source: file, version: 1 });
    // Lane rules hold pre-release secrets: the owner alone reads the file and its dir.
    expect((await stat(join(dir, 'state', 'last-good.json'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'state'))).mode & 0o777).toBe(0o700);
  });

  it('applies an edit within a second, rejects an invalid edit and keeps the old one', async () => {
    const file = join(dir, 'routing.json');
    await writeFile(file, text(snapshot(1)));
    const t = setup({ source: file });
    await t.start();

    await writeFile(file, text(snapshot(2)));
    await waitFor('version 2', () => t.applied.length === 2);
    expect(t.applied[1]).toMatchObject({ version: 2, origin: 'source' });

    const bad = snapshot(3);
    bad.products[0]!.entry = 'nope';
    await writeFile(file, text(bad));
    await waitFor('a rejection', () => t.events('config_rejected').length === 1);
    expect(t.events('config_rejected')[0]).toMatchObject({
      source: file,
      field: 'products[0].entry',
    });
    expect(String(t.events('config_rejected')[0]!.reason)).toContain('unknown module "nope"');

    await writeFile(file, '{ "version": 4, "products": [ ');
    await waitFor('a second rejection', () => t.events('config_rejected').length === 2);
    expect(t.applied.map((a) => a.version)).toEqual([1, 2]);
    await t.source.stop();
    expect(await lastGoodVersion()).toBe(2);
  });

  it('picks up a write-temp-then-rename replacement', async () => {
    const file = join(dir, 'routing.yaml');
    await writeFile(file, text(snapshot(1)));
    const t = setup({ source: file });
    await t.start();
    const temp = join(dir, '.routing.yaml.swp');
    await writeFile(temp, text(snapshot(2, '127.0.0.1:9002')));
    await rename(temp, file);
    await waitFor('version 2', () => t.applied.length === 2);
    expect(t.applied[1]!.compiled.endpoints('orders', '1.0.0')).toEqual(['127.0.0.1:9002']);
    // And again, to show the watch survives the replaced inode.
    await writeFile(temp, text(snapshot(3)));
    await rename(temp, file);
    await waitFor('version 3', () => t.applied.length === 3);
  });

  it('ignores a lower version and accepts the same version with new content', async () => {
    const file = join(dir, 'routing.json');
    await writeFile(file, text(snapshot(5)));
    const t = setup({ source: file });
    await t.start();

    await writeFile(file, text(snapshot(4)));
    await waitFor('config_stale', () => t.events('config_stale').length === 1);
    expect(t.events('config_stale')[0]).toMatchObject({ version: 4, current: 5 });

    await writeFile(file, text(snapshot(5, '127.0.0.1:9005')));
    await waitFor('the hand edit', () => t.applied.length === 2);
    expect(t.applied[1]!.compiled.endpoints('orders', '1.0.0')).toEqual(['127.0.0.1:9005']);

    // Rewriting identical content is not re-applied.
    await writeFile(file, `${JSON.stringify(snapshot(5, '127.0.0.1:9005'))}\n`);
    await waitFor('the rewrite to be read', () => t.events('config_unchanged').length >= 1);
    expect(t.applied).toHaveLength(2);
  });

  it('uses the last good while the file is missing at start, then the file', async () => {
    const file = join(dir, 'routing.json');
    await writeFile(file, text(snapshot(3)));
    const first = setup({ source: file });
    await first.start();
    await first.source.stop();
    await unlink(file);

    const t = setup({ source: file });
    await t.start();
    expect(t.applied.map((a) => [a.version, a.origin])).toEqual([[3, 'disk']]);
    expect(t.events('config_from_disk')[0]).toMatchObject({ version: 3 });
    expect(String(t.events('config_from_disk')[0]!.reason)).toContain('ENOENT');

    await writeFile(file, text(snapshot(4)));
    await waitFor('the file', () => t.applied.length === 2);
    expect(t.applied[1]).toMatchObject({ version: 4, origin: 'source' });
  });

  it('uses the last good when the file is invalid at start', async () => {
    const file = join(dir, 'routing.json');
    await writeFile(file, text(snapshot(3)));
    const first = setup({ source: file });
    await first.start();
    await first.source.stop();
    await writeFile(file, text({ ...snapshot(4), extra: true }));

    const t = setup({ source: file });
    await t.start();
    expect(t.applied.map((a) => [a.version, a.origin])).toEqual([[3, 'disk']]);
    expect(t.events('config_rejected')).toHaveLength(1);
    expect(t.events('config_from_disk')).toHaveLength(1);
  });

  it('rejects start when neither the file nor a last good exists', async () => {
    const file = join(dir, 'missing.json');
    const t = setup({ source: file });
    await expect(t.start()).rejects.toThrow(
      `no configuration: ${file} unreachable (ENOENT: no such file or directory, open '${file}') and no last good snapshot at ${join(dir, 'state', 'last-good.json')}`,
    );
    expect(t.applied).toEqual([]);
  });

  it('logs a callback that throws and keeps going', async () => {
    const file = join(dir, 'routing.json');
    await writeFile(file, text(snapshot(1)));
    const { logger, lines } = captureLogger();
    const source = createConfigSource({ source: file, lastGoodPath: null, logger });
    sources.push(source);
    const seen: number[] = [];
    await source.start((compiled) => {
      seen.push(compiled.version);
      throw new Error('boom');
    });
    await writeFile(file, text(snapshot(2)));
    await waitFor('version 2', () => seen.length === 2);
    const failures = lines.filter((l) => l.event === 'config_callback_failed');
    expect(failures.map((l) => l.reason)).toEqual(['boom', 'boom']);
  });
});

interface SseServer {
  url: string;
  port: number;
  requests: { url: string; headers: IncomingHttpHeaders }[];
  clients: ServerResponse[];
  send(res: ServerResponse, snap: unknown, id?: string): void;
  close(): Promise<void>;
}

function sendSnapshot(res: ServerResponse, snap: unknown, id?: string): void {
  const version = (snap as { version: number }).version;
  res.write(`event: snapshot\nid: ${id ?? version}\ndata: ${JSON.stringify(snap)}\n\n`);
}

async function startSseServer(
  onConnect: (res: ServerResponse, since: string | null) => void,
  port = 0,
): Promise<SseServer> {
  const requests: SseServer['requests'] = [];
  const clients: ServerResponse[] = [];
  const server: Server = createServer((req, res) => {
    requests.push({ url: req.url ?? '', headers: req.headers });
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.flushHeaders();
    clients.push(res);
    const since = new URL(req.url ?? '/', 'http://x').searchParams.get('since');
    onConnect(res, since);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actual}/v1/snapshots/stream`,
    port: actual,
    requests,
    clients,
    send: sendSnapshot,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('config source: SSE stream', () => {
  let servers: SseServer[];
  beforeEach(() => {
    servers = [];
  });
  afterEach(async () => {
    await Promise.all(sources.map((s) => s.stop()));
    sources = [];
    await Promise.all(servers.map((s) => s.close()));
  });

  it('applies streamed snapshots in order and sends the token', async () => {
    const server = await startSseServer((res) => sendSnapshot(res, snapshot(1)));
    servers.push(server);
    const t = setup({ source: server.url, token: 's3cret' });
    await t.start();
    expect(t.applied.map((a) => [a.version, a.origin])).toEqual([[1, 'source']]);
    const first = server.requests[0]!;
    expect(first.url).toBe('/v1/snapshots/stream');
    expect(first.headers.accept).toBe('text/event-stream');
    expect(first.headers.authorization).toBe('Bearer s3cret');
    expect(first.headers['last-event-id']).toBeUndefined();

    const res = server.clients[0]!;
    res.write(': keepalive\n\n');
    server.send(res, snapshot(2));
    // One write carrying two events, CRLF line ends.
    res.write(
      `event: snapshot\r\nid: 3\r\ndata: ${JSON.stringify(snapshot(3))}\r\n\r\nevent: snapshot\r\nid: 4\r\ndata: ${JSON.stringify(snapshot(4))}\r\n\r\n`,
    );
    await waitFor('version 4', () => t.applied.length === 4);
    expect(t.applied.map((a) => a.version)).toEqual([1, 2, 3, 4]);
    expect(server.requests).toHaveLength(1);
    await t.source.stop();
    expect(await lastGoodVersion()).toBe(4);
  });

  it('reconnects after the server closes the stream, resuming with since', async () => {
    const server = await startSseServer((res, since) => {
      if (since === null) {
        sendSnapshot(res, snapshot(1));
        sendSnapshot(res, snapshot(2));
        res.end();
      } else {
        sendSnapshot(res, snapshot(3));
      }
    });
    servers.push(server);
    const t = setup({ source: server.url });
    await t.start();
    await waitFor('version 3', () => t.applied.some((a) => a.version === 3));
    expect(t.applied.map((a) => a.version)).toEqual([1, 2, 3]);
    const second = server.requests[1]!;
    expect(second.url).toBe('/v1/snapshots/stream?since=2');
    expect(second.headers['last-event-id']).toBe('2');
    expect(t.events('config_stream_disconnected')[0]).toMatchObject({
      reason: 'the server ended the stream',
    });
  });

  it('serves the last good while the server is down, then picks up the stream', async () => {
    // Find a free port, then leave it closed so the first connection is refused.
    const probe = await startSseServer(() => {});
    const port = probe.port;
    await probe.close();
    const url = `http://127.0.0.1:${port}/stream`;

    const lastGood = join(dir, 'state', 'last-good.json');
    const seed = setup({ source: join(dir, 'seed.json') });
    await writeFile(join(dir, 'seed.json'), text(snapshot(7)));
    await seed.start();
    await seed.source.stop();
    expect(await lastGoodVersion()).toBe(7);

    // A refused connection does not wait for the first try's timeout: with one that never comes
    // in this test, start() resolving at all shows it.
    const t = setup({ source: url, lastGoodPath: lastGood, firstTryTimeoutMs: 600_000 });
    await t.start();
    expect(t.applied.map((a) => [a.version, a.origin])).toEqual([[7, 'disk']]);
    expect(String(t.events('config_from_disk')[0]!.reason)).toContain('ECONNREFUSED');

    const server = await startSseServer((res) => sendSnapshot(res, snapshot(8)), port);
    servers.push(server);
    await waitFor('the stream', () => t.applied.length === 2);
    expect(t.applied[1]).toMatchObject({ version: 8, origin: 'source' });
    // No `since` while only the disk copy was in force: the server sends its current snapshot.
    expect(server.requests[0]!.url).toBe('/stream');
  });

  it('falls back to disk when the server accepts but sends nothing in time', async () => {
    await writeFile(join(dir, 'seed.json'), text(snapshot(2)));
    const seed = setup({ source: join(dir, 'seed.json') });
    await seed.start();
    await seed.source.stop();

    const server = await startSseServer(() => {});
    servers.push(server);
    const t = setup({ source: server.url, firstTryTimeoutMs: 300 });
    await t.start();
    expect(t.applied.map((a) => [a.version, a.origin])).toEqual([[2, 'disk']]);
    // The stream is still open: a snapshot sent now is applied from the source.
    server.send(server.clients[0]!, snapshot(2));
    await waitFor('in sync', () => t.applied.length === 2);
    expect(t.applied[1]).toMatchObject({ version: 2, origin: 'source' });
  });

  it('rejects malformed event data and keeps reading the stream', async () => {
    const server = await startSseServer((res) => sendSnapshot(res, snapshot(1)));
    servers.push(server);
    const t = setup({ source: server.url });
    await t.start();
    const res = server.clients[0]!;
    res.write('event: snapshot\nid: 2\ndata: {"version": 2, "products": [\n\n');
    const badField = snapshot(3);
    badField.modules[0]!.versions[0]!.endpoints[0]!.address = 'not-an-address';
    server.send(res, badField);
    server.send(res, snapshot(5), '4'); // id disagrees with the version
    res.write('event: other\ndata: ignored\n\n');
    server.send(res, snapshot(6));
    await waitFor('version 6', () => t.applied.length === 2);
    expect(t.applied.map((a) => a.version)).toEqual([1, 6]);
    const rejected = t.events('config_rejected');
    expect(rejected).toHaveLength(3);
    expect(rejected[0]!.reason).toMatch(/not valid YAML or JSON/);
    expect(rejected[1]).toMatchObject({ field: 'modules[0].versions[0].endpoints[0].address' });
    expect(rejected[2]).toMatchObject({ field: 'version' });
    expect(server.requests).toHaveLength(1);
  });

  it('reconnects when the stream goes quiet', async () => {
    const server = await startSseServer((res, since) => {
      if (since === null) sendSnapshot(res, snapshot(1));
    });
    servers.push(server);
    const t = setup({ source: server.url, idleTimeoutMs: 300 });
    await t.start();
    await waitFor('a reconnect', () => server.requests.length >= 2);
    expect(server.requests[1]!.url).toBe('/v1/snapshots/stream?since=1');
    expect(t.events('config_stream_disconnected')[0]).toMatchObject({
      reason: 'no data for 300 ms',
    });
  });

  it('keepalives hold a quiet stream open', async () => {
    const server = await startSseServer((res) => sendSnapshot(res, snapshot(1)));
    servers.push(server);
    // The idle timer is real time: keepalives every 50 ms against a 1 s timeout (a 20× margin
    // for a busy machine), for more than twice that timeout in all.
    const t = setup({ source: server.url, idleTimeoutMs: 1_000 });
    await t.start();
    const res = server.clients[0]!;
    let sent = 0;
    const keepalive = setInterval(() => {
      res.write(': keepalive\n');
      sent++;
    }, 50);
    try {
      // 50 keepalives span 2.5 idle timeouts at the planned pace; a slower pace only lengthens it.
      await waitFor('50 keepalives sent', () => sent >= 50);
    } finally {
      clearInterval(keepalive);
    }
    expect(server.requests).toHaveLength(1);
  });

  it('retries a non-200 answer with backoff', async () => {
    let calls = 0;
    // 503 twice, then a stream.
    const flaky = createServer((_req, res) => {
      calls++;
      if (calls <= 2) {
        res.writeHead(503).end('busy');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      sendSnapshot(res, snapshot(9));
    });
    await new Promise<void>((r) => flaky.listen(0, '127.0.0.1', r));
    const port = (flaky.address() as AddressInfo).port;
    try {
      const t = setup({ source: `http://127.0.0.1:${port}/s`, firstTryTimeoutMs: 2_000 });
      // No last good yet: start waits out the first try and gets the third attempt's snapshot.
      await t.start();
      expect(t.applied.map((a) => [a.version, a.origin])).toEqual([[9, 'source']]);
      expect(calls).toBe(3);
      expect(t.events('config_stream_disconnected')[0]).toMatchObject({ reason: 'HTTP 503' });
      await t.source.stop();
    } finally {
      flaky.closeAllConnections();
      await new Promise<void>((r) => flaky.close(() => r()));
    }
  });

  it('rejects start when the server is down and there is no last good', async () => {
    const probe = await startSseServer(() => {});
    const port = probe.port;
    await probe.close();
    const t = setup({ source: `http://127.0.0.1:${port}/s`, firstTryTimeoutMs: 300 });
    await expect(t.start()).rejects.toThrow(
      /^no configuration: http:\/\/127\.0\.0\.1:\d+\/s unreachable \(.*ECONNREFUSED.*\) and no last good snapshot at /,
    );
  });
});

describe('backoffDelay', () => {
  it('doubles from the initial delay to the cap, jittered within [d/2, d]', () => {
    const b = { initialMs: 100, maxMs: 5_000 };
    expect([0, 1, 2, 3, 6, 20].map((a) => backoffDelay(a, b, () => 1))).toEqual([
      100, 200, 400, 800, 5_000, 5_000,
    ]);
    expect(backoffDelay(0, b, () => 0)).toBe(50);
    expect(backoffDelay(10, b, () => 0)).toBe(2_500);
  });
});

describe('config source: last good generations', () => {
  const newest = () => join(dir, 'state', 'last-good.json');
  const previous = () => join(dir, 'state', 'last-good.previous.json');
  const gone = () => join(dir, 'gone.json'); // a file source that does not exist

  it('keeps the newest and the previous snapshot, each checksummed', async () => {
    await seedLastGood(1, 2, 3);
    expect(await lastGoodVersion()).toBe(3);
    expect(await lastGoodVersion('last-good.previous.json')).toBe(2);
  });

  it('falls back to the previous generation when the newest fails its checksum', async () => {
    await seedLastGood(1, 2);
    // Still valid JSON and a valid snapshot, but not what was written: the checksum catches it.
    const text2 = await readFile(newest(), 'utf8');
    await writeFile(newest(), text2.replace('"version":2', '"version":9'));

    const t = setup({ source: gone() });
    await t.start();
    expect(t.applied.map((a) => [a.version, a.origin])).toEqual([[1, 'disk']]);
    expect(t.events('last_good_skipped')).toMatchObject([
      { path: newest(), generation: 'newest', reason: expect.stringMatching(/checksum mismatch/) },
    ]);
    expect(t.events('config_from_disk')[0]).toMatchObject({ version: 1, generation: 'previous' });
  });

  it('falls back to the previous generation when the newest is truncated', async () => {
    await seedLastGood(4, 5);
    const text5 = await readFile(newest(), 'utf8');
    await writeFile(newest(), text5.slice(0, text5.length / 2));

    const t = setup({ source: gone() });
    await t.start();
    expect(t.applied.map((a) => [a.version, a.origin])).toEqual([[4, 'disk']]);
    expect(t.events('last_good_skipped')[0]).toMatchObject({ generation: 'newest' });
    expect(String(t.events('last_good_skipped')[0]!.reason)).toMatch(/^not valid JSON/);
    // The source's copy replaces the bad newest even with the same content; the previous stays.
    const file = gone();
    await writeFile(file, text(snapshot(4)));
    await waitFor('the file', () => t.applied.length === 2, 30_000);
    await t.source.stop();
    expect(await lastGoodVersion()).toBe(4);
    expect(await lastGoodVersion('last-good.previous.json')).toBe(4);
  });

  it('fails to start when both generations are bad and the source is missing, naming both', async () => {
    await seedLastGood(1, 2);
    await writeFile(newest(), 'garbage');
    await writeFile(previous(), '{"sha256":"00","snapshot":{"version":1}}');
    const t = setup({ source: gone() });
    await expect(t.start()).rejects.toThrow(
      `and no last good snapshot at ${newest()} (${newest()}: not valid JSON`,
    );
    expect(t.events('last_good_skipped').map((l) => l.generation)).toEqual(['newest', 'previous']);
  });

  it('accepts a bare snapshot without a checksum (hand-written or from an older Turnout)', async () => {
    await mkdir(join(dir, 'state'), { recursive: true });
    await writeFile(newest(), JSON.stringify(snapshot(6)));
    const t = setup({ source: gone() });
    await t.start();
    expect(t.applied.map((a) => [a.version, a.origin])).toEqual([[6, 'disk']]);
    expect(t.events('last_good_unchecked')).toMatchObject([{ generation: 'newest' }]);
  });
});

describe('config source: a reachable stream with no usable last good', () => {
  let servers: SseServer[];
  beforeEach(() => {
    servers = [];
  });
  afterEach(async () => {
    await Promise.all(sources.map((s) => s.stop()));
    sources = [];
    await Promise.all(servers.map((s) => s.close()));
  });

  it('starts from the stream when both generations are bad, however late it answers', async () => {
    await seedLastGood(1, 2);
    await writeFile(join(dir, 'state', 'last-good.json'), '\u0000\u0000 not json');
    await writeFile(join(dir, 'state', 'last-good.previous.json'), '{"sha256":"00","snapshot":{}}');
    // The server accepts and stays quiet until the proxy is seen waiting past its first try.
    const server = await startSseServer(() => {});
    servers.push(server);
    const t = setup({ source: server.url, firstTryTimeoutMs: 100 });
    const started = t.start().then(
      () => 'started',
      (error: unknown) => error,
    );
    const waiting = waitFor(
      'config_waiting_for_stream',
      () => t.events('config_waiting_for_stream').length > 0,
      60_000,
    ).then(() => 'waiting');
    expect(await Promise.race([started, waiting])).toBe('waiting');
    expect(t.events('last_good_skipped').map((l) => l.generation)).toEqual(['newest', 'previous']);
    server.send(server.clients[0]!, snapshot(3));
    expect(await started).toBe('started');
    expect(t.applied.map((a) => [a.version, a.origin])).toEqual([[3, 'source']]);
    await t.source.stop();
    expect(await lastGoodVersion()).toBe(3);
  });

  it('still fails when the stream refuses and no last good is usable', async () => {
    const probe = await startSseServer(() => {});
    await probe.close();
    await mkdir(join(dir, 'state'), { recursive: true });
    await writeFile(join(dir, 'state', 'last-good.json'), 'garbage');
    const t = setup({ source: `http://127.0.0.1:${probe.port}/s`, firstTryTimeoutMs: 100 });
    await expect(t.start()).rejects.toThrow(/unreachable \(.*ECONNREFUSED.*\) and no last good/);
  });
});
