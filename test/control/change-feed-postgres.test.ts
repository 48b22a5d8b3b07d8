// The change feed on Postgres: two stores (two pools) on one database are two control-plane
// replicas; each must see the other's changes through the feed.

import { createPostgresKysely, openPostgresStore } from '../../src/store/postgres.js';
import { withTestPostgres } from '../support/postgres.js';
import { describeChangeFeed } from './change-feed-contract.js';

withTestPostgres('change feed (postgres)', (pgTest) => {
  describeChangeFeed(async () => {
    const db = await pgTest.createDatabase('turnout_feed');
    return {
      open: () => openPostgresStore(db.url, { maxConnections: 3 }),
      raw: () => createPostgresKysely(db.url, { maxConnections: 1 }),
      dispose: () => db.drop(),
    };
  });
});
