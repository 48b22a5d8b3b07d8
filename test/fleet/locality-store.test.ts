// Endpoint zones from a real store (SQLite), through the publisher (what the stream sends): it
// reads the hosts, so each endpoint carries its host's zone, and a host registering again with
// another zone changes it in a newer snapshot. Through the publisher rather than the compile
// function, so whichever compile the publisher uses must carry the zones.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Snapshot } from '../../src/config/snapshot.js';
import { SnapshotPublisher } from '../../src/control/publisher.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import { ACTOR, seed } from '../store/fixtures.js';

let dir: string;
let store: Store;
let publisher: SnapshotPublisher | undefined;

beforeEach(async () => {
  publisher = undefined;
  dir = await mkdtemp(join(tmpdir(), 'turnout-locality-'));
  store = await openSqliteStore(join(dir, 'turnout.db'));
  await store.transaction((tx) => seed(tx)); // instance i-1 of orders 1.0.0 on host h1
  await store.updateInstance('i-1', { state: 'ready', health: 'healthy' }, ACTOR);
  await store.createInstance(
    {
      id: 'i-2',
      module: 'orders',
      version: '1.0.0',
      host: 'h2',
      address: '127.0.0.1:9002',
      state: 'ready',
      health: 'healthy',
    },
    ACTOR,
  );
});

afterEach(async () => {
  publisher?.stop();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

/** The orders 1.0.0 endpoints of the snapshot the publisher holds after checking the store. */
async function ordersEndpoints() {
  if (publisher === undefined) {
    publisher = new SnapshotPublisher(store, { pollIntervalMs: 60_000 });
    await publisher.start();
  } else {
    await publisher.notify();
  }
  const snapshot = JSON.parse(publisher.current()!.json) as Snapshot;
  const orders = snapshot.modules.find((m) => m.name === 'orders')!;
  return {
    version: snapshot.version,
    endpoints: orders.versions.find((v) => v.version === '1.0.0')!.endpoints,
  };
}

it("gives each endpoint its host's zone label, none for a host without one", async () => {
  await store.registerHost({ name: 'h1', address: '10.0.0.11', labels: { zone: 'a' } }, ACTOR);
  await store.registerHost({ name: 'h2', address: '10.0.0.12', labels: { rack: '7' } }, ACTOR);
  expect((await ordersEndpoints()).endpoints).toEqual([
    { address: '127.0.0.1:9001', state: 'ready', weight: 1, zone: 'a' },
    { address: '127.0.0.1:9002', state: 'ready', weight: 1 },
  ]);
});

it('a host registering again with another zone moves its endpoints, in a newer snapshot', async () => {
  await store.registerHost({ name: 'h1', address: '10.0.0.11', labels: { zone: 'a' } }, ACTOR);
  const before = await ordersEndpoints();
  await store.registerHost({ name: 'h1', address: '10.0.0.11', labels: { zone: 'b' } }, ACTOR);
  const after = await ordersEndpoints();
  expect(after.endpoints[0]).toMatchObject({ address: '127.0.0.1:9001', zone: 'b' });
  expect(after.version).toBeGreaterThan(before.version); // the publisher sends it
});
