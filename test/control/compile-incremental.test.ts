// The incremental compile and the deltas against the full compile, on a real SQLite store: random
// sequences of store changes (instances added, changed, removed; versions; lanes; the product's
// dtab; the clock passing lease expiries). After every step the incremental compiler's result must
// equal compileStoreSnapshot's (snapshot deep equal, identical JSON), and the delta from the
// previous snapshot, applied to it through JSON, must give the full compile's snapshot. A second
// compiler follows the store through its change feed only (readStoreChanges → compileChanges, as
// the publisher does), never reading every row after its first compile: it must give the same.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyDelta, diffSnapshots } from '../../src/config/delta.js';
import type { Snapshot } from '../../src/config/snapshot.js';
import { compileStoreSnapshot, SnapshotCompiler } from '../../src/control/compile-snapshot.js';
import { readStoreState } from '../../src/control/publisher.js';
import { readStoreChanges } from '../../src/control/store-changes.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import { ACTOR, seed } from '../store/fixtures.js';

const MODULES = ['account', 'payments', 'orders', 'web'] as const;
const LABELS = ['1.0.0', '1.1.0', '2.0.0'] as const;
const T0 = Date.parse('2026-01-01T00:00:00Z');
const HOSTS = ['h1', 'h2'] as const;
/** A host's zone label: none, a or b (the endpoints of its instances carry it). */
const ZONES = [null, 'a', 'b'] as const;

type Op =
  | { kind: 'add'; module: number; version: number; state: number; lease: number | null }
  | {
      kind: 'patch';
      pick: number;
      state: number;
      weight: number;
      health: number;
      lease: number | null;
    }
  | { kind: 'delete'; pick: number }
  | { kind: 'version'; module: number; version: number; remove: boolean }
  | { kind: 'lane'; overlay: number; remove: boolean }
  | { kind: 'dtab'; which: number }
  | { kind: 'zone'; host: number; zone: number }
  | { kind: 'tick'; ms: number };

const STATES = ['starting', 'ready', 'draining', 'stopped'] as const;
const HEALTH = ['unknown', 'healthy', 'unhealthy'] as const;
const lease = fc.option(fc.integer({ min: 1, max: 5_000 }), { nil: null });

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('add' as const),
      module: fc.nat(3),
      version: fc.nat(2),
      state: fc.nat(3),
      lease,
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('patch' as const),
      pick: fc.nat(),
      state: fc.nat(3),
      weight: fc.nat(3),
      health: fc.nat(2),
      lease,
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('version' as const),
      module: fc.nat(3),
      version: fc.nat(2),
      remove: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('lane' as const),
      overlay: fc.nat(2),
      remove: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('dtab' as const), which: fc.nat(1) }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('zone' as const), host: fc.nat(1), zone: fc.nat(2) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('tick' as const),
      ms: fc.integer({ min: 1, max: 3_000 }),
    }),
  },
);

async function apply(store: Store, o: Op, now: number, ids: string[], n: number): Promise<number> {
  const at = (ms: number | null) => (ms === null ? null : new Date(now + ms).toISOString());
  switch (o.kind) {
    case 'add': {
      const id = `i-x${n}`;
      await store.createInstance(
        {
          id,
          module: MODULES[o.module]!,
          version: LABELS[o.version]!,
          host: HOSTS[n % HOSTS.length]!,
          address: `10.0.0.${n % 3}:${9000 + n}`,
          state: STATES[o.state]!,
          health: 'healthy',
          leaseExpiresAt: at(o.lease),
        },
        ACTOR,
      );
      ids.push(id);
      return now;
    }
    case 'patch':
      if (ids.length === 0) return now;
      await store.updateInstance(
        ids[o.pick % ids.length]!,
        {
          state: STATES[o.state]!,
          weight: o.weight,
          health: HEALTH[o.health]!,
          leaseExpiresAt: at(o.lease),
        },
        ACTOR,
      );
      return now;
    case 'delete': {
      if (ids.length === 0) return now;
      const [id] = ids.splice(o.pick % ids.length, 1);
      await store.deleteInstance(id!, ACTOR);
      return now;
    }
    case 'version':
      if (o.remove) await store.deleteVersion(MODULES[o.module]!, LABELS[o.version]!, ACTOR);
      else
        await store.createVersion(
          { module: MODULES[o.module]!, version: LABELS[o.version]! },
          ACTOR,
        );
      return now;
    case 'lane': {
      const input = {
        product: 'shop',
        name: 'qa',
        overlay: `/svc/orders => /v/orders/${LABELS[o.overlay]!};`,
        rules: [{ lane: 'qa', header: { name: 'x-qa', equals: String(o.overlay) } }],
      };
      if (o.remove) await store.deleteLane('shop', 'qa', ACTOR);
      else if ((await store.getLane('shop', 'qa')) === null) await store.createLane(input, ACTOR);
      else await store.updateLane(input, ACTOR);
      return now;
    }
    case 'dtab': {
      const { name, org, entry, hosts } = (await store.getProduct('shop'))!;
      const baseDtab = o.which === 0 ? '/svc => /v;' : '/svc => /v;/svc/web => /v/web/1.0.0;';
      await store.updateProduct({ name, org, entry, hosts, baseDtab }, ACTOR);
      return now;
    }
    case 'zone': {
      const zone = ZONES[o.zone] ?? null;
      await store.registerHost(
        {
          name: HOSTS[o.host]!,
          address: `10.0.1.${o.host + 1}`,
          labels: zone === null ? {} : { zone },
          capacity: 10,
        },
        ACTOR,
      );
      return now;
    }
    case 'tick':
      return now + o.ms;
  }
}

describe('incremental compile and deltas', () => {
  it('equal the full compile after every change of a random sequence', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), async (ops) => {
        const dir = await mkdtemp(join(tmpdir(), 'turnout-incremental-'));
        const store = await openSqliteStore(join(dir, 'turnout.db'));
        try {
          await seed(store);
          const compiler = new SnapshotCompiler();
          const fed = new SnapshotCompiler();
          const ids = ['i-1'];
          let now = T0;
          const first = compiler.compile(await readStoreState(store), new Date(now));
          if (!first.ok) throw first.error;
          fed.compile(await readStoreState(store), new Date(now));
          let prev: Snapshot = first.snapshot;
          for (const [n, o] of ops.entries()) {
            try {
              now = await apply(store, o, now, ids, n);
            } catch {
              // A change the store refuses (a version still in use, a missing lane) changes nothing.
            }
            const state = await readStoreState(store);
            const full = compileStoreSnapshot(state, new Date(now));
            const inc = compiler.compile(state, new Date(now));
            expect(inc).toEqual(full);
            const changes = await readStoreChanges(store, fed.version()!);
            expect(changes).not.toBeNull(); // no gap: every change is in the feed
            expect(changes!.changeVersion).toBe(state.changeVersion);
            expect(fed.compileChanges(changes!, new Date(now))).toEqual(full);
            if (!full.ok || !inc.ok) continue;
            expect(inc.json).toBe(full.json);
            const delta = diffSnapshots(prev, inc.snapshot, 'a', 'b');
            expect(applyDelta(prev, JSON.parse(JSON.stringify(delta)))).toEqual(full.snapshot);
            prev = inc.snapshot;
          }
        } finally {
          await store.close();
          await rm(dir, { recursive: true, force: true });
        }
      }),
      { numRuns: 30 },
    );
  }, 120_000);

  it('after one instance changes, validates one part only', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'turnout-incremental-'));
    const store = await openSqliteStore(join(dir, 'turnout.db'));
    try {
      await seed(store);
      const compiler = new SnapshotCompiler();
      compiler.compile(await readStoreState(store));
      expect(compiler.lastValidated).toBe(6); // 5 modules + 1 product, cold
      await store.updateInstance('i-1', { weight: 7 }, ACTOR);
      const r = compiler.compile(await readStoreState(store));
      expect(r.ok).toBe(true);
      expect(compiler.lastValidated).toBe(1);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
