// Notification channels and their outbox. A ticket event that raises a notification writes its
// outbox rows in the same transaction as the event (sql-tickets.ts), so a committed event is never
// without its deliveries and a rolled-back one never has any; the control plane's deliverer sends
// them afterwards, outside any engine transaction.

import type { Kysely, Migration } from 'kysely';
import { sql } from 'kysely';
import type { SqlDialect } from './index.js';

export function notifiers(dialect: SqlDialect): Migration {
  const pg = dialect === 'postgres';
  const key = pg ? sql`text collate "C"` : sql`text`;
  const big = pg ? sql`bigint` : sql`integer`;
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('notifiers')
        .addColumn('name', key, (c) => c.primaryKey())
        .addColumn('product', key, (c) => c.notNull().references('products.name'))
        .addColumn('format', 'text', (c) => c.notNull())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('events', 'text', (c) => c.notNull())
        .addColumn('secret', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('notifiers_by_product')
        .on('notifiers')
        .columns(['product', 'name'])
        .execute();

      await db.schema
        .createTable('notifier_deliveries')
        .addColumn('id', big, (c) =>
          pg ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey().autoIncrement(),
        )
        .addColumn('notifier', key, (c) => c.notNull().references('notifiers.name'))
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('next_attempt_at', 'text')
        .addColumn('last_attempt_at', 'text')
        .addColumn('last_status', 'integer')
        .addColumn('last_error', 'text')
        .addColumn('delivered_at', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('notification', 'text', (c) => c.notNull())
        .execute();
      // The deliverer's query: due pending ones, oldest first.
      await db.schema
        .createIndex('notifier_deliveries_due')
        .on('notifier_deliveries')
        .columns(['state', 'next_attempt_at', 'id'])
        .execute();
      await db.schema
        .createIndex('notifier_deliveries_by_notifier')
        .on('notifier_deliveries')
        .columns(['notifier', 'id'])
        .execute();
    },
  };
}
