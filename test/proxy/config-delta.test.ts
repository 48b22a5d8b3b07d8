// The proxy's side of deltas, against a scripted SSE server on 127.0.0.1: a delta is applied only
// to the snapshot whose tag it names; a delta for another base, or one that does not validate,
// makes the client drop the stream and reconnect without `since`, for the full snapshot; the
// snapshot in force never changes meanwhile.

import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { CompiledSnapshot } from '../../src/config/compile.js';
import { diffSnapshots } from '../../src/config/delta.js';
import type { Snapshot } from '../../src/config/snapshot.js';
import type { ConfigSource } from '../../src/proxy/config-source.js';
import { createConfigSource } from '../../src/proxy/config-source.js';
import { loadLastGood } from '../../src/proxy/last-good.js';
import { waitFor } from '../support/wait.js';

const snap = (version: number, weight: number): Snapshot => ({
  version,
  products: [
    {
      name: 'shop',
      hosts: ['shop.example.com'],
      entry: 'web',
      dtab: '/svc => /v;',
      lanes: [],
      rules: [],
    },
  ],
  modules: [
    {
      name: 'web',
      calls: [],
      versions: [
        { version: '1.0', endpoints: [{ address: '127.0.0.1:9001', state: 'ready', weight }] },
      ],
    },
  ],
});

const frame = (type: string, id: string, data: unknown) =>
  `event: ${type}\nid: ${id}\ndata: ${JSON.stringify(data)}\n\n`;

let server: Server | null = null;
let source: ConfigSource | null = null;

afterEach(async () => {
  await source?.stop();
  source = null;
  server?.closeAllConnections();
  await new Promise<void>((resolve) =>
    server === null ? resolve() : server.close(() => resolve()),
  );
  server = null;
});

/** Serves connection n with script[n] (its frames), then holds the stream open. */
async function scripted(
  script: ((req: IncomingMessage) => string)[],
): Promise<{ url: string; urls: string[] }> {
  const urls: string[] = [];
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const n = urls.length;
    urls.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(script[Math.min(n, script.length - 1)]!(req));
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}/v1/stream`, urls };
}

function follow(url: string, lastGoodPath: string | null = null) {
  const applied: CompiledSnapshot[] = [];
  source = createConfigSource({
    source: url,
    lastGoodPath,
    logger: pino({ level: 'silent' }),
    backoff: { initialMs: 10, maxMs: 50 },
    deltas: true,
  });
  const started = source.start((c) => {
    applied.push(c);
  });
  return { applied, started };
}

describe('config source deltas', () => {
  it('applies a delta whose base is its snapshot', async () => {
    const a = snap(1, 1);
    const b = snap(2, 5);
    const { url, urls } = await scripted([
      () => frame('snapshot', '1.0', a) + frame('delta', '2.0', diffSnapshots(a, b, '1.0', '2.0')),
    ]);
    const c = follow(url);
    await c.started;
    await waitFor('the delta applied', () => c.applied.length === 2);
    expect(c.applied[1]!.snapshot).toEqual(b);
    expect(urls).toEqual(['/v1/stream?delta=1']);
  });

  it('keeps the delta result as the last good snapshot on disk', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'turnout-delta-lg-'));
    try {
      const a = snap(1, 1);
      const b = snap(2, 5);
      const { url } = await scripted([
        () =>
          frame('snapshot', '1.0', a) + frame('delta', '2.0', diffSnapshots(a, b, '1.0', '2.0')),
      ]);
      const path = join(dir, 'last-good.json');
      const c = follow(url, path);
      await c.started;
      await waitFor('the delta applied', () => c.applied.length === 2);
      await source!.stop(); // flushes the writer
      const disk = await loadLastGood(path, pino({ level: 'silent' }));
      expect(disk.ok && disk.snapshot).toEqual(b);
      // (a and b came in one burst: the writer may coalesce them, so no claim on the previous one)
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reconnects without since for a full snapshot when a delta names another base', async () => {
    const a = snap(1, 1);
    const b = snap(2, 5);
    const c3 = snap(3, 6);
    const { url, urls } = await scripted([
      // A delta from 0.0, which this client never had.
      () =>
        frame('snapshot', '1.0', a) +
        frame('delta', '2.0', diffSnapshots(snap(0, 9), b, '0.0', '2.0')),
      () => frame('snapshot', '3.0', c3),
    ]);
    const c = follow(url);
    await c.started;
    await waitFor('the full snapshot after the resync', () => c.applied.at(-1)?.version === 3);
    expect(c.applied.map((s) => s.version)).toEqual([1, 3]);
    expect(c.applied[1]!.snapshot).toEqual(c3);
    expect(urls).toEqual(['/v1/stream?delta=1', '/v1/stream?delta=1']);
  });

  it('reconnects for a full snapshot when the delta result does not validate', async () => {
    const a = snap(1, 1);
    const bad = {
      from: '1.0',
      to: '2.0',
      version: 2,
      products: { update: [{ name: 'shop', entry: 'nope' }] },
    };
    const { url, urls } = await scripted([
      () => frame('snapshot', '1.0', a) + frame('delta', '2.0', bad),
      () => frame('snapshot', '2.0', snap(2, 4)),
    ]);
    const c = follow(url);
    await c.started;
    await waitFor('the full snapshot after the resync', () => c.applied.at(-1)?.version === 2);
    expect(c.applied.map((s) => s.version)).toEqual([1, 2]);
    expect(c.applied[1]!.snapshot).toEqual(snap(2, 4));
    expect(urls).toEqual(['/v1/stream?delta=1', '/v1/stream?delta=1']);
  });

  it('resumes with its tag after the server ends the stream', async () => {
    const a = snap(1, 1);
    const { url, urls } = await scripted([
      () => frame('snapshot', '1.1', a),
      () => ': keepalive\n\n',
    ]);
    const c = follow(url);
    await c.started;
    server!.closeAllConnections();
    await waitFor('the reconnect', () => urls.length >= 2);
    expect(urls[1]).toBe('/v1/stream?delta=1&since=1.1');
  });
});
