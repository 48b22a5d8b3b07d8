// Orgs and products: with modules (sql-modules.ts), the catalog `turnout apply` writes. Each write locks, validates
// against the current state (validate.ts), writes, and audits, inside the caller's transaction.

import { toPage } from './cursor.js';
import { orgOf, productOf, toJson } from './db.js';
import type { Org, Product } from './model.js';
import { orgInputSchema, productInputSchema } from './model.js';
import { keyAfter, pageOf, type SqlContext } from './sql-context.js';
import { listOrgRecords, sameContent } from './sql-shared.js';
import type { StoreTx } from './store.js';
import {
  checkHostsFree,
  checkUnreferenced,
  duplicate,
  notFound,
  parseInput,
  unknownRef,
} from './validate.js';

/** The org named `name`, or null (modules check their org too). */
export async function findOrg(db: SqlContext['db'], name: string): Promise<Org | null> {
  const row = await db.selectFrom('orgs').selectAll().where('name', '=', name).executeTakeFirst();
  return row === undefined ? null : orgOf(row);
}

type CatalogOps = Pick<
  StoreTx,
  | 'getOrg'
  | 'listOrgs'
  | 'createOrg'
  | 'deleteOrg'
  | 'getProduct'
  | 'listProducts'
  | 'createProduct'
  | 'updateProduct'
  | 'deleteProduct'
>;

export function catalogOps(cx: SqlContext): CatalogOps {
  const db = cx.db;

  const getOrg = (name: string) => findOrg(db, name);
  const getProduct = async (name: string): Promise<Product | null> => {
    const row = await db
      .selectFrom('products')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirst();
    return row === undefined ? null : productOf(row);
  };
  /** Product checks shared by create and update: the org and entry exist, hosts are free. */
  async function checkProduct(p: { name: string; org: string; entry: string; hosts: string[] }) {
    if ((await getOrg(p.org)) === null) throw unknownRef('org', 'org', p.org);
    const entry = await db
      .selectFrom('modules')
      .select('name')
      .where('name', '=', p.entry)
      .executeTakeFirst();
    if (entry === undefined) throw unknownRef('entry', 'module', p.entry);
    const others = await db
      .selectFrom('products')
      .select(['name', 'hosts'])
      .where('name', '<>', p.name)
      .execute();
    const owner = new Map<string, string>();
    for (const o of others) for (const h of JSON.parse(o.hosts) as string[]) owner.set(h, o.name);
    checkHostsFree(p.hosts, (h) => owner.get(h));
  }

  return {
    getOrg,
    async listOrgs(request) {
      const { limit, after } = pageOf(request, 1);
      let q = db
        .selectFrom('orgs')
        .selectAll()
        .orderBy('name')
        .limit(limit + 1);
      if (after) q = q.where(keyAfter(['name'], after));
      return toPage(await q.execute(), limit, (r) => [r.name], orgOf);
    },
    async createOrg(input, actor) {
      await cx.lock(actor);
      const org = parseInput(orgInputSchema, input, 'org');
      if ((await getOrg(org.name)) !== null) throw duplicate('org', org.name);
      const row = { name: org.name, created_at: cx.now() };
      await db.insertInto('orgs').values(row).execute();
      const created = orgOf(row);
      await cx.audit(actor, 'org.create', `org/${org.name}`, null, created);
      return created;
    },
    async deleteOrg(name, actor) {
      await cx.lock(actor);
      const org = await getOrg(name);
      if (org === null) throw notFound('org', name);
      const products = await db
        .selectFrom('products')
        .select('name')
        .where('org', '=', name)
        .orderBy('name')
        .execute();
      const modules = await db
        .selectFrom('modules')
        .select('name')
        .where('org', '=', name)
        .orderBy('name')
        .execute();
      checkUnreferenced(`org ${name}`, [
        ...products.map((p) => `product ${p.name}`),
        ...modules.map((m) => `module ${m.name}`),
      ]);
      await db.deleteFrom('orgs').where('name', '=', name).execute();
      await cx.audit(actor, 'org.delete', `org/${name}`, org, null);
    },

    getProduct,
    listProducts: (query) => listOrgRecords(db, 'products', query, productOf),
    async createProduct(input, actor) {
      await cx.lock(actor);
      const p = parseInput(productInputSchema, input, 'product');
      if ((await getProduct(p.name)) !== null) throw duplicate('product', p.name);
      await checkProduct(p);
      const now = cx.now();
      const row = {
        name: p.name,
        org: p.org,
        hosts: toJson(p.hosts),
        entry: p.entry,
        retain_tickets: p.retainTickets,
        base_dtab: p.baseDtab,
        created_at: now,
        updated_at: now,
      };
      await db.insertInto('products').values(row).execute();
      const created = productOf(row);
      await cx.audit(actor, 'product.create', `product/${p.name}`, null, created);
      return created;
    },
    async updateProduct(input, actor) {
      await cx.lock(actor);
      const p = parseInput(productInputSchema, input, 'product');
      const before = await getProduct(p.name);
      if (before === null) throw notFound('product', p.name);
      if (sameContent(before, p)) return before;
      await checkProduct(p);
      const updated: Product = { ...p, createdAt: before.createdAt, updatedAt: cx.now() };
      await db
        .updateTable('products')
        .set({
          org: p.org,
          hosts: toJson(p.hosts),
          entry: p.entry,
          retain_tickets: p.retainTickets,
          base_dtab: p.baseDtab,
          updated_at: updated.updatedAt,
        })
        .where('name', '=', p.name)
        .execute();
      await cx.audit(actor, 'product.update', `product/${p.name}`, before, updated);
      return updated;
    },
    async deleteProduct(name, actor) {
      await cx.lock(actor);
      const product = await getProduct(name);
      if (product === null) throw notFound('product', name);
      const lanes = await db
        .selectFrom('lanes')
        .select('name')
        .where('product', '=', name)
        .orderBy('name')
        .execute();
      const tickets = await db
        .selectFrom('tickets')
        .select('id')
        .where('product', '=', name)
        .orderBy('id')
        .execute();
      const notifiers = await db
        .selectFrom('notifiers')
        .select('name')
        .where('product', '=', name)
        .orderBy('name')
        .execute();
      checkUnreferenced(`product ${name}`, [
        ...lanes.map((l) => `lane ${l.name}`),
        ...tickets.map((t) => `ticket ${t.id}`),
        ...notifiers.map((n) => `notifier ${n.name}`),
      ]);
      await db.deleteFrom('products').where('name', '=', name).execute();
      await cx.audit(actor, 'product.delete', `product/${name}`, product, null);
    },
  };
}
