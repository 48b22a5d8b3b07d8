// Last-applied records for `turnout apply` (kubectl's last-applied-configuration): per object,
// the top-level fields the last apply's document gave. They decide what a later document that
// leaves a field out means (src/control/apply-fields.ts), and which objects `apply --prune` may
// delete: only those an apply wrote. Field names only, never values: a notifier's secret stays
// in its own table.

import type { Kysely, Migration } from 'kysely';
import { sql } from 'kysely';
import type { SqlDialect } from './index.js';

export function applied(dialect: SqlDialect): Migration {
  const key = dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('applied')
        .addColumn('kind', key, (c) => c.notNull())
        .addColumn('key', key, (c) => c.notNull())
        .addColumn('fields', 'text', (c) => c.notNull())
        .addColumn('applied_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('applied_pk', ['kind', 'key'])
        .execute();
    },
  };
}
