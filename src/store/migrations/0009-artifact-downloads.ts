// Issue 14, the agent's side of artifacts: each assignment names the artifact its host downloads
// (JSON text, null for a command on the host), and download_permits is the fleet's download
// throttle — at most K hosts hold a granted permit at once, the others wait in line in the same
// table (requested_at orders them). Rows expire: a dead agent never blocks the fleet. In the store,
// not in one server's memory, so several control-plane replicas agree on who may download.

import type { Kysely, Migration } from 'kysely';
import { sql } from 'kysely';
import type { SqlDialect } from './index.js';

export function artifactDownloads(dialect: SqlDialect): Migration {
  const key = dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('assignments').addColumn('artifact', 'text').execute();
      await db.schema
        .createTable('download_permits')
        .addColumn('id', key, (c) => c.primaryKey())
        .addColumn('host', key, (c) => c.notNull().unique())
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addColumn('granted', 'integer', (c) => c.notNull())
        .addColumn('requested_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
    },
  };
}
