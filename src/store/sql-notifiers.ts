// Notifiers and their outbox of deliveries. Outbox rows are written by enqueueNotifications in
// the transaction that appends the ticket event; claims and outcomes are the deliverer's (not
// audited, no change-counter bump: they change nothing a proxy routes on).

import { toPage } from './cursor.js';
import { toJson } from './db.js';
import type { Ticket, TicketEvent } from './model.js';
import { deliveryOf, notifierOf } from './notifier-db.js';
import type { Notification, Notifier } from './notifier-model.js';
import { checkNotifierSecret, notifierInputSchema, publicNotifier } from './notifier-model.js';
import { notifyEventOf } from './notify-events.js';
import type { SqlContext } from './sql-context.js';
import { keyAfter, pageOf } from './sql-context.js';
import { sameContent } from './sql-shared.js';
import type { StoreTx } from './store.js';
import { duplicate, notFound, parseInput, unknownRef } from './validate.js';

type NotifierOps = Pick<
  StoreTx,
  | 'getNotifier'
  | 'listNotifiers'
  | 'listDeliveries'
  | 'nextDeliveryDue'
  | 'createNotifier'
  | 'updateNotifier'
  | 'deleteNotifier'
  | 'claimDeliveries'
  | 'finishDelivery'
>;

const DELIVERER = 'notifier';

export function notifierOps(cx: SqlContext): NotifierOps {
  const db = cx.db;

  const getNotifier = async (name: string): Promise<Notifier | null> => {
    const row = await db
      .selectFrom('notifiers')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirst();
    return row === undefined ? null : notifierOf(row);
  };

  async function parseChecked(input: unknown): Promise<Notifier> {
    const n = parseInput(notifierInputSchema, input, 'notifier');
    checkNotifierSecret(n);
    const product = await db
      .selectFrom('products')
      .select('name')
      .where('name', '=', n.product)
      .executeTakeFirst();
    if (product === undefined) throw unknownRef('product', 'product', n.product);
    return { ...n, createdAt: '', updatedAt: '' };
  }

  return {
    getNotifier,
    async listNotifiers(query) {
      const { limit, after } = pageOf(query, 1);
      let q = db.selectFrom('notifiers').selectAll().orderBy('name');
      if (query?.product !== undefined) q = q.where('product', '=', query.product);
      if (after) q = q.where(keyAfter(['name'], after));
      const rows = await q.limit(limit + 1).execute();
      return toPage(rows, limit, (r) => [r.name], notifierOf);
    },
    async nextDeliveryDue() {
      const row = await db
        .selectFrom('notifier_deliveries')
        .select((eb) => eb.fn.min('next_attempt_at').as('due'))
        .where('state', '=', 'pending')
        .executeTakeFirst();
      return row?.due ?? null;
    },
    async listDeliveries(query) {
      const { limit, after } = pageOf(query, 1);
      const dir = query?.newestFirst ? 'desc' : 'asc';
      let q = db.selectFrom('notifier_deliveries').selectAll().orderBy('id', dir);
      if (query?.notifier !== undefined) q = q.where('notifier', '=', query.notifier);
      if (after) q = q.where(keyAfter(['id'], after, dir));
      const rows = await q.limit(limit + 1).execute();
      return toPage(rows, limit, (r) => [Number(r.id)], deliveryOf);
    },
    async createNotifier(input, actor) {
      await cx.lock(actor);
      const n = await parseChecked(input);
      if ((await getNotifier(n.name)) !== null) throw duplicate('notifier', n.name);
      const now = cx.now();
      const created: Notifier = { ...n, createdAt: now, updatedAt: now };
      await db
        .insertInto('notifiers')
        .values({
          name: n.name,
          product: n.product,
          format: n.format,
          url: n.url,
          events: toJson(n.events),
          secret: n.secret,
          created_at: now,
          updated_at: now,
        })
        .execute();
      // The audit log is readable through the API: it records the notifier without its secret.
      await cx.audit(actor, 'notifier.create', `notifier/${n.name}`, null, publicNotifier(created));
      return created;
    },
    async updateNotifier(input, actor) {
      await cx.lock(actor);
      const n = await parseChecked(input);
      const before = await getNotifier(n.name);
      if (before === null) throw notFound('notifier', n.name);
      const updated: Notifier = { ...n, createdAt: before.createdAt, updatedAt: cx.now() };
      if (sameContent(before, updated)) return before;
      await db
        .updateTable('notifiers')
        .set({
          product: n.product,
          format: n.format,
          url: n.url,
          events: toJson(n.events),
          secret: n.secret,
          updated_at: updated.updatedAt,
        })
        .where('name', '=', n.name)
        .execute();
      await cx.audit(
        actor,
        'notifier.update',
        `notifier/${n.name}`,
        publicNotifier(before),
        publicNotifier(updated),
      );
      return updated;
    },
    async deleteNotifier(name, actor) {
      await cx.lock(actor);
      const before = await getNotifier(name);
      if (before === null) throw notFound('notifier', name);
      await db.deleteFrom('notifier_deliveries').where('notifier', '=', name).execute();
      await db.deleteFrom('notifiers').where('name', '=', name).execute();
      await cx.audit(actor, 'notifier.delete', `notifier/${name}`, publicNotifier(before), null);
    },

    async claimDeliveries(now, until, limit) {
      await cx.lock(DELIVERER);
      const rows = await db
        .selectFrom('notifier_deliveries')
        .selectAll()
        .where('state', '=', 'pending')
        .where('next_attempt_at', '<=', now)
        .orderBy('id')
        .limit(limit)
        .execute();
      if (rows.length === 0) return [];
      const ids = rows.map((r) => Number(r.id));
      await db
        .updateTable('notifier_deliveries')
        .set((eb) => ({
          attempts: eb('attempts', '+', 1),
          next_attempt_at: until,
          last_attempt_at: now,
        }))
        .where('id', 'in', ids)
        .execute();
      const names = [...new Set(rows.map((r) => r.notifier))];
      const notifiers = await db
        .selectFrom('notifiers')
        .selectAll()
        .where('name', 'in', names)
        .execute();
      const byName = new Map(notifiers.map((r) => [r.name, notifierOf(r)]));
      return rows.flatMap((r) => {
        const notifier = byName.get(r.notifier);
        if (notifier === undefined) return []; // cannot happen: deleting one deletes its rows
        const claimed = { ...r, attempts: Number(r.attempts) + 1, next_attempt_at: until };
        return [{ delivery: deliveryOf({ ...claimed, last_attempt_at: now }), notifier }];
      });
    },
    async finishDelivery(id, outcome) {
      await cx.lock(DELIVERER);
      await db
        .updateTable('notifier_deliveries')
        .set({
          state: outcome.state,
          next_attempt_at: outcome.state === 'pending' ? outcome.nextAttemptAt : null,
          last_attempt_at: outcome.attemptAt,
          last_status: outcome.status,
          last_error: outcome.error,
          delivered_at: outcome.state === 'delivered' ? outcome.attemptAt : null,
        })
        .where('id', '=', id)
        .execute();
    },
  };
}

/**
 * Writes the deliveries `event` raises for the notifiers of the ticket's product that subscribe
 * to it. Called by appendTicketEvent in its transaction: the event and its outbox rows commit
 * together. Due at once.
 */
export async function enqueueNotifications(
  cx: SqlContext,
  ticket: Ticket,
  event: TicketEvent,
): Promise<void> {
  const kind = notifyEventOf(ticket, event.type);
  if (kind === null) return;
  const rows = await cx.db
    .selectFrom('notifiers')
    .select(['name', 'events'])
    .where('product', '=', ticket.product)
    .orderBy('name')
    .execute();
  const now = cx.now();
  const message = (event.data as { message?: unknown } | null)?.message;
  for (const r of rows) {
    if (!(JSON.parse(r.events) as string[]).includes(kind)) continue;
    const inserted = await cx.db
      .insertInto('notifier_deliveries')
      .values({
        notifier: r.name,
        state: 'pending',
        attempts: 0,
        next_attempt_at: now,
        created_at: now,
        notification: '{}',
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    // The id is the outbox row's, known only after the insert; it is what receivers dedup on.
    const notification: Notification = {
      id: `${r.name}-${Number(inserted.id)}`,
      event: kind,
      product: ticket.product,
      ticket: ticket.id,
      ticketEvent: {
        type: event.type,
        seq: event.seq,
        actor: event.actor,
        at: event.at,
        data: event.data,
      },
      message: typeof message === 'string' ? message : null,
    };
    await cx.db
      .updateTable('notifier_deliveries')
      .set({ notification: toJson(notification) })
      .where('id', '=', inserted.id)
      .execute();
  }
}
