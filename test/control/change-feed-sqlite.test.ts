// The change feed on SQLite: two stores on one database file play two replicas.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'vitest';
import { createSqliteKysely, openSqliteStore } from '../../src/store/sqlite.js';
import { describeChangeFeed } from './change-feed-contract.js';

describe('change feed (sqlite)', () => {
  describeChangeFeed(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'turnout-feed-'));
    const file = join(dir, 'turnout.db');
    return {
      open: () => openSqliteStore(file),
      raw: async () => createSqliteKysely(file),
      dispose: () => rm(dir, { recursive: true, force: true }),
    };
  });
});
