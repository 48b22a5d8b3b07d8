// The change feed: for each change-counter value, the audit targets its transaction changed
// (`instance/i-1`, `lane/shop/dev`, …), so the snapshot publisher reads only those rows instead of
// the whole catalog. It lives in the database, written in the same transaction as the change, so
// control-plane replicas on one Postgres see each other's changes. Only the recent rows are kept
// (FEED_KEEP in sql-context.ts): a reader further behind finds a gap and reads everything.

import type { Kysely, Migration } from 'kysely';
import { sql } from 'kysely';
import type { SqlDialect } from './index.js';

export function changeFeed(dialect: SqlDialect): Migration {
  const big = dialect === 'postgres' ? sql`bigint` : sql`integer`;
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('change_feed')
        .addColumn('version', big, (c) => c.primaryKey())
        // A JSON array of audit targets; ["*"]: too many to list, read everything.
        .addColumn('targets', 'text', (c) => c.notNull())
        .execute();
    },
  };
}
