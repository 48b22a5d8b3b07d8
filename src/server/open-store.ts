// Opens the store a StoreLocation names, applying pending migrations (both back-ends migrate on
// open), so `up` on a fresh Postgres database or an old SQLite file starts on the current schema.
// With it, the artifact store of the same place (docs/artifacts.md): Postgres keeps artifacts in
// the database (replicas share them); a SQLite store keeps them in `artifacts/` next to its file.

import { dirname, join } from 'node:path';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import { DirArtifactStore } from '../artifacts/dir-store.js';
import { PostgresArtifactStore } from '../artifacts/postgres-store.js';
import { openPostgresStore } from '../store/postgres.js';
import { openSqliteStore } from '../store/sqlite.js';
import type { Store } from '../store/store.js';
import type { StoreLocation } from './store-url.js';

export interface StoreWithArtifacts {
  readonly store: Store;
  readonly artifacts: ArtifactStore;
  /** Closes both (the store first: nothing then asks for an artifact). */
  close(): Promise<void>;
}

/** Where a store at `at` keeps its artifacts; answered without opening anything. */
export function artifactsDirOf(at: StoreLocation & { kind: 'sqlite' }): string {
  return join(dirname(at.path), 'artifacts');
}

/**
 * The store, checking versions against the artifact store opened with it. `field` names what chose
 * `at` (`--store`, `TURNOUT_STORE`) in the error a Postgres that cannot be reached throws.
 */
export async function openStoreWithArtifacts(
  at: StoreLocation,
  field = '--store',
): Promise<StoreWithArtifacts> {
  const artifacts: ArtifactStore =
    at.kind === 'sqlite'
      ? await DirArtifactStore.open(artifactsDirOf(at))
      : await PostgresArtifactStore.open(at.url, { field });
  let store: Store;
  try {
    store =
      at.kind === 'sqlite'
        ? await openSqliteStore(at.path, { artifacts })
        : await openPostgresStore(at.url, { artifacts, field });
  } catch (error) {
    await artifacts.close().catch(() => {});
    throw error;
  }
  return {
    store,
    artifacts,
    async close() {
      await store.close().catch(() => {});
      await artifacts.close();
    },
  };
}
