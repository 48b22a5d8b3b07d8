// `turnout proxy --workers 2` as real processes (node:cluster): one admin view that counts every
// request exactly once, config from one stream connection applied by every worker, a worker
// killed with SIGKILL replaced while the other keeps serving, SIGTERM draining every worker, and
// a start that fails (a port taken) failing the whole command.

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { Agent, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseWorkers } from '../../src/cli/proxy-command.js';
import type { SnapshotInput } from '../../src/config/snapshot.js';
import { ensureBuilt } from '../support/build.js';
import { waitFor } from '../support/wait.js';
import type { Upstream } from './harness.js';
import { send, startUpstream, tempDir, writeSnapshot } from './harness.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'turnout.js');
/** A fresh connection per request, so the primary hands them to the workers in turn. */
const FRESH = new Agent({ keepAlive: false });
const ORDERS = {
  path: 'http://orders/',
  headers: { baggage: 'turnout-product=shop' },
  agent: FRESH,
};

interface ProxyProcess {
  readonly child: ChildProcess;
  readonly outbound: number;
  readonly admin: number;
  readonly logs: Record<string, unknown>[];
  readonly exited: Promise<number | null>;
  readonly stderr: () => string;
}

interface WorkerView {
  readonly pid: number;
  readonly requests: number;
  readonly inFlight: number;
  readonly configVersion: number | null;
}

const children: ChildProcess[] = [];
const upstreams: Upstream[] = [];
afterEach(async () => {
  for (const c of children.splice(0))
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(upstreams.splice(0).map((u) => u.close()));
});

beforeAll(ensureBuilt, 120_000);

function spawnProxy(args: string[]): {
  child: ChildProcess;
  logs: Record<string, unknown>[];
  exited: Promise<number | null>;
  stderr: () => string;
} {
  const child = spawn(
    process.execPath,
    [BIN, 'proxy', '--workers', '2', '--edge', 'off', '--admin', '127.0.0.1:0', ...args],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  const logs: Record<string, unknown>[] = [];
  let partial = '';
  child.stdout!.on('data', (d: Buffer) => {
    partial += d.toString();
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (line.trim() !== '') logs.push(JSON.parse(line));
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, logs, exited, stderr: () => stderr };
}

/** Starts `turnout proxy --workers 2` and waits for its listening line (all workers up). */
async function startWorkers(args: string[]): Promise<ProxyProcess> {
  const p = spawnProxy(['--outbound', '127.0.0.1:0', ...args]);
  let gone = false;
  void p.exited.then(() => {
    gone = true;
  });
  const ports = await waitFor(
    'the listening line of a proxy with 2 workers',
    () => {
      if (gone) throw new Error(`proxy exited before listening: ${p.stderr()}`);
      const m = /outbound 127\.0\.0\.1:(\d+), edge off, admin 127\.0\.0\.1:(\d+), 2 workers/.exec(
        p.stderr(),
      );
      return m === null ? null : { outbound: Number(m[1]), admin: Number(m[2]) };
    },
    150_000, // three node processes start slowly on a busy machine; this bounds a hang
  );
  return { ...p, ...ports };
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

async function upstream(
  name: string,
  behaviour?: Parameters<typeof startUpstream>[1],
): Promise<Upstream> {
  const up = await startUpstream(name, behaviour);
  upstreams.push(up);
  return up;
}

async function stats(p: ProxyProcess): Promise<{
  metrics: { name: string; values: { value: number; metricName?: string }[] }[];
  workers: WorkerView[];
}> {
  const r = await send(p.admin, { path: '/stats' });
  expect(r.status).toBe(200);
  return JSON.parse(r.body);
}

/** The sum of a /metrics series over every label set. */
function metricSum(text: string, series: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^(\w+)(?:\{[^}]*\})? (\S+)$/.exec(line);
    if (m?.[1] === series) sum += Number(m[2]);
  }
  return sum;
}

async function sendMany(p: ProxyProcess, n: number): Promise<string[]> {
  const replies = await Promise.all(Array.from({ length: n }, () => send(p.outbound, ORDERS)));
  expect(replies.map((r) => r.status)).toEqual(replies.map(() => 200));
  return replies.map((r) => String(r.headers['x-served-by']));
}

/** Both workers' views once every listed worker has counted `total` requests between them. */
async function workersAt(p: ProxyProcess, total: number): Promise<WorkerView[]> {
  return waitFor(`2 workers that counted ${total} requests`, async () => {
    const { workers } = await stats(p);
    const sum = workers.reduce((s, w) => s + w.requests, 0);
    return workers.length === 2 && sum === total ? workers : null;
  });
}

describe('turnout proxy --workers 2', () => {
  it('counts every request exactly once in /metrics and /stats, whichever worker served it', async () => {
    const orders = await upstream('orders');
    const file = writeSnapshot(tempDir(), snapshot(1, [orders.address]));
    const p = await startWorkers(['--config', file, '--data', tempDir()]);

    const sent = 40;
    await sendMany(p, sent);
    expect(orders.seen).toHaveLength(sent);

    const metrics = (await send(p.admin, { path: '/metrics' })).body;
    expect(metricSum(metrics, 'turnout_requests_total')).toBe(sent);
    expect(metricSum(metrics, 'turnout_request_duration_seconds_count')).toBe(sent);
    // A gauge is not summed: the version every worker applied, not 2 × 1.
    expect(metricSum(metrics, 'turnout_config_version')).toBe(1);

    const s = await stats(p);
    const total = s.metrics.find((m) => m.name === 'turnout_requests_total');
    expect(total?.values.reduce((sum, v) => sum + v.value, 0)).toBe(sent);
    // Both workers served (connections are handed out in turn), and their counts add up.
    expect(s.workers).toHaveLength(2);
    expect(s.workers.every((w) => w.requests > 0 && w.configVersion === 1)).toBe(true);
    expect(s.workers.reduce((sum, w) => sum + w.requests, 0)).toBe(sent);
  }, 300_000); // a hang bound

  it('takes config from one stream connection and every worker routes by the new snapshot', async () => {
    const [a, b] = [await upstream('a'), await upstream('b')];
    const streams: ServerResponse[] = [];
    const control = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(`event: snapshot\nid: 1\ndata: ${JSON.stringify(snapshot(1, [a.address]))}\n\n`);
      streams.push(res);
      req.on('close', () => res.end());
    });
    await new Promise<void>((r) => control.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(control.address() as AddressInfo).port}/v1/stream`;
    const data = tempDir();
    try {
      const p = await startWorkers(['--config', url, '--data', data]);
      expect(new Set(await sendMany(p, 10))).toEqual(new Set(['a']));
      const before = await workersAt(p, 10);

      streams[0]!.write(
        `event: snapshot\nid: 2\ndata: ${JSON.stringify(snapshot(2, [b.address]))}\n\n`,
      );
      await waitFor('both workers on version 2', async () => {
        const { workers } = await stats(p);
        return workers.length === 2 && workers.every((w) => w.configVersion === 2);
      });
      expect(new Set(await sendMany(p, 10))).toEqual(new Set(['b']));
      // Each worker served some of those ten, so each routes by version 2.
      const after = await workersAt(p, 20);
      for (const w of after) {
        const was = before.find((x) => x.pid === w.pid);
        expect(w.requests).toBeGreaterThan(was?.requests ?? 0);
      }
      expect(streams).toHaveLength(1); // the primary's one connection, none per worker
      // The primary keeps the last good snapshot on disk, as a single proxy does.
      const lastGood = join(data, 'proxy', 'last-good.json');
      await waitFor('version 2 on disk', () => {
        if (!existsSync(lastGood)) return null;
        return JSON.parse(readFileSync(lastGood, 'utf8')).snapshot.version === 2;
      });
      p.child.kill('SIGTERM');
      expect(await p.exited).toBe(0);
    } finally {
      control.closeAllConnections();
      await new Promise((r) => control.close(r));
    }
  }, 300_000); // a hang bound

  it('replaces a worker killed with SIGKILL, serving throughout, and keeps its counts', async () => {
    const orders = await upstream('orders');
    const file = writeSnapshot(tempDir(), snapshot(1, [orders.address]));
    const p = await startWorkers(['--config', file, '--data', tempDir()]);
    await sendMany(p, 10);
    const [victim, survivor] = await workersAt(p, 10);

    process.kill(victim!.pid, 'SIGKILL');
    await waitFor('the primary saw the worker exit', () =>
      p.logs.some((l) => l.event === 'worker_exited' && l.pid === victim!.pid),
    );
    await sendMany(p, 10); // served by the survivor meanwhile
    const replaced = await waitFor(
      'a new worker beside the survivor',
      async () => {
        const { workers } = await stats(p);
        const pids = workers.map((w) => w.pid);
        return pids.length === 2 && pids.includes(survivor!.pid) && !pids.includes(victim!.pid)
          ? pids
          : null;
      },
      150_000, // a node process starting on a busy machine; this bounds a hang
    );
    expect(p.logs.find((l) => l.event === 'worker_exited')).toMatchObject({
      pid: victim!.pid,
      signal: 'SIGKILL',
    });
    await sendMany(p, 10);
    // The killed worker's counts (as last asked, before the kill) stay in the totals.
    const metrics = (await send(p.admin, { path: '/metrics' })).body;
    expect(metricSum(metrics, 'turnout_requests_total')).toBe(30);
    const { workers } = await stats(p);
    expect(workers.map((w) => w.pid).sort()).toEqual([...replaced].sort());
    expect(workers.every((w) => w.requests > 0)).toBe(true); // the new one serves too
  }, 300_000); // a hang bound

  it('on SIGTERM lets the in-flight requests of every worker finish, then exits 0', async () => {
    const held: ServerResponse[] = [];
    const slow = await upstream('slow', (_req, res) => {
      held.push(res);
      return true;
    });
    const file = writeSnapshot(tempDir(), snapshot(1, [slow.address]));
    const p = await startWorkers(['--config', file, '--data', tempDir()]);

    const inFlight = [send(p.outbound, ORDERS), send(p.outbound, ORDERS)];
    await waitFor('one request in flight on each worker', async () => {
      const { workers } = await stats(p);
      return workers.length === 2 && workers.every((w) => w.inFlight === 1);
    });
    p.child.kill('SIGTERM');
    await waitFor(
      'both workers draining',
      () => p.logs.filter((l) => l.event === 'worker_draining').length === 2,
    );
    for (const res of held) res.writeHead(200, { 'x-served-by': 'slow' }).end('slow');
    const replies = await Promise.all(inFlight);
    expect(replies.map((r) => [r.status, r.body])).toEqual([
      [200, 'slow'],
      [200, 'slow'],
    ]);
    expect(await p.exited).toBe(0);
    const stopped = p.logs.filter((l) => l.event === 'proxy_stopped' && l.worker !== undefined);
    expect(stopped).toHaveLength(2);
    expect(stopped.every((l) => l.leftInFlight === 0)).toBe(true);
  }, 300_000); // a hang bound

  it("never forwards to the primary's admin listener, which no worker binds itself", async () => {
    const orders = await upstream('orders');
    const dir = tempDir();
    const file = writeSnapshot(dir, snapshot(1, [orders.address]));
    const p = await startWorkers(['--config', file, '--data', tempDir()]);
    writeSnapshot(dir, snapshot(2, [`127.0.0.1:${p.admin}`]));
    await waitFor('both workers on version 2', async () => {
      const { workers } = await stats(p);
      return workers.length === 2 && workers.every((w) => w.configVersion === 2);
    });
    const asJson = { ...ORDERS, headers: { ...ORDERS.headers, accept: 'application/json' } };
    const replies = await Promise.all(Array.from({ length: 4 }, () => send(p.outbound, asJson)));
    expect(replies.map((r) => [r.status, JSON.parse(r.body).error?.code])).toEqual(
      replies.map(() => [502, 'destination_refused']),
    );
  }, 300_000); // a hang bound

  it('fails the whole command, and leaves no process behind, when a worker cannot listen', async () => {
    const taken = createNetServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as AddressInfo).port;
    try {
      const file = writeSnapshot(tempDir(), snapshot(1, ['127.0.0.1:9']));
      const p = spawnProxy([
        '--outbound',
        `127.0.0.1:${port}`,
        '--config',
        file,
        '--data',
        tempDir(),
      ]);
      const code = await p.exited;
      // As one process: bad input (exit 2) naming the flag whose address is taken.
      expect(code).toBe(2);
      expect(p.stderr()).toContain(`--outbound 127.0.0.1:${port} is already in use`);
      const started = p.logs.filter((l) => l.event === 'worker_started').map((l) => l.pid);
      expect(started.length).toBeGreaterThan(0);
      for (const pid of started) {
        await waitFor(`worker ${pid} gone`, () => {
          try {
            process.kill(pid as number, 0);
            return false;
          } catch {
            return true;
          }
        });
      }
    } finally {
      await new Promise((r) => taken.close(r));
    }
  }, 300_000); // a hang bound
});

describe('--workers', () => {
  it.each(['0', '-1', 'two', '1.5', '257'])('rejects %s naming the flag', (text) => {
    expect(() => parseWorkers(text)).toThrow(
      expect.objectContaining({ code: 'invalid_argument', field: '--workers' }),
    );
  });

  it('accepts 1 to 256', () => {
    expect([parseWorkers('1'), parseWorkers('2'), parseWorkers('256')]).toEqual([1, 2, 256]);
  });
});
