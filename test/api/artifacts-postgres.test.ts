// /v1/artifacts with the Postgres store and the Postgres artifact store (a database per test; see
// test/support/postgres.ts).

import { openStoreWithArtifacts } from '../../src/server/open-store.js';
import { orphanChunkBytes } from '../artifacts/leftovers.js';
import { withTestPostgres } from '../support/postgres.js';
import { describeArtifactsApi } from './artifacts-contract.js';

withTestPostgres('artifacts api (postgres)', (pgTest) => {
  describeArtifactsApi('postgres', async () => {
    const db = await pgTest.createDatabase('turnout_api_art');
    const opened = await openStoreWithArtifacts({ kind: 'postgres', url: db.url });
    return {
      store: opened.store,
      artifacts: opened.artifacts,
      leftovers: () => orphanChunkBytes(db.url),
      dispose: async () => {
        await opened.close();
        await db.drop();
      },
    };
  });
});
