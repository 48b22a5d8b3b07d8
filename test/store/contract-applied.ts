// Contract: last-applied records (apply's three-way rule and prune). Field names round-trip sorted
// and unique, a record is replaced whole, they commit or roll back with their transaction, and
// they are neither audited nor counted as a change.

import { describe, expect, it } from 'vitest';
import { ACTOR, expectError } from './fixtures.js';
import type { ContractEnv } from './store-contract.js';

export function appliedTests(env: ContractEnv): void {
  describe('last-applied records', () => {
    it('records, replaces, lists by kind and forgets; not audited, not counted', async () => {
      const s = env.store();
      const a = await s.recordApplied(
        { kind: 'Module', key: 'orders', fields: ['run', 'name', 'org', 'run'] },
        ACTOR,
      );
      expect(a).toMatchObject({ kind: 'Module', key: 'orders', fields: ['name', 'org', 'run'] });
      expect(await s.getApplied('Module', 'orders')).toEqual(a);
      await s.recordApplied({ kind: 'Lane', key: 'shop/dev', fields: ['name', 'product'] }, ACTOR);
      const b = await s.recordApplied(
        { kind: 'Module', key: 'orders', fields: ['name', 'org'] },
        ACTOR,
      );
      expect((await s.getApplied('Module', 'orders'))?.fields).toEqual(['name', 'org']);
      expect((await s.listApplied()).map((r) => `${r.kind}/${r.key}`)).toEqual([
        'Lane/shop/dev',
        'Module/orders',
      ]);
      expect(await s.listApplied({ kind: 'Module' })).toEqual([b]);
      await s.deleteApplied('Module', 'orders', ACTOR);
      expect(await s.getApplied('Module', 'orders')).toBeNull();
      expect(await s.getApplied('Lane', 'shop/dev')).not.toBeNull();
      expect(await s.changeVersion()).toBe(0);
      expect((await s.listAudit()).items).toEqual([]);
    });

    it('roll back with their transaction', async () => {
      const s = env.store();
      const boom = new Error('boom');
      await expect(
        s.transaction(async (tx) => {
          await tx.recordApplied({ kind: 'Org', key: 'acme', fields: ['name'] }, ACTOR);
          expect(await tx.getApplied('Org', 'acme')).not.toBeNull(); // visible inside
          throw boom;
        }),
      ).rejects.toBe(boom);
      expect(await s.listApplied()).toEqual([]);
    });

    it('a bad record is refused naming the field, and writes nothing', async () => {
      const s = env.store();
      await expectError(
        s.recordApplied({ kind: '', key: 'acme', fields: [] }, ACTOR),
        'invalid_config',
        'kind',
      );
      await expectError(
        s.recordApplied({ kind: 'Org', key: 'acme', fields: [''] }, ACTOR),
        'invalid_config',
        'fields[0]',
      );
      expect(await s.listApplied()).toEqual([]);
    });
  });
}
