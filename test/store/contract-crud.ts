// Contract: migrations, CRUD round trips for every record, and pagination.

import { describe, expect, it } from 'vitest';
import { MIGRATION_NAMES } from '../../src/store/migrations/index.js';
import { ACTOR, collect, expectError, proc, seed } from './fixtures.js';
import type { ContractEnv } from './store-contract.js';

const TABLES = [
  'applied',
  'audit',
  'change_counter',
  'instances',
  'lanes',
  'leases',
  'modules',
  'orgs',
  'products',
  'ticket_events',
  'ticket_items',
  'tickets',
  'versions',
];

export function crudTests(env: ContractEnv): void {
  describe('migrations', () => {
    it('migrate an empty database, and a re-run applies nothing', async () => {
      const target = await env.factory();
      try {
        expect(await target.tables()).toEqual([]);
        expect(await target.migrate()).toEqual(MIGRATION_NAMES);
        expect(await target.migrate()).toEqual([]);
        expect(await target.tables()).toEqual(expect.arrayContaining(TABLES));
        const store = await target.open(); // opening migrates again: a no-op
        expect(await store.changeVersion()).toBe(0);
        expect((await store.listOrgs()).items).toEqual([]);
        await store.close();
      } finally {
        await target.dispose();
      }
    });

    it('two stores opening one new database at once both migrate it safely', async () => {
      const target = await env.factory();
      try {
        const [a, b] = await Promise.all([target.open(), target.open()]);
        await a.createOrg({ name: 'acme' }, ACTOR);
        expect((await b.getOrg('acme'))?.name).toBe('acme');
        await Promise.all([a.close(), b.close()]);
        expect(await target.migrate()).toEqual([]);
      } finally {
        await target.dispose();
      }
    });

    it('reopening keeps the data', async () => {
      await env.store().createOrg({ name: 'acme' }, ACTOR);
      const again = await env.openAnother();
      expect((await again.getOrg('acme'))?.name).toBe('acme');
      expect(await again.changeVersion()).toBe(1);
    });
  });

  describe('round trips', () => {
    it('orgs, products and modules, with defaults filled in', async () => {
      const s = env.store();
      expect(await s.createOrg({ name: 'acme' }, ACTOR)).toMatchObject({ name: 'acme' });
      const module = await s.createModule({ name: 'orders', org: 'acme', run: proc() }, ACTOR);
      expect(module).toMatchObject({
        calls: [],
        health: { path: '/healthz', intervalMs: 5000, healthyThreshold: 1, unhealthyThreshold: 3 },
        run: { process: { command: 'node', args: [], cwd: null, env: {} } },
      });
      expect(await s.getModule('orders')).toEqual(module);
      const product = await s.createProduct({ name: 'shop', org: 'acme', entry: 'orders' }, ACTOR);
      expect(product).toMatchObject({ hosts: [], retainTickets: 5, baseDtab: '' });
      expect(await s.getProduct('shop')).toEqual(product);
      expect(await s.getOrg('nope')).toBeNull();

      const k8s = { kubernetes: { image: 'registry.local/orders' } };
      const updated = await s.updateModule({ name: 'orders', org: 'acme', run: k8s }, ACTOR);
      expect(updated.run).toEqual(k8s);
      expect(updated.createdAt).toBe(module.createdAt);
      expect(await s.getModule('orders')).toEqual(updated);
      const p2 = await s.updateProduct(
        { name: 'shop', org: 'acme', entry: 'orders', hosts: ['shop.test'], retainTickets: 2 },
        ACTOR,
      );
      expect(await s.getProduct('shop')).toEqual(p2);

      await s.deleteProduct('shop', ACTOR);
      await s.deleteModule('orders', ACTOR);
      await s.deleteOrg('acme', ACTOR);
      expect(await s.getOrg('acme')).toBeNull();
      expect(await s.getModule('orders')).toBeNull();
      expect(await s.getProduct('shop')).toBeNull();
    });

    it('versions, instances, lanes and tickets', async () => {
      const s = env.store();
      await s.transaction((tx) => seed(tx));
      const env2 = { process: { cwd: '/srv/orders/2.0.0', env: { MODE: 'fast' } } };
      const v = await s.createVersion({ module: 'orders', version: '2.0.0', run: env2 }, ACTOR);
      expect(await s.getVersion('orders', '2.0.0')).toEqual(v);
      expect(v.run).toEqual(env2);

      const i = await s.createInstance(
        { module: 'orders', version: '2.0.0', host: 'h2', address: '10.0.0.2:8080' },
        ACTOR,
      );
      expect(i).toMatchObject({ state: 'starting', health: 'unknown', weight: 1 });
      expect(i.id).toMatch(/^[0-9a-f-]{36}$/);
      const ready = await s.updateInstance(i.id, { state: 'ready', health: 'healthy' }, ACTOR);
      expect(await s.getInstance(i.id)).toEqual(ready);
      expect(ready).toMatchObject({ state: 'ready', health: 'healthy', host: 'h2' });

      // Stopped, nothing probes it: its health is unknown, not its last verdict, and a late
      // healthy report does not bring that back.
      const stopped = await s.updateInstance(i.id, { state: 'stopped' }, ACTOR);
      expect(stopped).toMatchObject({ state: 'stopped', health: 'unknown' });
      expect(await s.updateInstance(i.id, { health: 'healthy' }, ACTOR)).toEqual(stopped);
      expect(await s.getInstance(i.id)).toEqual(stopped);
      const registered = await s.createInstance(
        {
          id: 'i-stopped',
          module: 'orders',
          version: '2.0.0',
          host: 'h2',
          address: '10.0.0.2:8081',
          state: 'stopped',
          health: 'healthy',
        },
        ACTOR,
      );
      expect(registered).toMatchObject({ state: 'stopped', health: 'unknown' });

      const lane = await s.getLane('shop', 'dev');
      expect(lane?.rules).toEqual([{ lane: 'dev', header: { name: 'x-dev', equals: '1' } }]);
      const lane2 = await s.updateLane(
        { product: 'shop', name: 'dev', overlay: '', rules: [] },
        ACTOR,
      );
      expect(await s.getLane('shop', 'dev')).toEqual(lane2);

      const t = await s.createTicket(
        {
          product: 'shop',
          items: [
            { module: 'web', version: '1.0.0' },
            { module: 'orders', version: '2.0.0' },
          ],
        },
        ACTOR,
      );
      expect(t).toMatchObject({ id: 2, state: 'open', createdBy: ACTOR, revertOf: null });
      expect(t.items.map((x) => x.module)).toEqual(['orders', 'web']); // a set, sorted
      expect(await s.getTicket(2)).toEqual(t);
      const amended = await s.updateTicket(
        2,
        { state: 'deploying', items: [{ module: 'orders', version: '1.1.0' }] },
        ACTOR,
      );
      expect(await s.getTicket(2)).toEqual(amended);
      const revert = await s.createTicket(
        { product: 'shop', items: [{ module: 'orders', version: '1.0.0' }], revertOf: 2 },
        ACTOR,
      );
      expect(revert.revertOf).toBe(2);

      await s.deleteInstance(i.id, ACTOR);
      await s.deleteLane('shop', 'dev', ACTOR);
      expect(await s.getInstance(i.id)).toBeNull();
      expect(await s.getLane('shop', 'dev')).toBeNull();
    });

    it('tickets keep goal, plan and progress, and number promotions in order', async () => {
      const s = env.store();
      await s.transaction((tx) => seed(tx));
      const items = [{ module: 'orders', version: '1.1.0' }];
      const t = await s.createTicket(
        { product: 'shop', items, goal: 'deployed', plan: { surge: 2 } },
        ACTOR,
      );
      expect(t).toMatchObject({ goal: 'deployed', plan: { surge: 2 }, progress: {} });
      expect(t.promotedSeq).toBeNull();
      const moved = await s.updateTicket(
        t.id,
        { state: 'deployed', progress: { phase: 'ready', at: 3 } },
        'engine',
      );
      expect(await s.getTicket(t.id)).toEqual(moved);
      expect(moved.progress).toEqual({ phase: 'ready', at: 3 });

      const auditBefore = (await s.listAudit({ limit: 1000 })).items.length;
      const versionBefore = await s.changeVersion();
      const same = await s.updateTicket(t.id, { state: 'deployed', goal: 'deployed' }, 'engine');
      expect(same).toEqual(moved); // nothing changed: nothing written
      expect((await s.listAudit({ limit: 1000 })).items.length).toBe(auditBefore);
      expect(await s.changeVersion()).toBe(versionBefore);

      const first = await s.updateTicket(t.id, { state: 'promoted', goal: 'promoted' }, 'engine');
      const t2 = await s.createTicket({ product: 'shop', items }, ACTOR);
      const second = await s.updateTicket(t2.id, { state: 'promoted' }, 'engine');
      expect(first.promotedSeq).not.toBeNull();
      expect(second.promotedSeq).toBe((first.promotedSeq ?? 0) + 1);
      // Set once: a later update of a promoted ticket keeps its place.
      const again = await s.updateTicket(t.id, { progress: { reclaimed: true } }, 'engine');
      expect(again.promotedSeq).toBe(first.promotedSeq);
      await expectError(
        s.updateTicket(t.id, { goal: 'sideways' as 'promoted' }, 'engine'),
        'invalid_config',
        'goal',
      );
    });

    it('a lease has one holder until it expires or is released', async () => {
      const s = env.store();
      expect(await s.acquireLease('engine', 'a', 60_000)).toBe(true);
      expect(await s.acquireLease('engine', 'b', 60_000)).toBe(false);
      expect(await s.acquireLease('engine', 'a', 60_000)).toBe(true); // renewal
      await s.releaseLease('engine', 'b'); // not b's: no effect
      expect(await s.acquireLease('engine', 'b', 60_000)).toBe(false);
      await s.releaseLease('engine', 'a');
      expect(await s.acquireLease('engine', 'b', 1)).toBe(true);
      await new Promise((r) => setTimeout(r, 20));
      expect(await s.acquireLease('engine', 'a', 60_000)).toBe(true); // b's expired
      const other = await env.openAnother();
      const both = await Promise.all([
        other.acquireLease('solo', 'x', 60_000),
        s.acquireLease('solo', 'y', 60_000),
      ]);
      expect(both.filter(Boolean)).toHaveLength(1);
    });

    it('ticket events are appended in sequence', async () => {
      const s = env.store();
      await s.transaction((tx) => seed(tx));
      const a = await s.appendTicketEvent(
        1,
        { type: 'deploy.started', data: { batch: 1 } },
        'engine',
      );
      const b = await s.appendTicketEvent(1, { type: 'deploy.done' }, 'engine');
      expect([a.seq, b.seq]).toEqual([1, 2]);
      expect(b).toMatchObject({ ticketId: 1, data: null, actor: 'engine' });
      expect((await s.listTicketEvents(1)).items).toEqual([a, b]);
      await expectError(s.appendTicketEvent(99, { type: 'x' }, 'engine'), 'not_found', undefined);
    });
  });

  describe('pagination', () => {
    it('pages through a list in key order, every row once', async () => {
      const s = env.store();
      const names = Array.from({ length: 23 }, (_, i) => `org-${String(i).padStart(2, '0')}`);
      await s.transaction(async (tx) => {
        for (const name of [...names].reverse()) await tx.createOrg({ name }, ACTOR);
      });
      const { items, sizes } = await collect((p) => s.listOrgs(p), 10);
      expect(items.map((o) => o.name)).toEqual(names);
      expect(sizes).toEqual([10, 10, 3]);
      expect((await s.listOrgs({ limit: 23 })).nextCursor).toBeNull();
      expect((await s.listOrgs()).items).toHaveLength(23);
    });

    it('pages a composite key in byte order on every back-end', async () => {
      const s = env.store();
      await s.transaction(async (tx) => {
        await tx.createOrg({ name: 'acme' }, ACTOR);
        for (const name of ['a-b', 'ab', 'a0', 'b']) {
          await tx.createModule({ name, org: 'acme', run: proc() }, ACTOR);
          for (const version of ['1.0', '1-0', 'A', 'a']) {
            await tx.createVersion({ module: name, version }, ACTOR);
          }
        }
      });
      const { items } = await collect((p) => s.listVersions(p), 3);
      const keys = items.map((v) => `${v.module}@${v.version}`);
      expect(keys).toEqual([...keys].sort()); // JS sort is code-unit order, as is "C" / BINARY
      expect(keys).toHaveLength(16);
      const filtered = await collect((p) => s.listVersions({ ...p, module: 'ab' }), 3);
      expect(filtered.items.map((v) => v.version)).toEqual(['1-0', '1.0', 'A', 'a']);
    });

    it('filters lists and pages the audit log newest first', async () => {
      const s = env.store();
      await s.transaction((tx) => seed(tx));
      expect((await s.listModules({ org: 'acme' })).items).toHaveLength(5);
      expect((await s.listModules({ org: 'other' })).items).toEqual([]);
      expect((await s.listProducts({ org: 'acme' })).items.map((p) => p.name)).toEqual(['shop']);
      expect((await s.listInstances({ host: 'h1' })).items.map((i) => i.id)).toEqual(['i-1']);
      expect((await s.listInstances({ module: 'web' })).items).toEqual([]);
      expect((await s.listLanes({ product: 'shop' })).items.map((l) => l.name)).toEqual(['dev']);
      expect((await s.listTickets({ state: 'open' })).items.map((t) => t.id)).toEqual([1]);
      expect((await s.listTickets({ product: 'nope' })).items).toEqual([]);
      const newest = await collect((p) => s.listAudit({ ...p, newestFirst: true }), 4);
      const ids = newest.items.map((a) => a.id);
      expect(ids).toEqual([...ids].sort((a, b) => b - a));
      expect(ids).toHaveLength((await s.listAudit({ limit: 1000 })).items.length);
      const target = await s.listAudit({ target: 'product/shop' });
      expect(target.items.map((a) => a.action)).toEqual(['product.create']);
      await s.updateInstance('i-1', { state: 'ready' }, 'bob');
      const bob = await s.listAudit({ actor: 'bob' });
      expect(bob.items.map((a) => [a.actor, a.action, a.target])).toEqual([
        ['bob', 'instance.update', 'instance/i-1'],
      ]);
      expect((await s.listAudit({ actor: 'bob', target: 'product/shop' })).items).toEqual([]);
      expect((await s.listAudit({ actor: 'nobody' })).items).toEqual([]);
    });

    it('rejects a bad limit or cursor, naming the field', async () => {
      const s = env.store();
      await expectError(s.listOrgs({ limit: 0 }), 'invalid_argument', 'limit');
      await expectError(s.listOrgs({ limit: 1001 }), 'invalid_argument', 'limit');
      await expectError(s.listOrgs({ limit: 1.5 }), 'invalid_argument', 'limit');
      await expectError(s.listOrgs({ cursor: 'garbage' }), 'invalid_argument', 'cursor');
      await expectError(
        s.listVersions({ cursor: Buffer.from('["x"]').toString('base64url') }),
        'invalid_argument',
        'cursor',
      );
    });
  });
}
