// What the release engine needs beyond the first schema: a ticket's goal (what its operator asked
// for), plan (rollout settings) and progress (where the engine is), its place in the product's
// promotion history, and named leases so that exactly one control-plane replica runs the engine.

import type { Kysely, Migration } from 'kysely';
import { sql } from 'kysely';
import type { SqlDialect } from './index.js';

export function releaseEngine(dialect: SqlDialect): Migration {
  const key = dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('tickets').addColumn('goal', 'text').execute();
      await db.schema
        .alterTable('tickets')
        .addColumn('plan', 'text', (c) => c.notNull().defaultTo('{}'))
        .execute();
      await db.schema
        .alterTable('tickets')
        .addColumn('progress', 'text', (c) => c.notNull().defaultTo('{}'))
        .execute();
      // Set once, when the ticket is promoted: the order of the product's promotions, which is
      // what reverts and reclaim read (ids give creation order, not promotion order).
      await db.schema.alterTable('tickets').addColumn('promoted_seq', 'integer').execute();

      await db.schema
        .createTable('leases')
        .addColumn('name', key, (c) => c.primaryKey())
        .addColumn('holder', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
    },
  };
}
