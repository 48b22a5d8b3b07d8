// A control plane started after an outage of the whole control plane (issue 13: "kill -9 of the
// server mid-canary: every host keeps routing; the restarted server resumes"). While it was away no
// heartbeat could arrive, so its hosts' leases ran out; it must not call them lost at once: its
// first snapshot still routes their instances and the sweeper leaves them up, until the resume
// grace has passed without a heartbeat. Real SQLite store, the real control plane.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ControlPlane } from '../../src/server/control-plane.js';
import { startControlPlane } from '../../src/server/control-plane.js';
import { expiredHosts } from '../../src/server/lease-resume.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import { TEST_AUTH } from '../api/harness.js';

const ACTOR = 'rey';

async function fleetWithExpiredLeases(store: Store, expiredAt: string): Promise<void> {
  await store.createOrg({ name: 'acme' }, ACTOR);
  await store.createModule(
    { name: 'orders', org: 'acme', run: { process: { command: 'node' } } },
    ACTOR,
  );
  await store.createVersion({ module: 'orders', version: '1.0.0' }, ACTOR);
  await store.createProduct(
    { name: 'shop', org: 'acme', entry: 'orders', baseDtab: '/svc/orders => /v/orders/1.0.0;' },
    ACTOR,
  );
  await store.registerHost({ name: 'h1', address: '10.0.0.1', labels: { zone: 'a' } }, 'agent:h1');
  await store.renewHostLease('h1', expiredAt, 'agent:h1');
  await store.createInstance(
    {
      id: 'orders-1.0.0-0',
      module: 'orders',
      version: '1.0.0',
      host: 'h1',
      address: '10.0.0.1:4001',
      state: 'ready',
      health: 'healthy',
      leaseExpiresAt: expiredAt,
    },
    ACTOR,
  );
}

describe('leases after an outage of the control plane', () => {
  let dir = '';
  let store: Store | null = null;
  let cp: ControlPlane | null = null;

  afterEach(async () => {
    await cp?.stop();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
    cp = null;
    store = null;
  });

  it('a restarted control plane still routes the hosts whose lease ran out while it was away', async () => {
    dir = mkdtempSync(join(tmpdir(), 'turnout-lease-resume-'));
    store = await openSqliteStore(join(dir, 'turnout.db'));
    await fleetWithExpiredLeases(store, new Date(Date.now() - 60_000).toISOString());
    cp = await startControlPlane({
      store,
      auth: TEST_AUTH,
      listen: { host: '127.0.0.1', port: 0 },
      leaseResumeMs: 600_000,
    });
    // The first snapshot, the one every proxy gets on reconnecting, still has the endpoint.
    expect(cp.publisher.current()?.json).toContain('10.0.0.1:4001');
    expect(await cp.leaseSweeper.sweep()).toEqual([]);
    expect((await store.getHost('h1'))?.state).toBe('ready');
    expect(await store.getInstance('orders-1.0.0-0')).toMatchObject({
      state: 'ready',
      health: 'healthy',
    });
    expect(Date.parse((await store.getHost('h1'))?.leaseExpiresAt ?? '')).toBeGreaterThan(
      Date.now(),
    );
  });

  it('picks hosts whose lease ran out and that are not down, nothing else', () => {
    const t = '2026-01-01T00:00:00.000Z';
    const host = (name: string, state: 'ready' | 'down' | 'cordoned', lease: string | null) => ({
      name,
      address: '10.0.0.1',
      labels: {},
      capacity: null,
      state,
      leaseExpiresAt: lease,
      registeredBy: null,
      createdAt: t,
      updatedAt: t,
    });
    const now = Date.parse('2026-01-01T00:01:00.000Z');
    const hosts = [
      host('gone', 'ready', '2026-01-01T00:00:30.000Z'),
      host('cordoned', 'cordoned', '2026-01-01T00:00:30.000Z'),
      host('down', 'down', '2026-01-01T00:00:30.000Z'),
      host('fresh', 'ready', '2026-01-01T00:02:00.000Z'),
      host('never', 'ready', null),
      host('soon', 'ready', '2026-01-01T00:01:05.000Z'),
    ];
    expect(expiredHosts(hosts, now).map((h) => h.name)).toEqual(['gone', 'cordoned']);
    // A lease that ends within the grace would lapse before a backed-off heartbeat: resumed too.
    expect(expiredHosts(hosts, now, 10_000).map((h) => h.name)).toEqual([
      'gone',
      'cordoned',
      'soon',
    ]);
  });
});
