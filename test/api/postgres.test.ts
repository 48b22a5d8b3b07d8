// The API contract against Postgres (a database per test; see test/support/postgres.ts).

import { withTestPostgres } from '../support/postgres.js';
import { describeApiContract } from './api-contract.js';
import { postgresOpener } from './harness.js';

withTestPostgres('API contract (postgres)', (pgTest) => {
  const postgresStore = postgresOpener(pgTest, 'turnout_api');
  describeApiContract('postgres', postgresStore);
});
