// Named leases (the release engine's leadership): one atomic upsert takes a free or expired lease
// or renews one's own, so two control-plane replicas can never both hold it. Not audited and no
// change-counter bump: renewals happen every second and change nothing a proxy routes on.

import type { SqlContext } from './sql-context.js';
import type { StoreTx } from './store.js';

type LeaseOps = Pick<StoreTx, 'acquireLease' | 'releaseLease'>;

export function leaseOps(cx: SqlContext): LeaseOps {
  const db = cx.db;
  return {
    async acquireLease(name, holder, ttlMs) {
      cx.assertWritable();
      const now = new Date();
      const expires = new Date(now.getTime() + ttlMs).toISOString();
      const row = await db
        .insertInto('leases')
        .values({ name, holder, expires_at: expires })
        .onConflict((oc) =>
          oc
            .column('name')
            .doUpdateSet({ holder, expires_at: expires })
            .where((eb) =>
              eb.or([
                eb('leases.holder', '=', holder),
                eb('leases.expires_at', '<=', now.toISOString()),
              ]),
            ),
        )
        .returning('holder')
        .executeTakeFirst();
      return row?.holder === holder;
    },
    async releaseLease(name, holder) {
      cx.assertWritable();
      await db.deleteFrom('leases').where('name', '=', name).where('holder', '=', holder).execute();
    },
  };
}
