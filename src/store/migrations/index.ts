// Versioned migrations, applied at open. The list is static (not read from a folder at run time)
// so it works from dist/ and from a bundle alike; Kysely's Migrator records what ran in
// kysely_migration and takes a lock (an advisory lock in Postgres), so several control-plane
// replicas starting at once apply each migration exactly once and a re-run is a no-op.

import type { Kysely, Migration, MigrationResult } from 'kysely';
import { Migrator } from 'kysely';
import { initial } from './0001-initial.js';
import { releaseEngine } from './0002-release-engine.js';
import { prereleaseSecret } from './0003-prerelease-secret.js';
import { notifiers } from './0004-notifiers.js';
import { hosts } from './0005-hosts.js';
import { assignments } from './0006-assignments.js';
import { applied } from './0007-applied.js';
import { artifacts } from './0008-artifacts.js';
import { artifactDownloads } from './0009-artifact-downloads.js';
import { changeFeed } from './0010-change-feed.js';
import { hostHeldState } from './0011-host-held-state.js';

export type SqlDialect = 'sqlite' | 'postgres';

/** Names sort in apply order; never rename or edit one that has shipped, add a new one. */
export function migrations(dialect: SqlDialect): Record<string, Migration> {
  return {
    '0001-initial': initial(dialect),
    '0002-release-engine': releaseEngine(dialect),
    '0003-prerelease-secret': prereleaseSecret(dialect),
    '0004-notifiers': notifiers(dialect),
    '0005-hosts': hosts(dialect),
    '0006-assignments': assignments(dialect),
    '0007-applied': applied(dialect),
    '0008-artifacts': artifacts(dialect),
    '0009-artifact-downloads': artifactDownloads(dialect),
    '0010-change-feed': changeFeed(dialect),
    '0011-host-held-state': hostHeldState(),
  };
}

export const MIGRATION_NAMES = Object.keys(migrations('sqlite'));

/** Applies every pending migration; answers the ones applied now (none on a re-run). */
export async function migrateToLatest(
  db: Kysely<unknown>,
  dialect: SqlDialect,
): Promise<MigrationResult[]> {
  const all = migrations(dialect);
  const migrator = new Migrator({ db, provider: { getMigrations: async () => all } });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`store migration ${failed} failed: ${reason}`, { cause: error });
  }
  return results;
}
