// The instance registry (lease sweeper, health checker, heartbeats) on a SQLite store in a temp dir.

import { sqliteStore } from '../api/harness.js';
import { describeRegistry } from './registry-contract.js';

describeRegistry('sqlite', sqliteStore);
