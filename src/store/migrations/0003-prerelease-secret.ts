// Every ticket gets its own unguessable pre-release header value. Tickets from before this
// migration were reachable with `t-<id>`; each gets a fresh secret here, so no old lane keeps
// matching a guessable value once the engine rewrites its rule (it compares rules every tick).

import type { Kysely, Migration } from 'kysely';
import { newPrereleaseSecret } from '../prerelease-secret.js';
import type { SqlDialect } from './index.js';

interface Db {
  tickets: { id: number; prerelease_secret: string | null };
}

export function prereleaseSecret(_dialect: SqlDialect): Migration {
  return {
    async up(untyped: Kysely<unknown>): Promise<void> {
      const db = untyped as Kysely<Db>;
      await db.schema.alterTable('tickets').addColumn('prerelease_secret', 'text').execute();
      const rows = await db.selectFrom('tickets').select('id').execute();
      for (const r of rows) {
        await db
          .updateTable('tickets')
          .set({ prerelease_secret: newPrereleaseSecret() })
          .where('id', '=', r.id)
          .execute();
      }
    },
  };
}
