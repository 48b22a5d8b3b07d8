// The ticket API (create, commands, revert, instance logs) against a SQLite store.

import { sqliteStore } from './harness.js';
import { describeTicketsContract } from './tickets-contract.js';

describeTicketsContract('sqlite', sqliteStore);
