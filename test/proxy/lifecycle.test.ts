// The proxy as a real process (`node bin/turnout.js proxy …`): graceful stop on SIGTERM, serving
// from the last good snapshot on disk when the control plane is gone, and keeping the last good
// config when the watched file turns invalid.

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SnapshotInput } from '../../src/config/snapshot.js';
import { ensureBuilt } from '../support/build.js';
import { waitFor } from '../support/wait.js';
import type { Upstream } from './harness.js';
import { send, startUpstream, tempDir, writeSnapshot } from './harness.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'turnout.js');

interface ProxyProcess {
  readonly child: ChildProcess;
  readonly outbound: number;
  readonly admin: number;
  /** Parsed pino lines from stdout so far. */
  readonly logs: Record<string, unknown>[];
  readonly exited: Promise<number | null>;
}

const children: ChildProcess[] = [];

afterEach(() => {
  for (const c of children.splice(0))
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** Starts `turnout proxy` and waits for its listening line on stderr. */
async function startProxyProcess(args: string[]): Promise<ProxyProcess> {
  const child = spawn(
    process.execPath,
    // One process, as `up` runs it (whatever the cores); test/proxy/workers.test.ts runs two.
    [
      BIN,
      'proxy',
      '--workers',
      '1',
      '--outbound',
      '127.0.0.1:0',
      '--edge',
      'off',
      '--admin',
      '127.0.0.1:0',
      ...args,
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  const logs: Record<string, unknown>[] = [];
  let partial = '';
  child.stdout!.on('data', (d: Buffer) => {
    partial += d.toString();
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      try {
        logs.push(JSON.parse(line));
      } catch {
        logs.push({ raw: line });
      }
    }
  });
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const ports = await new Promise<{ outbound: number; admin: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`proxy did not start: ${stderr}`)), 20_000);
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /outbound 127\.0\.0\.1:(\d+), edge off, admin 127\.0\.0\.1:(\d+)/.exec(stderr);
      if (m !== null) {
        clearTimeout(timer);
        resolve({ outbound: Number(m[1]), admin: Number(m[2]) });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`proxy exited with ${code} before listening: ${stderr}`));
    });
  });
  return { child, ...ports, logs, exited };
}

function snapshot(version: number, orders: readonly string[]): SnapshotInput {
  return {
    version,
    products: [{ name: 'shop', entry: 'orders', dtab: '/svc/orders=>/v/orders/1' }],
    modules: [
      {
        name: 'orders',
        versions: [{ version: '1', endpoints: orders.map((address) => ({ address })) }],
      },
    ],
  };
}

const ORDERS = { path: 'http://orders/', headers: { baggage: 'turnout-product=shop' } };

const upstreams: Upstream[] = [];
afterEach(async () => {
  await Promise.all(upstreams.splice(0).map((u) => u.close()));
});

async function upstream(name: string, delayMs = 0): Promise<Upstream> {
  const up = await startUpstream(name, (_req, res) => {
    if (delayMs === 0) return false;
    setTimeout(() => {
      res.writeHead(200, { 'x-served-by': name });
      res.end(name);
    }, delayMs);
    return true;
  });
  upstreams.push(up);
  return up;
}

beforeAll(ensureBuilt, 120_000);

describe('turnout proxy as a process', () => {
  it('on SIGTERM finishes in-flight requests with 200, refuses new connections and exits 0', async () => {
    const slow = await upstream('slow', 800);
    const file = writeSnapshot(tempDir(), snapshot(1, [slow.address]));
    const p = await startProxyProcess(['--config', file, '--data', tempDir()]);

    const inFlight = Array.from({ length: 5 }, () => send(p.outbound, ORDERS));
    await waitFor('five requests at the upstream', () => slow.seen.length === 5);
    p.child.kill('SIGTERM');
    await waitFor('the signal log line', () => p.logs.some((l) => l.event === 'signal'));

    // The listener is closed before the signal is even logged as handled.
    await expect(send(p.outbound, ORDERS)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    const replies = await Promise.all(inFlight);
    expect(replies.map((r) => [r.status, r.body])).toEqual(replies.map(() => [200, 'slow']));
    expect(await p.exited).toBe(0);
    expect(p.logs.find((l) => l.event === 'proxy_stopped')).toMatchObject({ leftInFlight: 0 });
  }, 60_000); // a hang bound: node processes start slowly on a busy machine

  it('serves from the last good snapshot on disk when the control plane is unreachable', async () => {
    const orders = await upstream('orders@disk');
    const data = tempDir();
    mkdirSync(join(data, 'proxy'), { recursive: true });
    writeFileSync(
      join(data, 'proxy', 'last-good.json'),
      JSON.stringify(snapshot(7, [orders.address])),
    );
    // A control plane that is there but fails every stream attempt (the connection is cut): each
    // attempt is an event the test can wait for.
    let attempts = 0;
    const failing = createNetServer((socket) => {
      attempts++;
      socket.destroy();
    });
    await new Promise<void>((r) => failing.listen(0, '127.0.0.1', r));
    const at = failing.address() as AddressInfo;
    const p = await startProxyProcess([
      '--config',
      `http://127.0.0.1:${at.port}/v1/stream`,
      '--data',
      data,
    ]);

    const r = await send(p.outbound, ORDERS);
    expect(r.status).toBe(200);
    expect(r.headers['x-served-by']).toBe('orders@disk');
    const ready = await send(p.admin, { path: '/ready' });
    expect(JSON.parse(ready.body)).toMatchObject({ ready: true, version: 7 });
    expect(p.logs.find((l) => l.event === 'config_from_disk')).toMatchObject({ version: 7 });

    // Still serving after two more failed attempts of the stream behind it.
    const seen = attempts;
    await waitFor('two more failed stream attempts', () => attempts >= seen + 2);
    const again = await Promise.all(Array.from({ length: 20 }, () => send(p.outbound, ORDERS)));
    expect(again.map((x) => x.status)).toEqual(again.map(() => 200));
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    await new Promise((r) => failing.close(r));
  }, 60_000); // a hang bound: node processes start slowly on a busy machine

  it('keeps serving the last good config when the watched file becomes invalid, and takes the next valid one', async () => {
    const [a, b] = [await upstream('a'), await upstream('b')];
    const dir = tempDir();
    const file = writeSnapshot(dir, snapshot(1, [a.address]));
    const p = await startProxyProcess(['--config', file, '--data', tempDir()]);
    expect((await send(p.outbound, ORDERS)).headers['x-served-by']).toBe('a');

    // Not JSON, then JSON that fails validation (a dtab that does not parse).
    writeFileSync(`${file}.tmp`, '{"version": 2, "products": [');
    renameSync(`${file}.tmp`, file);
    await waitFor(
      'config_rejected for broken JSON',
      () => p.logs.filter((l) => l.event === 'config_rejected').length >= 1,
    );
    const bad = snapshot(3, [b.address]);
    writeSnapshot(dir, { ...bad, products: [{ ...bad.products![0]!, dtab: '/svc/orders=>' }] });
    await waitFor(
      'config_rejected for an invalid snapshot',
      () => p.logs.filter((l) => l.event === 'config_rejected').length >= 2,
    );
    const rejected = p.logs.filter((l) => l.event === 'config_rejected');
    expect(rejected.every((l) => l.source === file && typeof l.reason === 'string')).toBe(true);
    const stillA = await Promise.all(Array.from({ length: 10 }, () => send(p.outbound, ORDERS)));
    expect(stillA.map((r) => [r.status, r.headers['x-served-by']])).toEqual(
      stillA.map(() => [200, 'a']),
    );
    expect(JSON.parse((await send(p.admin, { path: '/ready' })).body)).toMatchObject({
      version: 1,
    });

    writeSnapshot(dir, snapshot(4, [b.address]));
    await waitFor(
      'the next valid snapshot',
      async () => (await send(p.outbound, ORDERS)).headers['x-served-by'] === 'b',
      { everyMs: 50 },
    );
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  }, 60_000); // a hang bound: node processes start slowly on a busy machine
});
