// Contract: the audit log records every mutation (who, what, before/after) and the change counter
// grows by exactly one per committed mutating transaction, and by nothing else.

import { describe, expect, it } from 'vitest';
import { ACTOR, proc, seed } from './fixtures.js';
import type { ContractEnv } from './store-contract.js';

export function integrityTests(env: ContractEnv): void {
  describe('audit log', () => {
    it('records each mutation with actor, action, target, before and after', async () => {
      const s = env.store();
      await s.createOrg({ name: 'acme' }, 'bob');
      await s.createModule({ name: 'orders', org: 'acme', run: proc() }, ACTOR);
      const updated = await s.updateModule(
        { name: 'orders', org: 'acme', run: proc('deno') },
        'carol',
      );
      await s.createVersion({ module: 'orders', version: '1' }, ACTOR);
      await s.deleteVersion('orders', '1', ACTOR);
      const audit = (await s.listAudit()).items;
      expect(audit.map((a) => [a.actor, a.action, a.target])).toEqual([
        ['bob', 'org.create', 'org/acme'],
        [ACTOR, 'module.create', 'module/orders'],
        ['carol', 'module.update', 'module/orders'],
        [ACTOR, 'version.create', 'version/orders@1'],
        [ACTOR, 'version.delete', 'version/orders@1'],
      ]);
      const update = audit[2];
      expect(update?.before).toMatchObject({ run: { process: { command: 'node' } } });
      expect(update?.after).toEqual(updated);
      expect(audit[4]?.after).toBeNull();
      expect(audit[0]?.before).toBeNull();
      for (const a of audit) expect(Date.parse(a.at)).not.toBeNaN();
    });

    it('audits every kind of record, and appendAudit records other actions', async () => {
      const s = env.store();
      await s.transaction((tx) => seed(tx));
      await s.updateInstance('i-1', { state: 'ready' }, 'runtime');
      await s.updateTicket(1, { state: 'deploying' }, 'engine');
      const actions = new Set((await s.listAudit({ limit: 1000 })).items.map((a) => a.action));
      for (const a of [
        'org.create',
        'module.create',
        'product.create',
        'version.create',
        'lane.create',
        'ticket.create',
        'instance.create',
        'instance.update',
        'ticket.update',
      ]) {
        expect(actions).toContain(a);
      }
      const entry = await s.appendAudit({
        actor: 'dave',
        action: 'canary.approve',
        target: 'ticket/1',
        after: { step: 2 },
      });
      expect(entry).toMatchObject({ actor: 'dave', before: null, after: { step: 2 } });
      const forTicket = (await s.listAudit({ target: 'ticket/1' })).items.map((a) => a.action);
      expect(forTicket).toEqual(['ticket.create', 'ticket.update', 'canary.approve']);
    });
  });

  describe('change counter', () => {
    it('grows by one per mutating transaction and by nothing else', async () => {
      const s = env.store();
      expect(await s.changeVersion()).toBe(0);
      await s.createOrg({ name: 'acme' }, ACTOR);
      expect(await s.changeVersion()).toBe(1);
      await s.transaction(async (tx) => {
        await tx.createModule({ name: 'a', org: 'acme', run: proc() }, ACTOR);
        await tx.createModule({ name: 'b', org: 'acme', calls: ['a'], run: proc() }, ACTOR);
        expect(await tx.changeVersion()).toBe(2); // the transaction sees its own bump
      });
      expect(await s.changeVersion()).toBe(2);
      await s.createVersion({ module: 'a', version: '1' }, ACTOR);
      expect(await s.changeVersion()).toBe(3);

      // Reads, no-op writes, rejected writes and lease renewals change nothing.
      await s.listModules();
      await s.createVersion({ module: 'a', version: '1' }, ACTOR);
      await s.updateModule({ name: 'a', org: 'acme', run: proc() }, ACTOR);
      await s.createOrg({ name: 'acme' }, ACTOR).catch(() => undefined);
      const i = await s.createInstance(
        { module: 'a', version: '1', host: 'h', address: 'h:1' },
        ACTOR,
      );
      expect(await s.changeVersion()).toBe(4);
      const until = new Date(Date.now() + 30_000).toISOString();
      expect(await s.renewLeases([i.id, 'gone'], until)).toBe(1);
      expect(await s.renewLeases([], until)).toBe(0);
      expect((await s.getInstance(i.id))?.leaseExpiresAt).toBe(until);
      expect(await s.changeVersion()).toBe(4);

      await s.appendAudit({ actor: ACTOR, action: 'login', target: 'user/alice' });
      expect(await s.changeVersion()).toBe(5);
    });
  });
}
