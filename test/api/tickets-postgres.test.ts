// The ticket API (create, commands, revert, instance logs) against Postgres (a database per API
// server; see test/support/postgres.ts).

import { withTestPostgres } from '../support/postgres.js';
import { postgresOpener } from './harness.js';
import { describeTicketsContract } from './tickets-contract.js';

withTestPostgres('ticket API (postgres)', (pgTest) => {
  const postgresStore = postgresOpener(pgTest, 'turnout_tickets');
  describeTicketsContract('postgres', postgresStore);
});
