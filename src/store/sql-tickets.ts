// Release tickets and their append-only events. A ticket's items are a set (one version per
// module), kept sorted by module so that equal tickets compare equal.

import { TurnoutError } from '../errors.js';
import { toPage } from './cursor.js';
import { ticketEventOf, ticketOf, toJson } from './db.js';
import type { Ticket, TicketItem } from './model.js';
import { ticketEventInputSchema, ticketInputSchema, ticketPatchSchema } from './model.js';
import { newPrereleaseSecret } from './prerelease-secret.js';
import type { SqlContext } from './sql-context.js';
import { keyAfter, pageOf } from './sql-context.js';
import { enqueueNotifications } from './sql-notifiers.js';
import { loadGraph, sameContent } from './sql-shared.js';
import type { StoreTx } from './store.js';
import {
  checkTicketItems,
  notFound,
  parseInput,
  reachableModules,
  unknownRef,
} from './validate.js';

type TicketOps = Pick<
  StoreTx,
  | 'getTicket'
  | 'listTickets'
  | 'createTicket'
  | 'updateTicket'
  | 'getTicketForUpdate'
  | 'rotatePrereleaseSecret'
  | 'listTicketEvents'
  | 'appendTicketEvent'
>;

/**
 * A ticket as the audit log keeps it: without its pre-release secret. The log is kept for good and
 * may be shipped elsewhere; the secret's only home is the ticket (and the lane rule it drives).
 */
function audited(t: Ticket | null): Omit<Ticket, 'prereleaseSecret'> | null {
  if (t === null) return null;
  const { prereleaseSecret: _secret, ...rest } = t;
  return rest;
}

const byModule = (a: TicketItem, b: TicketItem) =>
  a.module < b.module ? -1 : a.module > b.module ? 1 : 0;

export function ticketOps(cx: SqlContext): TicketOps {
  const db = cx.db;

  async function withItems(rows: readonly { id: number }[]): Promise<Map<number, TicketItem[]>> {
    const ids = rows.map((r) => Number(r.id));
    const items = new Map<number, TicketItem[]>(ids.map((id) => [id, []]));
    if (ids.length === 0) return items;
    const itemRows = await db
      .selectFrom('ticket_items')
      .selectAll()
      .where('ticket_id', 'in', ids)
      .orderBy('module')
      .execute();
    for (const r of itemRows)
      items.get(Number(r.ticket_id))?.push({ module: r.module, version: r.version });
    return items;
  }

  const getTicket = async (id: number): Promise<Ticket | null> => {
    const row = await db.selectFrom('tickets').selectAll().where('id', '=', id).executeTakeFirst();
    if (row === undefined) return null;
    return ticketOf(row, (await withItems([row])).get(Number(row.id)) ?? []);
  };

  /** Items must name modules the product uses, with versions that exist. */
  async function checkItems(product: string, items: TicketItem[]): Promise<void> {
    const p = await db
      .selectFrom('products')
      .select('entry')
      .where('name', '=', product)
      .executeTakeFirst();
    if (p === undefined) throw unknownRef('product', 'product', product);
    const graph = await loadGraph(db);
    const used = reachableModules(p.entry, graph);
    const modules = [...new Set(items.map((i) => i.module))];
    const versions = await db
      .selectFrom('versions')
      .select(['module', 'version'])
      .where('module', 'in', modules)
      .execute();
    const known = new Set(versions.map((v) => `${v.module}@${v.version}`));
    checkTicketItems(product, items, graph, used, (i) => known.has(`${i.module}@${i.version}`));
  }

  /** Promotions are numbered store-wide; the writer lock makes max+1 safe. */
  async function nextPromotedSeq(): Promise<number> {
    const row = await db
      .selectFrom('tickets')
      .select((eb) => eb.fn.max('promoted_seq').as('seq'))
      .executeTakeFirst();
    return Number(row?.seq ?? 0) + 1;
  }

  async function writeItems(ticketId: number, items: TicketItem[]): Promise<void> {
    await db.deleteFrom('ticket_items').where('ticket_id', '=', ticketId).execute();
    await db
      .insertInto('ticket_items')
      .values(items.map((i) => ({ ticket_id: ticketId, module: i.module, version: i.version })))
      .execute();
  }

  return {
    getTicket,
    async listTickets(query) {
      const { limit, after } = pageOf(query, 1);
      let q = db.selectFrom('tickets').selectAll().orderBy('id');
      if (query?.product !== undefined) q = q.where('product', '=', query.product);
      if (query?.state !== undefined) q = q.where('state', '=', query.state);
      if (after) q = q.where(keyAfter(['id'], after));
      const rows = await q.limit(limit + 1).execute();
      const items = await withItems(rows.slice(0, limit));
      return toPage(
        rows,
        limit,
        (r) => [Number(r.id)],
        (r) => ticketOf(r, items.get(Number(r.id)) ?? []),
      );
    },
    async createTicket(input, actor) {
      await cx.lock(actor);
      const t = parseInput(ticketInputSchema, input, 'ticket');
      await checkItems(t.product, t.items);
      if (t.revertOf !== null) {
        const reverted = await db
          .selectFrom('tickets')
          .select('product')
          .where('id', '=', t.revertOf)
          .executeTakeFirst();
        if (reverted === undefined) throw unknownRef('revertOf', 'ticket', String(t.revertOf));
        if (reverted.product !== t.product) {
          throw new TurnoutError(
            'invalid_config',
            `revertOf: ticket ${t.revertOf} is for product "${reverted.product}", not "${t.product}"`,
            'revertOf',
          );
        }
      }
      const now = cx.now();
      const row = await db
        .insertInto('tickets')
        .values({
          product: t.product,
          state: 'open',
          revert_of: t.revertOf,
          goal: t.goal,
          plan: toJson(t.plan),
          created_by: actor,
          prerelease_secret: newPrereleaseSecret(),
          created_at: now,
          updated_at: now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      const items = [...t.items].sort(byModule);
      await writeItems(Number(row.id), items);
      const created = ticketOf(row, items);
      await cx.audit(actor, 'ticket.create', `ticket/${created.id}`, null, audited(created));
      return created;
    },
    async updateTicket(id, patch, actor) {
      await cx.lock(actor);
      const p = parseInput(ticketPatchSchema, patch, 'ticket');
      const before = await getTicket(id);
      if (before === null) throw notFound('ticket', String(id));
      const items = p.items === undefined ? before.items : [...p.items].sort(byModule);
      const state = p.state ?? before.state;
      const updated: Ticket = {
        ...before,
        state,
        items,
        goal: p.goal === undefined ? before.goal : p.goal,
        plan: p.plan === undefined ? before.plan : p.plan,
        progress: p.progress === undefined ? before.progress : p.progress,
        promotedSeq:
          state === 'promoted' && before.promotedSeq === null
            ? await nextPromotedSeq()
            : before.promotedSeq,
        updatedAt: cx.now(),
      };
      if (sameContent(before, updated)) return before;
      if (p.items !== undefined) {
        await checkItems(before.product, p.items);
        await writeItems(id, items);
      }
      await db
        .updateTable('tickets')
        .set({
          state: updated.state,
          goal: updated.goal,
          plan: toJson(updated.plan),
          progress: toJson(updated.progress),
          promoted_seq: updated.promotedSeq,
          updated_at: updated.updatedAt,
        })
        .where('id', '=', id)
        .execute();
      await cx.audit(actor, 'ticket.update', `ticket/${id}`, audited(before), audited(updated));
      return updated;
    },
    async rotatePrereleaseSecret(id, actor) {
      await cx.lock(actor);
      const before = await getTicket(id);
      if (before === null) throw notFound('ticket', String(id));
      const updated: Ticket = {
        ...before,
        prereleaseSecret: newPrereleaseSecret(),
        updatedAt: cx.now(),
      };
      await db
        .updateTable('tickets')
        .set({ prerelease_secret: updated.prereleaseSecret, updated_at: updated.updatedAt })
        .where('id', '=', id)
        .execute();
      // Which ticket and when, not the values: the audit log never holds a secret.
      await cx.audit(actor, 'ticket.rotate-prerelease', `ticket/${id}`, null, null);
      return updated;
    },
    async getTicketForUpdate(id, actor) {
      await cx.lock(actor);
      return getTicket(id);
    },

    async listTicketEvents(ticketId, request) {
      const { limit, after } = pageOf(request, 1);
      let q = db
        .selectFrom('ticket_events')
        .selectAll()
        .where('ticket_id', '=', ticketId)
        .orderBy('seq');
      if (after) q = q.where(keyAfter(['seq'], after));
      const rows = await q.limit(limit + 1).execute();
      return toPage(rows, limit, (r) => [Number(r.seq)], ticketEventOf);
    },
    /** Not audited: the event is itself an append-only record of who did what, when. */
    async appendTicketEvent(ticketId, input, actor) {
      await cx.lock(actor);
      const e = parseInput(ticketEventInputSchema, input, 'event');
      const ticket = await getTicket(ticketId);
      if (ticket === null) throw notFound('ticket', String(ticketId));
      const last = await db
        .selectFrom('ticket_events')
        .select((eb) => eb.fn.max('seq').as('seq'))
        .where('ticket_id', '=', ticketId)
        .executeTakeFirst();
      const row = {
        ticket_id: ticketId,
        seq: Number(last?.seq ?? 0) + 1,
        type: e.type,
        data: toJson(e.data),
        actor,
        at: cx.now(),
      };
      await db.insertInto('ticket_events').values(row).execute();
      await cx.bump();
      const event = ticketEventOf(row);
      await enqueueNotifications(cx, ticket, event); // same transaction: the outbox (0004)
      return event;
    },
  };
}
