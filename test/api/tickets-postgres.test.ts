// The ticket API (create, commands, revert, instance logs) against Postgres (a database per API
// server; see test/support/postgres.ts).

import { openPostgresStore } from '../../src/store/postgres.js';
import { withTestPostgres } from '../support/postgres.js';
import type { StoreOpener } from './harness.js';
import { describeTicketsContract } from './tickets-contract.js';

withTestPostgres('ticket API (postgres)', (pgTest) => {
  const postgresStore: StoreOpener = async () => {
    const db = await pgTest.createDatabase('turnout_tickets');
    const store = await openPostgresStore(db.url, { maxConnections: 5 });
    return {
      store,
      dispose: async () => {
        await store.close();
        await db.drop();
      },
    };
  };
  describeTicketsContract('postgres', postgresStore);
});
