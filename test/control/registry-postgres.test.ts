// The instance registry (lease sweeper, health checker, heartbeats) on Postgres (a database per
// test; see test/support/postgres.ts).

import { openPostgresStore } from '../../src/store/postgres.js';
import type { StoreOpener } from '../api/harness.js';
import { withTestPostgres } from '../support/postgres.js';
import { describeRegistry } from './registry-contract.js';

withTestPostgres('instance registry (postgres)', (pgTest) => {
  const postgresStore: StoreOpener = async () => {
    const db = await pgTest.createDatabase('turnout_registry');
    const store = await openPostgresStore(db.url, { maxConnections: 5 });
    return {
      store,
      dispose: async () => {
        await store.close();
        await db.drop();
      },
    };
  };
  describeRegistry('postgres', postgresStore);
});
