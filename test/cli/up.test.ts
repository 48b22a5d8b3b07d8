// `turnout up` end to end: the real bin starts the API and a proxy child; the proxy becomes ready
// from the stream; `turnout get` reads through the API; a registered instance is health-checked to
// ready and its traffic reaches /v1/traffic; SIGTERM stops both and exits 0.

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive } from '../runtime/support.js';
import { ensureBuilt } from '../support/build.js';
import { waitFor } from '../support/release-stack.js';
import { freePort } from '../support/turnout-up.js';
import { ROOT, turnout } from './run.js';

const BIN = fileURLToPath(new URL('../../bin/turnout.js', import.meta.url));

async function post(url: string, body: unknown): Promise<number> {
  return send('POST', url, body);
}

async function send(method: 'POST' | 'PUT', url: string, body: unknown): Promise<number> {
  const res = await request(url, {
    method,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await res.body.text();
  return res.statusCode;
}

describe('turnout up', () => {
  let data: string;
  let up: ChildProcess | undefined;

  beforeAll(async () => {
    await ensureBuilt();
    data = mkdtempSync(join(tmpdir(), 'turnout-up-'));
  }, 120_000);

  afterAll(() => {
    if (up?.pid !== undefined && up.exitCode === null) up.kill('SIGKILL');
    rmSync(data, { recursive: true, force: true });
  });

  it('runs the API and a proxy, serves get, and stops both on SIGTERM', async () => {
    const [apiPort, outPort, adminPort] = [await freePort(), await freePort(), await freePort()];
    const server = `http://127.0.0.1:${apiPort}`;
    const child = spawn(
      process.execPath,
      [
        BIN,
        'up',
        '--insecure-local',
        '--json',
        '--data',
        data,
        '--api',
        `127.0.0.1:${apiPort}`,
        '--outbound',
        `127.0.0.1:${outPort}`,
        '--edge',
        'off',
        '--admin',
        `127.0.0.1:${adminPort}`,
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    up = child;
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (b: Buffer) => {
      stdout += b.toString();
    });
    child.stderr?.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));

    // Ready, and up has said what runs where (it prints once its proxy says it listens).
    await waitFor('the proxy admin /ready and the summary', async () => {
      const res = await request(`http://127.0.0.1:${adminPort}/ready`);
      await res.body.text();
      return res.statusCode === 200 && stdout.includes('\n');
    });
    const summary = JSON.parse(stdout.trim().split('\n')[0] ?? '{}') as {
      api: string;
      proxy: { pid: number };
    };
    expect(summary.api).toBe(server);
    const proxyPid = summary.proxy.pid;
    expect(alive(proxyPid)).toBe(true);

    expect(await post(`${server}/v1/orgs`, { name: 'acme' })).toBe(201);
    expect(
      await post(`${server}/v1/modules`, {
        name: 'web',
        org: 'acme',
        run: { process: { command: 'node' } },
      }),
    ).toBe(201);
    expect(await post(`${server}/v1/products`, { name: 'shop', org: 'acme', entry: 'web' })).toBe(
      201,
    );

    const got = await turnout('get', 'products', '--json', '--server', server);
    expect(got.code, got.stderr).toBe(0);
    const products = JSON.parse(got.stdout) as Array<{ name: string; org: string }>;
    expect(products.map((p) => p.name)).toEqual(['shop']);

    const table = await turnout('get', 'products', '--server', server);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/NAME\s+ORG/);
    expect(table.stdout).toContain('shop');

    const missing = await turnout('get', 'products', 'nope', '--server', server);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('not_found: ');

    // The control plane's health checker makes a registered instance ready, the proxy routes to
    // it, and the stats scraper brings the proxy's counts to /v1/traffic.
    const instance = createHttpServer((_req, res) => res.writeHead(200).end('ok'));
    await new Promise<void>((r) => instance.listen(0, '127.0.0.1', r));
    try {
      const address = `127.0.0.1:${(instance.address() as AddressInfo).port}`;
      expect(await post(`${server}/v1/modules/web/versions`, { version: '1.0.0' })).toBe(201);
      expect(
        await send('PUT', `${server}/v1/products/shop`, {
          org: 'acme',
          entry: 'web',
          baseDtab: '/svc/web => /v/web/1.0.0;',
        }),
      ).toBe(200);
      expect(
        await post(`${server}/v1/instances`, {
          id: 'web-1',
          module: 'web',
          version: '1.0.0',
          host: 'local',
          address,
        }),
      ).toBe(201);
      await waitFor('web-1 to be ready', async () => {
        const res = await request(`${server}/v1/instances/web-1`);
        const body = (await res.body.json()) as { state: string; health: string };
        return body.state === 'ready' && body.health === 'healthy';
      });
      const through = async () => {
        const res = await request(`http://127.0.0.1:${outPort}/`, {
          headers: { host: 'web', baggage: 'turnout-product=shop' },
        });
        await res.body.text();
        return res.statusCode;
      };
      await waitFor('a request routed to web-1', async () => (await through()) === 200);
      for (let i = 0; i < 4; i++) expect(await through()).toBe(200);
      // The proxy's first scrape is only a baseline: keep sending until the counts show.
      await waitFor('the requests in /v1/traffic', async () => {
        expect(await through()).toBe(200);
        const res = await request(`${server}/v1/traffic?product=shop&module=web`);
        const body = (await res.body.json()) as { total: { requests: number } };
        return body.total.requests >= 5;
      });
    } finally {
      instance.closeAllConnections();
      instance.close();
    }

    child.kill('SIGTERM');
    const code = await Promise.race([
      exited,
      new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 20_000)),
    ]);
    expect(code, stderr).toBe(0);
    await waitFor('the proxy to exit', async () => !alive(proxyPid));
  }, 180_000);

  it('a second up on the same data dir resumes the state, with a reused 0600 admin token', async () => {
    const [apiPort, adminPort] = [await freePort(), await freePort()];
    const server = `http://127.0.0.1:${apiPort}`;
    const start = () => {
      const child = spawn(
        process.execPath,
        [
          BIN,
          'up',
          '--json',
          '--data',
          data,
          '--api',
          `127.0.0.1:${apiPort}`,
          '--outbound',
          'off',
          '--edge',
          'off',
          '--admin',
          `127.0.0.1:${adminPort}`,
        ],
        { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] },
      );
      up = child;
      let stdout = '';
      child.stdout?.on('data', (b: Buffer) => {
        stdout += b.toString();
      });
      const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      return { child, exited, stdout: () => stdout };
    };
    const stopped = async (run: ReturnType<typeof start>) => {
      run.child.kill('SIGTERM');
      return Promise.race([
        run.exited,
        new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 20_000)),
      ]);
    };
    // Ready, and up has said what runs where (it prints once its proxy says it listens).
    const ready = (run: ReturnType<typeof start>) =>
      waitFor('the proxy admin /ready and the summary', async () => {
        const res = await request(`http://127.0.0.1:${adminPort}/ready`);
        await res.body.text();
        return res.statusCode === 200 && run.stdout().includes('\n');
      });

    const first = start();
    await ready(first);
    const token = (
      JSON.parse(first.stdout().trim().split('\n')[0] ?? '{}') as { adminToken: string }
    ).adminToken;
    expect(token).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(statSync(join(data, 'admin-token')).mode & 0o777).toBe(0o600);
    const denied = await turnout('get', 'products', '--server', server);
    expect(denied.code).toBe(2);
    expect(denied.stderr).toContain('unauthorized: ');
    expect(await stopped(first)).toBe(0);

    const second = start();
    await ready(second);
    const again = (
      JSON.parse(second.stdout().trim().split('\n')[0] ?? '{}') as { adminToken: string }
    ).adminToken;
    expect(again).toBe(token);
    const got = await turnout('get', 'products', '--json', '--server', server, '--token', token);
    expect(got.code, got.stderr).toBe(0);
    expect((JSON.parse(got.stdout) as Array<{ name: string }>).map((p) => p.name)).toEqual([
      'shop',
    ]);
    expect(await stopped(second)).toBe(0);
  }, 180_000);

  it('get against a closed port fails with a helpful message', async () => {
    const port = await freePort();
    const run = await turnout('get', 'products', '--server', `http://127.0.0.1:${port}`);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `cannot reach the Turnout API at http://127.0.0.1:${port}: connection refused — is \`turnout up\` running?`,
    );
  });
});
