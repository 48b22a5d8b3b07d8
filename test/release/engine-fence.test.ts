// Reclaim and recovery writes are fenced by the engine's lease, like reconcile's decisions, as
// Given / When / Then: given a replica that observed the store while it led, when another replica
// takes the lease before the first one writes, then the first one's drain, stop or registration
// is refused and the store is as the new leader found it. Real SQLite store; the runtime is a
// list of what "runs" (the engine only asks it what it runs and to stop, never here).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ENGINE_LEASE, ReleaseEngine } from '../../src/release/engine.js';
import type { RunningInstance, Runtime } from '../../src/runtime/runtime.js';
import type { InstanceState } from '../../src/store/model.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';

const ACTOR = 'test';

async function given(store: Store, state: InstanceState): Promise<void> {
  await store.createOrg({ name: 'acme' }, ACTOR);
  await store.createModule(
    { name: 'orders', org: 'acme', calls: [], run: { process: { command: 'node' } } },
    ACTOR,
  );
  for (const version of ['1.0.0', '2.0.0'])
    await store.createVersion({ module: 'orders', version }, ACTOR);
  // The base dtab names 2.0.0: nothing keeps 1.0.0, so reclaim drains it.
  await store.createProduct(
    { name: 'shop', org: 'acme', entry: 'orders', baseDtab: '/svc/orders => /v/orders/2.0.0;' },
    ACTOR,
  );
  await store.createInstance(
    {
      id: 'orders-1.0.0-0',
      module: 'orders',
      version: '1.0.0',
      host: 'local',
      address: '127.0.0.1:9',
      state,
      health: 'healthy',
    },
    ACTOR,
  );
}

/** A runtime that runs `ids` (of orders@1.0.0) and is never asked to start anything here. */
function runtimeRunning(ids: string[]): Runtime {
  const list = (): RunningInstance[] =>
    ids.map((id) => ({
      id,
      module: 'orders',
      version: '1.0.0',
      address: '127.0.0.1:9',
      pid: 1,
      startedAt: new Date(0).toISOString(),
      restarts: 0,
    }));
  return {
    start: () => Promise.reject(new Error('not in this test')),
    stop: () => Promise.resolve(),
    list,
    adopt: () => Promise.resolve({ adopted: [], dead: [] }),
    logs: () => Promise.resolve(''),
    health: () => Promise.resolve(null),
    on: () => {},
    close: () => Promise.resolve(),
  };
}

/** The store, with replica `b` taking the lease right after the engine's first read (observe). */
function takenOverAfterObserve(store: Store): Store {
  let first = true;
  return new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (prop !== 'transaction') return typeof value === 'function' ? value.bind(target) : value;
      return async <T>(fn: Parameters<Store['transaction']>[0]) => {
        const result = (await target.transaction(fn)) as T;
        if (first) {
          first = false;
          await target.releaseLease(ENGINE_LEASE, 'a');
          expect(await target.acquireLease(ENGINE_LEASE, 'b', 60_000)).toBe(true);
        }
        return result;
      };
    },
  });
}

describe('engine: reclaim and recovery writes are fenced by the lease', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function run(
    state: InstanceState,
    running: string[],
    takenOver: boolean,
  ): Promise<{ store: Store; states: Record<string, string> }> {
    dir = mkdtempSync(join(tmpdir(), 'turnout-fence-'));
    const store = await openSqliteStore(join(dir, 'turnout.db'));
    await given(store, state);
    const engine = new ReleaseEngine({
      store: takenOver ? takenOverAfterObserve(store) : store,
      runtime: runtimeRunning(running),
      traffic: null,
      holder: 'a',
      leaseTtlMs: 60_000,
    });
    await engine.kick();
    await engine.stop();
    const states = Object.fromEntries(
      (await store.listInstances({})).items.map((i) => [i.id, i.state]),
    );
    return { store, states };
  }

  it('the leader drains what no product needs (the control for the cases below)', async () => {
    const { store, states } = await run('ready', ['orders-1.0.0-0'], false);
    expect(states).toEqual({ 'orders-1.0.0-0': 'draining' });
    await store.close();
  });

  it('a replica that lost the lease after observing does not drain: the instance stays ready', async () => {
    const { store, states } = await run('ready', ['orders-1.0.0-0'], true);
    expect(states).toEqual({ 'orders-1.0.0-0': 'ready' });
    await store.close();
  });

  it('a replica that lost the lease does not record a lost draining instance as stopped', async () => {
    const { store, states } = await run('draining', [], true);
    expect(states).toEqual({ 'orders-1.0.0-0': 'draining' });
    await store.close();
  });

  it('a replica that lost the lease does not register an instance its runtime adopted', async () => {
    const { store, states } = await run('ready', ['orders-1.0.0-0', 'orders-1.0.0-1'], true);
    expect(states).toEqual({ 'orders-1.0.0-0': 'ready' });
    await store.close();
  });
});
