// The Store over any Kysely database: both back-ends share every query; sqlite.ts and postgres.ts
// only open the connection. Reads on the store run without a transaction (each is one snapshot
// query); every write method runs in a transaction of its own unless called on `tx`.

import { AsyncLocalStorage } from 'node:async_hooks';
import type { Kysely } from 'kysely';
import type { Database } from './db.js';
import type { SqlDialect } from './migrations/index.js';
import { migrateToLatest } from './migrations/index.js';
import { appliedOps } from './sql-applied.js';
import { assignmentOps } from './sql-assignments.js';
import { catalogOps } from './sql-catalog.js';
import { SqlContext } from './sql-context.js';
import { fleetOps } from './sql-fleet.js';
import { hostOps } from './sql-hosts.js';
import { laneOps } from './sql-lanes.js';
import { leaseOps } from './sql-leases.js';
import { moduleOps } from './sql-modules.js';
import { notifierOps } from './sql-notifiers.js';
import { permitOps } from './sql-permits.js';
import { ticketOps } from './sql-tickets.js';
import type { ArtifactLookup, Store, StoreTx, StoreWrites } from './store.js';
import { WRITE_METHODS } from './store.js';

function opsFor(cx: SqlContext): StoreTx {
  return {
    ...catalogOps(cx),
    ...moduleOps(cx),
    ...fleetOps(cx),
    ...laneOps(cx),
    ...ticketOps(cx),
    ...leaseOps(cx),
    ...notifierOps(cx),
    ...hostOps(cx),
    ...assignmentOps(cx),
    ...appliedOps(cx),
    ...permitOps(cx),
    changeVersion: () => cx.changeVersion(),
    listChanges: (since) => cx.listChanges(since),
  };
}

export interface SqlStoreOptions {
  db: Kysely<Database>;
  dialect: SqlDialect;
  /** Closes what the driver opened (the pool, the file), after Kysely's own destroy. */
  onClose?: () => Promise<void> | void;
  /** Where pushed artifacts are (src/artifacts); none: a version naming one is refused. */
  artifacts?: ArtifactLookup;
}

/** Applies pending migrations, then answers the store. */
export async function openSqlStore({
  db,
  dialect,
  onClose,
  artifacts = undefined,
}: SqlStoreOptions): Promise<Store> {
  const lookup = artifacts ?? null;
  try {
    await migrateToLatest(db as unknown as Kysely<unknown>, dialect);
  } catch (error) {
    await db.destroy();
    throw error;
  }

  let closed = false;
  // Inside `transaction(fn)` the store itself must not be used: on SQLite it would wait for the
  // one connection the transaction holds (a deadlock), on Postgres it would not see the
  // transaction's writes. Failing loudly keeps code portable between the two.
  const inside = new AsyncLocalStorage<true>();
  const outside = (): void => {
    if (inside.getStore()) {
      throw new Error('inside store.transaction(fn), use its tx argument, not the store');
    }
  };
  const transaction = async <T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> => {
    outside();
    return db.transaction().execute((trx) =>
      inside.run(true, async () => {
        const cx = new SqlContext(trx, dialect, true, lookup);
        const result = await fn(opsFor(cx));
        await cx.writeFeed();
        return result;
      }),
    );
  };

  // Each write method on the store itself is the same method on a fresh transaction. The cast is
  // needed because TypeScript cannot relate a mapped key to its own parameter list.
  const writes = {} as Record<keyof StoreWrites, unknown>;
  for (const name of WRITE_METHODS) {
    writes[name] = (...args: unknown[]) =>
      transaction((tx) => (tx[name] as (...a: unknown[]) => Promise<unknown>)(...args));
  }

  type AnyMethod = (...args: unknown[]) => unknown;
  const reads = opsFor(new SqlContext(db, dialect, false, lookup)) as unknown as Record<
    string,
    AnyMethod
  >;
  for (const [name, read] of Object.entries(reads)) {
    reads[name] = async (...args: unknown[]) => {
      outside();
      return read(...args);
    };
  }

  return {
    ...(reads as unknown as StoreTx),
    ...(writes as StoreWrites),
    backend: dialect,
    transaction,
    async close() {
      if (closed) return;
      closed = true;
      await db.destroy();
      await onClose?.();
    },
  };
}
