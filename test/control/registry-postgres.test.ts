// The instance registry (lease sweeper, health checker, heartbeats) on Postgres (a database per
// test; see test/support/postgres.ts).

import { postgresOpener } from '../api/harness.js';
import { withTestPostgres } from '../support/postgres.js';
import { describeRegistry } from './registry-contract.js';

withTestPostgres('instance registry (postgres)', (pgTest) => {
  const postgresStore = postgresOpener(pgTest, 'turnout_registry');
  describeRegistry('postgres', postgresStore);
});
