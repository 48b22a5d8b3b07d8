// Assignments (assignment-model.ts): one row per instance the control plane wants on a host, with
// the agent's last report as JSON; and hosts.registered_by, the agent token a host is bound to
// (the first agent that registers it), so another agent's token cannot speak for that host.

import type { Kysely, Migration } from 'kysely';
import { sql } from 'kysely';
import type { SqlDialect } from './index.js';

export function assignments(dialect: SqlDialect): Migration {
  const key = dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('hosts').addColumn('registered_by', 'text').execute();
      await db.schema
        .createTable('assignments')
        .addColumn('id', key, (c) => c.primaryKey())
        .addColumn('host', key, (c) => c.notNull().references('hosts.name'))
        .addColumn('module', key, (c) => c.notNull())
        .addColumn('version', key, (c) => c.notNull())
        .addColumn('run', 'text', (c) => c.notNull())
        .addColumn('health', 'text')
        .addColumn('desired', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      // An agent's query: its host's assignments, by id.
      await db.schema
        .createIndex('assignments_by_host')
        .on('assignments')
        .columns(['host', 'id'])
        .execute();
    },
  };
}
