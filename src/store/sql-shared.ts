// Small queries and comparisons that several SQL operation groups need.

import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Page, PageRequest } from './cursor.js';
import { toPage } from './cursor.js';
import type { Database } from './db.js';
import { keyAfter, pageOf } from './sql-context.js';
import { sameJson } from './validate.js';

type Db = Kysely<Database> | Transaction<Database>;

/** The whole module dependency graph (name → calls): small, and cycle checks need all of it. */
export async function loadGraph(db: Db): Promise<Map<string, string[]>> {
  const rows = await db.selectFrom('modules').select(['name', 'calls']).orderBy('name').execute();
  return new Map(rows.map((r) => [r.name, JSON.parse(r.calls) as string[]]));
}

/** True when a stored record already holds `input` (timestamps aside): such an update is a no-op. */
export function sameContent(record: object, input: object): boolean {
  return sameJson(withoutStamps(record), withoutStamps(input));
}

function withoutStamps(record: object): object {
  const { createdAt: _c, updatedAt: _u, ...content } = record as Record<string, unknown>;
  return content;
}

/** One page of an org-owned catalog table, by name, optionally only one org's rows. */
export async function listOrgRecords<T extends 'products' | 'modules', R>(
  db: Db,
  table: T,
  query: (PageRequest & { org?: string }) | undefined,
  recordOf: (row: Selectable<Database[T]>) => R,
): Promise<Page<R>> {
  const { limit, after } = pageOf(query, 1);
  // The two tables share the columns used here; Kysely cannot see that through a table union.
  const from = db.selectFrom(table as 'products');
  let q = from
    .selectAll()
    .orderBy('name')
    .limit(limit + 1);
  if (query?.org !== undefined) q = q.where('org', '=', query.org);
  if (after) q = q.where(keyAfter(['name'], after));
  const rows = (await q.execute()) as unknown as Selectable<Database[T]>[];
  return toPage(rows, limit, (r) => [(r as { name: string }).name], recordOf);
}
