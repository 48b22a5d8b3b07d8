// Shared fixtures for the store contract: a small catalog, an error matcher, and a fingerprint of
// everything in a store (to prove a rejected change left nothing behind).

import { expect } from 'vitest';
import type { ErrorCode } from '../../src/errors.js';
import { TurnoutError } from '../../src/errors.js';
import type { Store, StoreTx } from '../../src/store/store.js';

/** A database the contract can open stores on (twice, for concurrency) and inspect. */
export interface StoreTarget {
  open(): Promise<Store>;
  /** Applies pending migrations directly; answers the names applied now. */
  migrate(): Promise<string[]>;
  /** Names of the tables in the database. */
  tables(): Promise<string[]>;
  dispose(): Promise<void>;
}

export type TargetFactory = () => Promise<StoreTarget>;

export const ACTOR = 'alice';
export const proc = (command = 'node') => ({ process: { command } });

/**
 * acme: account, payments ← orders ← web (entry of product shop); reports (used by no product).
 * Versions 1.0.0 of each and orders@1.1.0; lane shop/dev; ticket 1; instance i-1.
 */
export async function seed(store: StoreTx): Promise<void> {
  await store.createOrg({ name: 'acme' }, ACTOR);
  for (const name of ['account', 'payments', 'reports']) {
    await store.createModule({ name, org: 'acme', run: proc() }, ACTOR);
  }
  await store.createModule(
    { name: 'orders', org: 'acme', calls: ['account', 'payments'], run: proc() },
    ACTOR,
  );
  await store.createModule({ name: 'web', org: 'acme', calls: ['orders'], run: proc() }, ACTOR);
  await store.createProduct(
    {
      name: 'shop',
      org: 'acme',
      entry: 'web',
      hosts: ['shop.example.com'],
      baseDtab: '/svc => /v;',
    },
    ACTOR,
  );
  for (const module of ['account', 'payments', 'reports', 'orders', 'web']) {
    await store.createVersion({ module, version: '1.0.0' }, ACTOR);
  }
  await store.createVersion({ module: 'orders', version: '1.1.0' }, ACTOR);
  await store.createLane(
    {
      product: 'shop',
      name: 'dev',
      overlay: '/svc/orders => /v/orders/1.1.0;',
      rules: [{ lane: 'dev', header: { name: 'x-dev', equals: '1' } }],
    },
    ACTOR,
  );
  await store.createTicket(
    { product: 'shop', items: [{ module: 'orders', version: '1.1.0' }] },
    ACTOR,
  );
  await store.createInstance(
    { id: 'i-1', module: 'orders', version: '1.0.0', host: 'h1', address: '127.0.0.1:9001' },
    ACTOR,
  );
}

/** Expects `promise` to reject with a TurnoutError of `code` about `field`. */
export async function expectError(
  promise: Promise<unknown>,
  code: ErrorCode,
  field: string | undefined,
  message?: RegExp,
): Promise<TurnoutError> {
  const error = await promise.then(
    () => new Error('expected a rejection, got success'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TurnoutError);
  const e = error as TurnoutError;
  expect({ code: e.code, field: e.field, message: e.message }).toMatchObject({ code, field });
  if (message !== undefined) expect(e.message).toMatch(message);
  return e;
}

/** Everything the store holds, as one comparable value. */
export async function fingerprint(store: Store): Promise<unknown> {
  const page = { limit: 1000 };
  const tickets = (await store.listTickets(page)).items;
  return {
    version: await store.changeVersion(),
    orgs: (await store.listOrgs(page)).items,
    products: (await store.listProducts(page)).items,
    modules: (await store.listModules(page)).items,
    versions: (await store.listVersions(page)).items,
    instances: (await store.listInstances(page)).items,
    lanes: (await store.listLanes(page)).items,
    tickets,
    events: await Promise.all(tickets.map(async (t) => (await store.listTicketEvents(t.id)).items)),
    audit: (await store.listAudit(page)).items,
    applied: await store.listApplied(),
  };
}

/** Every item of a paginated list, following cursors, with the page sizes seen. */
export async function collect<T>(
  list: (page: {
    limit: number;
    cursor?: string;
  }) => Promise<{ items: T[]; nextCursor: string | null }>,
  limit: number,
): Promise<{ items: T[]; sizes: number[] }> {
  const items: T[] = [];
  const sizes: number[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await list(cursor === undefined ? { limit } : { limit, cursor });
    items.push(...page.items);
    sizes.push(page.items.length);
    if (page.nextCursor === null) return { items, sizes };
    cursor = page.nextCursor;
  }
}
