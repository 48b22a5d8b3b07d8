// `turnout proxy --zone` / TURNOUT_ZONE on the real bin: the zone reaches the balancer of a single
// proxy and of every worker of `--workers 2`, and a zone no label could hold is refused at start.

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import type { Server } from 'node:http';
import { Agent, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { send, tempDir, writeSnapshot } from '../proxy/harness.js';
import { ensureBuilt, ROOT } from '../support/build.js';
import { waitFor } from '../support/wait.js';

const BIN = join(ROOT, 'bin', 'turnout.js');
/** A fresh connection per request, so the primary of --workers 2 hands them to both workers. */
const FRESH = new Agent({ keepAlive: false });

const servers: Server[] = [];
const children: ChildProcess[] = [];
let file: string;

async function upstreamOn(ip: string, name: string): Promise<string> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'x-served-by': name });
    res.end(name);
  });
  await new Promise<void>((r) => server.listen(0, ip, r));
  servers.push(server);
  return `${ip}:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  await ensureBuilt();
  const [a1, b1] = await Promise.all([
    upstreamOn('127.0.0.2', 'a1'),
    upstreamOn('127.0.0.3', 'b1'),
  ]);
  file = writeSnapshot(tempDir(), {
    version: 1,
    products: [{ name: 'shop', entry: 'orders', dtab: '/svc/orders=>/v/orders/1' }],
    modules: [
      {
        name: 'orders',
        versions: [
          {
            version: '1',
            endpoints: [
              { address: a1, zone: 'a' },
              { address: b1, zone: 'b' },
            ],
          },
        ],
      },
    ],
  });
}, 150_000);

afterEach(() => {
  for (const c of children.splice(0))
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

afterAll(() => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

function run(args: string[], env: Record<string, string> = {}) {
  const child = spawn(
    process.execPath,
    [
      BIN,
      'proxy',
      '--config',
      file,
      '--data',
      tempDir(),
      '--edge',
      'off',
      '--admin',
      'off',
      '--outbound',
      '127.0.0.1:0',
      ...args,
    ],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } },
  );
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, exited, stderr: () => stderr };
}

async function outboundPort(p: ReturnType<typeof run>): Promise<number> {
  let gone = false;
  void p.exited.then(() => {
    gone = true;
  });
  return waitFor(
    'the proxy to say where it listens',
    () => {
      if (gone) throw new Error(`proxy exited: ${p.stderr()}`);
      const m = /outbound 127\.0\.0\.1:(\d+)/.exec(p.stderr());
      return m === null ? null : Number(m[1]);
    },
    150_000, // bounds a hang: node processes start slowly on a busy machine
  );
}

async function servedBy(port: number, n: number): Promise<string[]> {
  const replies = await Promise.all(
    Array.from({ length: n }, () =>
      send(port, {
        path: 'http://orders/',
        headers: { baggage: 'turnout-product=shop' },
        agent: FRESH,
      }),
    ),
  );
  return [...new Set(replies.map((r) => `${r.status} ${String(r.headers['x-served-by'])}`))];
}

describe('turnout proxy --zone', () => {
  it('--zone b: one proxy sends everything to zone b', async () => {
    const port = await outboundPort(run(['--workers', '1', '--zone', 'b']));
    expect(await servedBy(port, 40)).toEqual(['200 b1']);
  });

  it('TURNOUT_ZONE=a with --workers 2: every worker stays in zone a', async () => {
    const port = await outboundPort(run(['--workers', '2'], { TURNOUT_ZONE: 'a' }));
    expect(await servedBy(port, 40)).toEqual(['200 a1']);
  });

  it('refuses a zone no host label could hold, naming the flag, and starts nothing', async () => {
    const p = run(['--workers', '1', '--zone', 'a b']);
    expect(await p.exited).toBe(2);
    expect(p.stderr()).toContain('--zone "a b": a zone is 1–63 of');
    expect(p.stderr()).not.toContain('outbound 127.0.0.1');
  });
});
