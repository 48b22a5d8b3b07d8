// Contract: transactions commit together or not at all, and two stores on the same database
// (two control-plane replicas, or the CLI next to a server) write concurrently without losing or
// duplicating anything, with checks that see each other's commits.

import { describe, expect, it } from 'vitest';
import { TurnoutError } from '../../src/errors.js';
import { ACTOR, expectError, fingerprint, proc, seed } from './fixtures.js';
import type { ContractEnv } from './store-contract.js';

export function transactionTests(env: ContractEnv): void {
  describe('transactions', () => {
    it('a rejected write rolls back the whole transaction', async () => {
      const s = env.store();
      await s.transaction((tx) => seed(tx));
      const before = await fingerprint(s);
      await expectError(
        s.transaction(async (tx) => {
          await tx.createOrg({ name: 'other' }, ACTOR);
          await tx.createModule({ name: 'billing', org: 'other', run: proc() }, ACTOR);
          await tx.createModule({ name: 'x', org: 'other', calls: ['nope'], run: proc() }, ACTOR);
        }),
        'invalid_config',
        'calls[0]',
      );
      expect(await fingerprint(s)).toEqual(before);
    });

    it('an error thrown by the caller rolls back too; a result passes through', async () => {
      const s = env.store();
      const boom = new Error('boom');
      await expect(
        s.transaction(async (tx) => {
          await tx.createOrg({ name: 'acme' }, ACTOR);
          expect(await tx.getOrg('acme')).not.toBeNull(); // visible inside
          throw boom;
        }),
      ).rejects.toBe(boom);
      expect(await s.getOrg('acme')).toBeNull();
      expect(await s.changeVersion()).toBe(0);
      expect((await s.listAudit()).items).toEqual([]);
      const n = await s.transaction(async (tx) => (await tx.createOrg({ name: 'b' }, ACTOR)).name);
      expect(n).toBe('b');
    });

    it('refuses use of the store itself inside its transaction', async () => {
      const s = env.store();
      await expect(s.transaction(() => s.getOrg('acme'))).rejects.toThrow(/use its tx argument/);
      await expect(s.transaction(() => s.createOrg({ name: 'acme' }, ACTOR))).rejects.toThrow(
        /use its tx argument/,
      );
      expect(await s.getOrg('acme')).toBeNull(); // and outside, it works
    });
  });

  describe('concurrent writers (two stores, one database)', () => {
    it('interleaved writes all land, each counted once', async () => {
      const a = env.store();
      const b = await env.openAnother();
      const names = (p: string) => Array.from({ length: 15 }, (_, i) => `${p}-${i}`);
      await Promise.all([
        ...names('a').map((name) => a.createOrg({ name }, 'replica-a')),
        ...names('b').map((name) => b.createOrg({ name }, 'replica-b')),
      ]);
      const orgs = (await a.listOrgs()).items.map((o) => o.name).sort();
      expect(orgs).toEqual([...names('a'), ...names('b')].sort());
      expect(await a.changeVersion()).toBe(30);
      expect(await b.changeVersion()).toBe(30);
      const ids = (await b.listAudit()).items.map((x) => x.id);
      expect(new Set(ids).size).toBe(30);
    });

    it('the same name from both: exactly one wins', async () => {
      const a = env.store();
      const b = await env.openAnother();
      const results = await Promise.allSettled([
        a.createOrg({ name: 'acme' }, 'replica-a'),
        b.createOrg({ name: 'acme' }, 'replica-b'),
      ]);
      const rejected = results.filter((r) => r.status === 'rejected');
      expect(rejected).toHaveLength(1);
      const reason = (rejected[0] as PromiseRejectedResult).reason as TurnoutError;
      expect(reason).toBeInstanceOf(TurnoutError);
      expect(reason.field).toBe('name');
      expect(await a.changeVersion()).toBe(1);
    });

    it('two halves of a cycle written at once: one is refused', async () => {
      const a = env.store();
      const b = await env.openAnother();
      await a.transaction((tx) => seed(tx));
      const version = await a.changeVersion();
      for (let round = 0; round < 3; round++) {
        const results = await Promise.allSettled([
          a.updateModule({ name: 'account', org: 'acme', calls: ['reports'], run: proc() }, 'a'),
          b.updateModule({ name: 'reports', org: 'acme', calls: ['account'], run: proc() }, 'b'),
        ]);
        const rejected = results.filter((r) => r.status === 'rejected');
        expect(rejected).toHaveLength(1);
        expect(((rejected[0] as PromiseRejectedResult).reason as Error).message).toMatch(
          /dependency cycle (account → reports → account|reports → account → reports)/,
        );
        // Undo the winner for the next round.
        await a.updateModule({ name: 'account', org: 'acme', run: proc() }, 'a');
        await a.updateModule({ name: 'reports', org: 'acme', run: proc() }, 'a');
      }
      expect(await a.changeVersion()).toBe(version + 6); // per round: the winner and its undo
    });

    it('ticket events from both get distinct, gapless sequence numbers', async () => {
      const a = env.store();
      const b = await env.openAnother();
      await a.transaction((tx) => seed(tx));
      await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          (i % 2 === 0 ? a : b).appendTicketEvent(1, { type: 'step', data: i }, 'engine'),
        ),
      );
      const events = (await b.listTicketEvents(1)).items;
      expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(events.map((e) => e.data).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    });
  });
}
