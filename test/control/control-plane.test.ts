// startControlPlane end to end on a SQLite store: a real proxy fed by its stream, a real instance
// made ready by the health checker, traffic through the proxy visible in /v1/traffic via the stats
// scraper, a lease that stops being renewed swept, and a clean stop.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitForInstance } from '../../src/control/instance-wait.js';
import type { RunningProxy } from '../../src/proxy/main.js';
import { startProxy } from '../../src/proxy/main.js';
import type { ControlPlane } from '../../src/server/control-plane.js';
import { startControlPlane } from '../../src/server/control-plane.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import { TEST_AUTH, TOKENS } from '../api/harness.js';
import type { Upstream } from '../proxy/harness.js';
import { send, startUpstream } from '../proxy/harness.js';
import { Hopeless, waitFor } from '../support/wait.js';

let dir: string;
let store: Store;
let cp: ControlPlane | undefined;
let proxy: RunningProxy | undefined;
let upstream: Upstream;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'turnout-cp-'));
  store = await openSqliteStore(join(dir, 'turnout.db'));
  upstream = await startUpstream('web@1.0.0');
});
afterEach(async () => {
  await proxy?.stop(1_000);
  await cp?.stop();
  await upstream.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function api(method: 'GET' | 'POST', path: string, body?: unknown) {
  const res = await request(`${cp!.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${TOKENS.releaser}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: assertions read arbitrary JSON
  return { status: res.statusCode, body: (await res.body.json()) as any };
}

describe('startControlPlane', () => {
  it('runs the API, health checks, lease sweeps and traffic stats together, and stops', async () => {
    let adminUrl: string | null = null;
    cp = await startControlPlane({
      store,
      auth: TEST_AUTH,
      listen: { host: '127.0.0.1', port: 0 },
      proxyAdminUrls: () => (adminUrl === null ? [] : [adminUrl]),
      statsIntervalMs: 100,
      leaseSweepMs: 50,
      health: { tickMs: 10, refreshMs: 20 },
    });
    expect(cp.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    await store.createOrg({ name: 'acme' }, 'ada');
    await store.createModule(
      {
        name: 'web',
        org: 'acme',
        run: { process: { command: 'node' } },
        // A probe's timeout is its interval (up to 2 s): 100 ms failed probes on a busy machine
        // and the ready instance flapped to unhealthy (503) mid-test.
        health: { path: '/healthz', intervalMs: 1_000 },
      },
      'ada',
    );
    await store.createVersion({ module: 'web', version: '1.0.0' }, 'ada');
    await store.createProduct(
      { name: 'shop', org: 'acme', entry: 'web', baseDtab: '/svc/web => /v/web/1.0.0;' },
      'ada',
    );

    proxy = await startProxy({
      config: `${cp.url}/v1/stream`,
      token: TOKENS.viewer,
      lastGoodPath: null,
      outbound: { host: '127.0.0.1', port: 0 },
      edge: null,
      admin: { host: '127.0.0.1', port: 0 },
      overrideSecrets: [],
      logger: pino({ level: 'silent' }),
    });
    adminUrl = `http://127.0.0.1:${proxy.admin!.port}`;

    const registered = await api('POST', '/v1/instances', {
      id: 'web-1',
      module: 'web',
      version: '1.0.0',
      host: 'h1',
      address: upstream.address,
    });
    expect(registered.status).toBe(201);
    const ready = await waitForInstance(store, 'web-1', { timeoutMs: 15_000, pollMs: 20 });
    expect(ready.ok).toBe(true);
    expect((await store.listAudit({ target: 'instance/web-1' })).items.at(-1)?.actor).toBe(
      'health',
    );
    expect(upstream.seen.some((s) => s.url === '/healthz')).toBe(true);

    // The proxy routes to it once the ready instance reaches it through the stream.
    const out = proxy.outbound!.port;
    const get = () =>
      send(out, { path: 'http://web/', headers: { baggage: 'turnout-product=shop' } });
    await waitFor('a routed request', async () => (await get()).status === 200);
    for (let i = 0; i < 9; i++) expect((await get()).status).toBe(200);

    // A proxy's first scrape is only a baseline (its counters may date from long before), so on a
    // busy machine the requests above can all fall before it: keep sending until they show.
    await waitFor(
      'traffic in /v1/traffic',
      async () => {
        const status = (await get()).status;
        if (status !== 200) throw new Hopeless(`a routed request answered ${status}`);
        return (await api('GET', '/v1/traffic?product=shop&lane=stable')).body.total.requests >= 10;
      },
      { everyMs: 50 },
    );
    const traffic = await api('GET', '/v1/traffic?module=web');
    expect(traffic.body.keys.map((k: { key: object }) => k.key)).toEqual([
      { product: 'shop', lane: 'stable', module: 'web', version: '1.0.0' },
    ]);
    expect(traffic.body.total.errors).toBe(0);

    // A second instance on a lease that is not renewed: swept, and out of the stream.
    const other = await startUpstream('web@1.0.0-b');
    try {
      await api('POST', '/v1/instances', {
        id: 'web-2',
        module: 'web',
        version: '1.0.0',
        host: 'h2',
        address: other.address,
      });
      const beat = await api('POST', '/v1/instances/heartbeat', { ids: ['web-2'], ttlMs: 600 });
      expect(beat.body).toMatchObject({ renewed: 1, unknown: [] });
      const swept = await waitForInstance(
        store,
        'web-2',
        { timeoutMs: 15_000, pollMs: 20 },
        (i) => i?.health === 'unhealthy',
      );
      expect(swept.ok).toBe(true);
      const audit = (await store.listAudit({ target: 'instance/web-2' })).items;
      expect(audit.map((e) => e.actor)).toContain('registry');
    } finally {
      await other.close();
    }

    const stopped = performance.now();
    await cp.stop();
    await cp.stop(); // idempotent
    expect(performance.now() - stopped).toBeLessThan(10_000);
    await expect(request(`${cp.url}/v1/orgs`)).rejects.toThrow();
  });
});
