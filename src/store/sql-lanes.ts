// Lanes (a product's named route overlays with their assignment rules) and the audit log.

import { toPage } from './cursor.js';
import { auditOf, laneOf, toJson } from './db.js';
import type { Lane } from './model.js';
import { auditInputSchema, laneInputSchema } from './model.js';
import type { SqlContext } from './sql-context.js';
import { keyAfter, pageOf } from './sql-context.js';
import { sameContent } from './sql-shared.js';
import type { StoreTx } from './store.js';
import { checkLaneRuleTargets, duplicate, notFound, parseInput, unknownRef } from './validate.js';

type LaneOps = Pick<
  StoreTx,
  'getLane' | 'listLanes' | 'createLane' | 'updateLane' | 'deleteLane' | 'listAudit' | 'appendAudit'
>;

export function laneOps(cx: SqlContext): LaneOps {
  const db = cx.db;

  const getLane = async (product: string, name: string): Promise<Lane | null> => {
    const row = await db
      .selectFrom('lanes')
      .selectAll()
      .where('product', '=', product)
      .where('name', '=', name)
      .executeTakeFirst();
    return row === undefined ? null : laneOf(row);
  };

  /** Tickets with their items, fetched in one extra query for the whole page. */
  return {
    getLane,
    async listLanes(query) {
      const { limit, after } = pageOf(query, 2);
      let q = db.selectFrom('lanes').selectAll().orderBy('product').orderBy('name');
      if (query?.product !== undefined) q = q.where('product', '=', query.product);
      if (after) q = q.where(keyAfter(['product', 'name'], after));
      const rows = await q.limit(limit + 1).execute();
      return toPage(rows, limit, (r) => [r.product, r.name], laneOf);
    },
    async createLane(input, actor) {
      await cx.lock(actor);
      const l = parseInput(laneInputSchema, input, 'lane');
      const product = await db
        .selectFrom('products')
        .select('name')
        .where('name', '=', l.product)
        .executeTakeFirst();
      if (product === undefined) throw unknownRef('product', 'product', l.product);
      if ((await getLane(l.product, l.name)) !== null)
        throw duplicate('lane', `${l.product}/${l.name}`);
      checkLaneRuleTargets(l.name, l.rules);
      const now = cx.now();
      const row = { ...l, rules: toJson(l.rules), created_at: now, updated_at: now };
      await db.insertInto('lanes').values(row).execute();
      const created = laneOf(row);
      await cx.audit(actor, 'lane.create', `lane/${l.product}/${l.name}`, null, created);
      return created;
    },
    async updateLane(input, actor) {
      await cx.lock(actor);
      const l = parseInput(laneInputSchema, input, 'lane');
      const before = await getLane(l.product, l.name);
      if (before === null) throw notFound('lane', `${l.product}/${l.name}`);
      if (sameContent(before, l)) return before;
      checkLaneRuleTargets(l.name, l.rules);
      const updated: Lane = { ...l, createdAt: before.createdAt, updatedAt: cx.now() };
      await db
        .updateTable('lanes')
        .set({ overlay: l.overlay, rules: toJson(l.rules), updated_at: updated.updatedAt })
        .where('product', '=', l.product)
        .where('name', '=', l.name)
        .execute();
      await cx.audit(actor, 'lane.update', `lane/${l.product}/${l.name}`, before, updated);
      return updated;
    },
    async deleteLane(product, name, actor) {
      await cx.lock(actor);
      const before = await getLane(product, name);
      if (before === null) throw notFound('lane', `${product}/${name}`);
      await db
        .deleteFrom('lanes')
        .where('product', '=', product)
        .where('name', '=', name)
        .execute();
      await cx.audit(actor, 'lane.delete', `lane/${product}/${name}`, before, null);
    },

    async listAudit(query) {
      const { limit, after } = pageOf(query, 1);
      const dir = query?.newestFirst ? 'desc' : 'asc';
      let q = db.selectFrom('audit').selectAll().orderBy('id', dir);
      if (query?.target !== undefined) q = q.where('target', '=', query.target);
      if (query?.actor !== undefined) q = q.where('actor', '=', query.actor);
      if (after) q = q.where(keyAfter(['id'], after, dir));
      const rows = await q.limit(limit + 1).execute();
      return toPage(rows, limit, (r) => [Number(r.id)], auditOf);
    },
    async appendAudit(input) {
      const a = parseInput(auditInputSchema, input, 'audit');
      await cx.lock(a.actor);
      return cx.audit(a.actor, a.action, a.target, a.before, a.after);
    },
  };
}
