// Contract: notifiers and their outbox. A ticket event that raises a notification writes one
// delivery per subscribed notifier in the event's own transaction (so a rolled-back event leaves
// none); deliveries are claimed, counted and finished; secrets never reach the audit log.

import { describe, expect, it } from 'vitest';
import { ACTOR, expectError, seed } from './fixtures.js';
import type { ContractEnv } from './store-contract.js';

const SECRET = 'a-long-webhook-secret-c0de';

export function notifierTests(env: ContractEnv): void {
  describe('notifiers and the outbox', () => {
    async function setup() {
      const s = env.store();
      await s.transaction((tx) => seed(tx));
      await s.createNotifier(
        {
          name: 'hook',
          product: 'shop',
          url: 'http://127.0.0.1:9/hook?token=x',
          events: ['promoted', 'aborted'],
          secret: SECRET,
        },
        ACTOR,
      );
      await s.createNotifier(
        {
          name: 'chat',
          product: 'shop',
          format: 'slack',
          url: 'https://hooks.slack.example/services/T1/B2/xyz',
          events: ['aborted'],
        },
        ACTOR,
      );
      return s;
    }

    it('an event writes one delivery per subscribed notifier, in its transaction', async () => {
      const s = await setup();
      const event = await s.appendTicketEvent(1, { type: 'promoted', data: {} }, 'engine');
      const hook = (await s.listDeliveries({ notifier: 'hook' })).items;
      expect(hook).toHaveLength(1);
      expect(hook[0]).toMatchObject({ notifier: 'hook', state: 'pending', attempts: 0 });
      expect(hook[0]?.notification).toEqual({
        id: `hook-${hook[0]?.id}`,
        event: 'promoted',
        product: 'shop',
        ticket: 1,
        ticketEvent: { type: 'promoted', seq: event.seq, actor: 'engine', at: event.at, data: {} },
        message: null,
      });
      expect((await s.listDeliveries({ notifier: 'chat' })).items).toEqual([]); // not subscribed

      await s.appendTicketEvent(1, { type: 'aborted', data: { message: 'by bob' } }, 'engine');
      const all = (await s.listDeliveries()).items;
      expect(all.map((d) => [d.notifier, d.notification.event, d.notification.message])).toEqual([
        ['hook', 'promoted', null],
        ['chat', 'aborted', 'by bob'], // one event's notifiers in name order
        ['hook', 'aborted', 'by bob'],
      ]);
      await s.appendTicketEvent(1, { type: 'instance.start', data: {} }, 'engine'); // not notified
      expect((await s.listDeliveries()).items).toHaveLength(3);
    });

    it('a rolled-back event leaves no delivery', async () => {
      const s = await setup();
      await expect(
        s.transaction(async (tx) => {
          await tx.appendTicketEvent(1, { type: 'aborted', data: {} }, 'engine');
          expect((await tx.listDeliveries()).items).toHaveLength(2); // visible inside
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect((await s.listDeliveries()).items).toEqual([]);
      expect((await s.listTicketEvents(1)).items).toEqual([]);
    });

    it('claims count attempts and hide a delivery until they lapse; finish records the outcome', async () => {
      const s = await setup();
      await s.appendTicketEvent(1, { type: 'promoted', data: {} }, 'engine');
      const [created] = (await s.listDeliveries()).items;
      const t0 = created?.createdAt ?? '';
      const later = (ms: number) => new Date(Date.parse(t0) + ms).toISOString();
      expect(await s.claimDeliveries(later(-1000), later(5000), 10)).toEqual([]); // not due yet

      const first = await s.claimDeliveries(t0, later(5000), 10);
      expect(first).toHaveLength(1);
      expect(first[0]?.delivery).toMatchObject({ attempts: 1, nextAttemptAt: later(5000) });
      expect(first[0]?.notifier).toMatchObject({ name: 'hook', secret: SECRET });
      expect(await s.claimDeliveries(later(4999), later(9000), 10)).toEqual([]); // claimed
      // The claimer died: the claim lapses and another deliverer takes it.
      const second = await s.claimDeliveries(later(5000), later(10_000), 10);
      expect(second.map((c) => c.delivery.attempts)).toEqual([2]);

      const id = second[0]?.delivery.id ?? 0;
      await s.finishDelivery(id, {
        state: 'pending',
        attemptAt: later(5100),
        nextAttemptAt: later(7000),
        status: 500,
        error: 'HTTP 500',
      });
      expect(await s.claimDeliveries(later(6999), later(20_000), 10)).toEqual([]);
      expect(await s.claimDeliveries(later(7000), later(20_000), 10)).toHaveLength(1);
      await s.finishDelivery(id, {
        state: 'delivered',
        attemptAt: later(7100),
        nextAttemptAt: null,
        status: 204,
        error: null,
      });
      expect(await s.claimDeliveries(later(60_000), later(90_000), 10)).toEqual([]);
      const [done] = (await s.listDeliveries({ notifier: 'hook', newestFirst: true })).items;
      expect(done).toMatchObject({
        state: 'delivered',
        attempts: 3,
        nextAttemptAt: null,
        lastStatus: 204,
        lastError: null,
        deliveredAt: later(7100),
      });
    });

    it('refuses bad notifiers naming the field, and changes nothing', async () => {
      const s = await setup();
      const base = { name: 'n', product: 'shop', url: 'https://h.example/x', secret: SECRET };
      await expectError(
        s.createNotifier({ ...base, secret: null }, ACTOR),
        'invalid_config',
        'secret',
      );
      await expectError(
        s.createNotifier({ ...base, format: 'slack' }, ACTOR),
        'invalid_config',
        'secret',
      );
      await expectError(
        s.createNotifier({ ...base, product: 'nope' }, ACTOR),
        'invalid_config',
        'product',
      );
      await expectError(
        s.createNotifier({ ...base, url: 'ftp://h.example/x' }, ACTOR),
        'invalid_config',
        'url',
      );
      await expectError(
        s.createNotifier({ ...base, url: 'https://u:p@h.example/x' }, ACTOR),
        'invalid_config',
        'url',
      );
      await expectError(
        s.createNotifier({ ...base, secret: 'short' }, ACTOR),
        'invalid_config',
        'secret',
      );
      await expectError(
        s.createNotifier({ ...base, events: ['promoted', 'promoted'] }, ACTOR),
        'invalid_config',
        'events',
      );
      await expectError(
        s.createNotifier({ ...base, events: ['deployed' as never] }, ACTOR),
        'invalid_config',
        'events[0]',
      );
      expect((await s.listNotifiers()).items.map((n) => n.name)).toEqual(['chat', 'hook']);
      await expectError(
        s.deleteProduct('shop', ACTOR),
        'invalid_argument',
        undefined,
        /notifier chat/,
      );
    });

    it('keeps secrets and Slack URLs out of the audit log', async () => {
      const s = await setup();
      await s.updateNotifier(
        {
          name: 'hook',
          product: 'shop',
          url: 'http://127.0.0.1:9/hook',
          secret: `${SECRET}-rotated`,
        },
        ACTOR,
      );
      await s.deleteNotifier('chat', ACTOR);
      const audit = JSON.stringify((await s.listAudit({ limit: 1000 })).items);
      expect(audit).toContain('notifier.update');
      expect(audit).toContain('notifier.delete');
      expect(audit).not.toContain(SECRET.slice(0, 12));
      expect(audit).not.toContain('/services/T1');
      expect(audit).toContain('…ated'); // the hint: last 4 characters
      expect(await s.getNotifier('chat')).toBeNull();
    });
  });
}
