// Small queries and comparisons that several SQL operation groups need.

import type { Kysely, Transaction } from 'kysely';
import type { Database } from './db.js';
import { sameJson } from './validate.js';

type Db = Kysely<Database> | Transaction<Database>;

/** The whole module dependency graph (name → calls): small, and cycle checks need all of it. */
export async function loadGraph(db: Db): Promise<Map<string, string[]>> {
  const rows = await db.selectFrom('modules').select(['name', 'calls']).orderBy('name').execute();
  return new Map(rows.map((r) => [r.name, JSON.parse(r.calls) as string[]]));
}

/** True when a stored record already holds `input` (timestamps aside): such an update is a no-op. */
export function sameContent(record: object, input: object): boolean {
  const { createdAt: _c, updatedAt: _u, ...content } = record as Record<string, unknown>;
  return sameJson(content, input);
}
