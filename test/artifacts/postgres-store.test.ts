// The artifact store contract on the Postgres back-end (a database per test; see
// test/support/postgres.ts), plus what only it does: chunks of a fixed size, written in one
// transaction with the index row.

import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { CHUNK_BYTES, PostgresArtifactStore } from '../../src/artifacts/postgres-store.js';
import { createPostgresKysely, openPostgresStore } from '../../src/store/postgres.js';
import type { TestPostgres } from '../support/postgres.js';
import { withTestPostgres } from '../support/postgres.js';
import type { ArtifactTarget } from './artifact-store.contract.js';
import { describeArtifactStore, pieces, sha256Of } from './artifact-store.contract.js';
import { orphanChunkBytes } from './leftovers.js';

async function postgresTarget(pgTest: TestPostgres): Promise<ArtifactTarget & { url: string }> {
  const db = await pgTest.createDatabase('turnout_art');
  // The tables come with the store's migrations.
  await (await openPostgresStore(db.url, { maxConnections: 2 })).close();
  const store = await PostgresArtifactStore.open(db.url, { maxConnections: 4 });
  return {
    url: db.url,
    store,
    leftovers: () => orphanChunkBytes(db.url),
    reopen: () => PostgresArtifactStore.open(db.url, { maxConnections: 2 }),
    dispose: async () => {
      await store.close();
      await db.drop();
    },
  };
}

withTestPostgres('artifact store (postgres)', (pgTest) => {
  describeArtifactStore('postgres', () => postgresTarget(pgTest));

  it('stores an artifact as fixed-size chunks (the last one short)', async () => {
    const t = await postgresTarget(pgTest);
    try {
      const bytes = Buffer.alloc(2 * CHUNK_BYTES + 123, 7);
      const sha = sha256Of(bytes);
      await t.store.put(sha, pieces(bytes, 10_000), { maxBytes: 10 * CHUNK_BYTES });
      const k = await createPostgresKysely(t.url, { maxConnections: 1 });
      try {
        const { rows } = await sql<{ seq: number; n: number }>`
          select seq, length(data) as n from artifact_chunks where sha256 = ${sha} order by seq`.execute(
          k,
        );
        expect(rows.map((r) => [r.seq, Number(r.n)])).toEqual([
          [0, CHUNK_BYTES],
          [1, CHUNK_BYTES],
          [2, 123],
        ]);
      } finally {
        await k.destroy();
      }
    } finally {
      await t.dispose();
    }
  });
});
