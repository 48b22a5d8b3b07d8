// The store contract against Postgres (a database per test; see test/support/postgres.ts).

import { sql } from 'kysely';
import { migrateToLatest } from '../../src/store/migrations/index.js';
import { createPostgresKysely, openPostgresStore } from '../../src/store/postgres.js';
import type { TestPostgres } from '../support/postgres.js';
import { withTestPostgres } from '../support/postgres.js';
import type { StoreTarget } from './store-contract.js';
import { describeStore } from './store-contract.js';

withTestPostgres('store contract (postgres)', (pgTest) => {
  describeStore('postgres', () => postgresTarget(pgTest));
});

async function postgresTarget(pgTest: TestPostgres): Promise<StoreTarget> {
  const db = await pgTest.createDatabase('turnout_t');
  const withDb = async <T>(
    fn: (k: Awaited<ReturnType<typeof createPostgresKysely>>) => Promise<T>,
  ) => {
    const k = await createPostgresKysely(db.url, { maxConnections: 2 });
    try {
      return await fn(k);
    } finally {
      await k.destroy();
    }
  };
  return {
    open: () => openPostgresStore(db.url, { maxConnections: 5 }),
    migrate: () =>
      withDb(async (k) =>
        (await migrateToLatest(k as never, 'postgres')).map((r) => r.migrationName),
      ),
    tables: () =>
      withDb(async (k) => {
        const { rows } = await sql<{ tablename: string }>`
          select tablename from pg_tables
          where schemaname = 'public' and tablename not like 'kysely_%'
          order by tablename`.execute(k);
        return rows.map((r) => r.tablename);
      }),
    dispose: () => db.drop(),
  };
}
