// Replicas sharing a store: only the one holding the release engine's lease probes instances and
// sweeps expired leases (one prober, one writer of health). Here the lease is first held by
// "another replica" (the test, through the store), then given up; the control plane under test
// probes and sweeps only from the moment its engine takes the lease.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { ENGINE_LEASE } from '../../src/release/engine.js';
import type { ControlPlane } from '../../src/server/control-plane.js';
import { startControlPlane } from '../../src/server/control-plane.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import { TEST_AUTH } from '../api/harness.js';
import type { Upstream } from '../proxy/harness.js';
import { startUpstream } from '../proxy/harness.js';
import { waitFor } from '../support/wait.js';

let dir: string;
let store: Store;
let cp: ControlPlane | undefined;
let upstream: Upstream;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'turnout-lead-'));
  store = await openSqliteStore(join(dir, 'turnout.db'));
  upstream = await startUpstream('web@1.0.0');
});
afterEach(async () => {
  await cp?.stop();
  await upstream.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const probes = () => upstream.seen.filter((s) => s.url === '/healthz').length;

it('probes and sweeps only on the replica that holds the engine lease', async () => {
  await store.createOrg({ name: 'acme' }, 'ada');
  await store.createModule(
    {
      name: 'web',
      org: 'acme',
      run: { process: { command: 'node' } },
      // A probe's timeout is its interval: long enough for a busy machine.
      health: { path: '/healthz', intervalMs: 5_000 },
    },
    'ada',
  );
  await store.createVersion({ module: 'web', version: '1.0.0' }, 'ada');
  await store.createInstance(
    { id: 'web-1', module: 'web', version: '1.0.0', host: 'h1', address: upstream.address },
    'ada',
  );
  // web-2's lease ran out long ago: a sweeping replica marks it unhealthy.
  await store.createInstance(
    {
      id: 'web-2',
      module: 'web',
      version: '1.0.0',
      host: 'h1',
      address: '127.0.0.1:9',
      state: 'ready',
      health: 'healthy',
      leaseExpiresAt: new Date(Date.now() - 60_000).toISOString(),
    },
    'ada',
  );
  // Another replica leads for the next minute.
  expect(await store.acquireLease(ENGINE_LEASE, 'other-replica', 60_000)).toBe(true);

  cp = await startControlPlane({
    store,
    auth: TEST_AUTH,
    listen: { host: '127.0.0.1', port: 0 },
    release: { runtime: null, holder: 'replica-b' },
    // Probes due at once (no start-up spread), so checkNow() shows what this replica would do.
    health: { tickMs: 10, refreshMs: 20, random: () => 0 },
    leaseSweepMs: 20,
  });
  const engine = cp.engine!;
  await engine.kick();
  expect(engine.isLeader).toBe(false);
  await cp.healthChecker.checkNow();
  expect(await cp.leaseSweeper.sweep()).toEqual([]);
  expect(probes()).toBe(0);
  expect(cp.healthChecker.counters('web-1')).toBeNull();
  expect((await store.getInstance('web-2'))?.health).toBe('healthy');

  // The other replica goes away (gives the lease up): this one leads, probes and sweeps.
  await store.releaseLease(ENGINE_LEASE, 'other-replica');
  await engine.kick();
  expect(engine.isLeader).toBe(true);
  await cp.healthChecker.checkNow();
  expect(probes()).toBeGreaterThan(0);
  expect(cp.healthChecker.counters('web-1')).not.toBeNull();
  await waitFor(
    'web-2 swept',
    async () => (await store.getInstance('web-2'))?.health === 'unhealthy',
  );
});
