// The fleet's hosts (host-model.ts): one row per machine an agent runs on.

import type { Kysely, Migration } from 'kysely';
import { sql } from 'kysely';
import type { SqlDialect } from './index.js';

export function hosts(dialect: SqlDialect): Migration {
  const key = dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('hosts')
        .addColumn('name', key, (c) => c.primaryKey())
        .addColumn('address', 'text', (c) => c.notNull())
        .addColumn('labels', 'text', (c) => c.notNull())
        .addColumn('capacity', 'integer')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('lease_expires_at', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
    },
  };
}
