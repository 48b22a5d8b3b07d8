// The first schema. Text keys use the "C" collation in Postgres so that key order (and therefore
// pagination order) is byte order, exactly as in SQLite; a locale collation would sort `a-b`
// differently on each back-end. JSON columns are text in both: the store never queries inside
// them, one code path serves both back-ends, and jsonb would reorder keys on the way back.

import type { Kysely, Migration } from 'kysely';
import { sql } from 'kysely';
import type { SqlDialect } from './index.js';

export function initial(dialect: SqlDialect): Migration {
  const pg = dialect === 'postgres';
  const key = pg ? sql`text collate "C"` : sql`text`;
  const float = pg ? sql`double precision` : sql`real`;
  const big = pg ? sql`bigint` : sql`integer`;

  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('orgs')
        .addColumn('name', key, (c) => c.primaryKey())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('modules')
        .addColumn('name', key, (c) => c.primaryKey())
        .addColumn('org', key, (c) => c.notNull().references('orgs.name'))
        .addColumn('calls', 'text', (c) => c.notNull())
        .addColumn('health', 'text', (c) => c.notNull())
        .addColumn('run', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('products')
        .addColumn('name', key, (c) => c.primaryKey())
        .addColumn('org', key, (c) => c.notNull().references('orgs.name'))
        .addColumn('hosts', 'text', (c) => c.notNull())
        .addColumn('entry', key, (c) => c.notNull().references('modules.name'))
        .addColumn('retain_tickets', 'integer', (c) => c.notNull())
        .addColumn('base_dtab', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('versions')
        .addColumn('module', key, (c) => c.notNull().references('modules.name'))
        .addColumn('version', key, (c) => c.notNull())
        .addColumn('run', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('versions_pk', ['module', 'version'])
        .execute();

      await db.schema
        .createTable('instances')
        .addColumn('id', key, (c) => c.primaryKey())
        .addColumn('module', key, (c) => c.notNull())
        .addColumn('version', key, (c) => c.notNull())
        .addColumn('host', key, (c) => c.notNull())
        .addColumn('address', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('health', 'text', (c) => c.notNull())
        .addColumn('weight', float, (c) => c.notNull())
        .addColumn('lease_expires_at', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addForeignKeyConstraint('instances_version_fk', ['module', 'version'], 'versions', [
          'module',
          'version',
        ])
        .execute();
      await db.schema
        .createIndex('instances_by_version')
        .on('instances')
        .columns(['module', 'version'])
        .execute();

      await db.schema
        .createTable('lanes')
        .addColumn('product', key, (c) => c.notNull().references('products.name'))
        .addColumn('name', key, (c) => c.notNull())
        .addColumn('overlay', 'text', (c) => c.notNull())
        .addColumn('rules', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('lanes_pk', ['product', 'name'])
        .execute();

      await db.schema
        .createTable('tickets')
        .addColumn('id', 'integer', (c) =>
          pg ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey().autoIncrement(),
        )
        .addColumn('product', key, (c) => c.notNull().references('products.name'))
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('revert_of', 'integer', (c) => c.references('tickets.id'))
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('tickets_by_product')
        .on('tickets')
        .columns(['product', 'id'])
        .execute();

      // Items are rows, not JSON, so "which tickets reference this version" (reclaim, delete
      // checks) is an indexed query.
      await db.schema
        .createTable('ticket_items')
        .addColumn('ticket_id', 'integer', (c) => c.notNull().references('tickets.id'))
        .addColumn('module', key, (c) => c.notNull())
        .addColumn('version', key, (c) => c.notNull())
        .addPrimaryKeyConstraint('ticket_items_pk', ['ticket_id', 'module'])
        .addForeignKeyConstraint('ticket_items_version_fk', ['module', 'version'], 'versions', [
          'module',
          'version',
        ])
        .execute();
      await db.schema
        .createIndex('ticket_items_by_version')
        .on('ticket_items')
        .columns(['module', 'version'])
        .execute();

      await db.schema
        .createTable('ticket_events')
        .addColumn('ticket_id', 'integer', (c) => c.notNull().references('tickets.id'))
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('ticket_events_pk', ['ticket_id', 'seq'])
        .execute();

      await db.schema
        .createTable('audit')
        .addColumn('id', big, (c) =>
          pg ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey().autoIncrement(),
        )
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('target', key, (c) => c.notNull())
        .addColumn('before', 'text', (c) => c.notNull())
        .addColumn('after', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('audit_by_target')
        .on('audit')
        .columns(['target', 'id'])
        .execute();

      // One row: the change counter. Every mutating transaction locks and bumps it, which both
      // numbers the changes and serializes writers (see sql-context.ts).
      await db.schema
        .createTable('change_counter')
        .addColumn('id', 'integer', (c) => c.primaryKey().check(sql`id = 1`))
        .addColumn('version', big, (c) => c.notNull())
        .execute();
      await sql`insert into change_counter (id, version) values (1, 0)`.execute(db);
    },
  };
}
