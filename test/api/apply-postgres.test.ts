// POST /v1/apply against Postgres (a database per test; see test/support/postgres.ts).

import { openPostgresStore } from '../../src/store/postgres.js';
import { withTestPostgres } from '../support/postgres.js';
import { describeApplyContract } from './apply-contract.js';
import type { StoreOpener } from './harness.js';

withTestPostgres('apply (postgres)', (pgTest) => {
  const postgresStore: StoreOpener = async () => {
    const db = await pgTest.createDatabase('turnout_apply');
    const store = await openPostgresStore(db.url, { maxConnections: 5 });
    return {
      store,
      dispose: async () => {
        await store.close();
        await db.drop();
      },
    };
  };
  describeApplyContract('postgres', postgresStore);
});
