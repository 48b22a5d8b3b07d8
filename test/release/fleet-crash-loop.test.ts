// Issue 16 in a fleet: the release engine over FleetRuntime on a real SQLite store, the hosts'
// agents played over the store (fleet-agents.ts). An instance whose agent reports it exiting again
// and again fails its deploy as soon as it has exited 3 times — naming the exit code, the log line
// its agent reported and `turnout logs <id>` — not after the readiness timeout.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { runCommand } from '../../src/release/commands.js';
import { ReleaseEngine } from '../../src/release/engine.js';
import { FleetRuntime } from '../../src/release/fleet-runtime.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import { waitFor } from '../support/wait.js';
import { PlayedAgents } from './fleet-agents.js';

const ACTOR = 'rey';

let dir = '';
let store: Store;
let agents: PlayedAgents;
let engine: ReleaseEngine;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'turnout-fleet-crash-'));
  store = await openSqliteStore(join(dir, 'turnout.db'));
  await store.createOrg({ name: 'acme' }, ACTOR);
  await store.createModule(
    { name: 'orders', org: 'acme', run: { process: { command: 'node' } } },
    ACTOR,
  );
  await store.createVersion({ module: 'orders', version: '2.0.0' }, ACTOR);
  await store.createProduct({ name: 'shop', org: 'acme', entry: 'orders' }, ACTOR);
  agents = new PlayedAgents(store, [{ name: 'a1', zone: 'a', address: '10.0.0.1' }]);
  const fleet = new FleetRuntime({ store, pollMs: 10, startTimeoutMs: 20_000 });
  engine = new ReleaseEngine({ store, runtime: fleet, traffic: null, leaseTtlMs: 60_000 });
});

afterEach(async () => {
  await agents.stop();
  await engine.stop();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

it('an instance its agent reports crash-looping fails the deploy after 3 exits, saying why', async () => {
  agents.crashing.set('orders-2.0.0-0', { code: 3, line: 'orders: no database' });
  await agents.register();
  agents.start();
  const t = await store.createTicket(
    { product: 'shop', items: [{ module: 'orders', version: '2.0.0' }] },
    ACTOR,
  );
  await store.transaction((tx) => runCommand(tx, t.id, { command: 'deploy' }, ACTOR));
  const failed = await waitFor(
    'the deploy to fail',
    async () => {
      await engine.kick();
      const events = (await store.listTicketEvents(t.id, { limit: 100 })).items;
      return events.find((e) => e.type === 'deploy.failed');
    },
    { timeoutMs: 60_000 },
  );
  const data = failed.data as {
    message: string;
    crashLoop: boolean;
    instances: { exits: number }[];
  };
  // On the crash loop, long before the 60 s readiness timeout.
  expect(data.crashLoop).toBe(true);
  expect(data.instances[0]?.exits).toBeGreaterThanOrEqual(3);
  expect(data.message).toMatch(/^deploy failed: every instance of level 0 keeps crashing/);
  expect(data.message).toContain(
    `orders-2.0.0-0 exited ${data.instances[0]?.exits} times, last with code 3`,
  );
  expect(data.message).toContain('"orders: no database"');
  expect(data.message).toContain('see `turnout logs orders-2.0.0-0`');
  expect((await store.getTicket(t.id))?.state).toBe('failed');
}, 90_000);
