// hosts.held_state: the operator's state (ready, cordoned, draining) a host had when the lease
// sweeper set it down, so a lost host that comes back returns to it — a cordoned host stays
// cordoned — instead of to ready. Null while the host is not down.

import type { Kysely, Migration } from 'kysely';

export function hostHeldState(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('hosts').addColumn('held_state', 'text').execute();
    },
  };
}
