// POST /v1/apply against Postgres (a database per test; see test/support/postgres.ts).

import { withTestPostgres } from '../support/postgres.js';
import { describeApplyContract } from './apply-contract.js';
import { describeApplyRules } from './apply-rules-contract.js';
import { postgresOpener } from './harness.js';

withTestPostgres('apply (postgres)', (pgTest) => {
  const postgresStore = postgresOpener(pgTest, 'turnout_apply');
  describeApplyContract('postgres', postgresStore);
  describeApplyRules('postgres', postgresStore);
});
