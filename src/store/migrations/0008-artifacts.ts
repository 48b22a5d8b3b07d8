// Artifacts (issue 14, docs/artifacts.md): versions.artifact, what a version runs (JSON, null for a
// command on the host). On Postgres the artifact store lives in the database so replicas share it:
// one index row per artifact, written in the same transaction as its chunks (bytea, a fixed size
// each but the last), so an artifact is there whole or not at all. On SQLite the artifact store is
// a directory next to the database file (src/artifacts/dir-store.ts) and needs no table.

import type { Kysely, Migration } from 'kysely';
import { sql } from 'kysely';
import type { SqlDialect } from './index.js';

export function artifacts(dialect: SqlDialect): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('versions').addColumn('artifact', 'text').execute();
      if (dialect !== 'postgres') return;
      const key = sql`text collate "C"`;
      await db.schema
        .createTable('artifacts')
        .addColumn('sha256', key, (c) => c.primaryKey())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('chunks', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('artifact_chunks')
        .addColumn('sha256', key, (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('data', 'bytea', (c) => c.notNull())
        .addPrimaryKeyConstraint('artifact_chunks_pk', ['sha256', 'seq'])
        .execute();
    },
  };
}
