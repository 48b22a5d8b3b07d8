// One ticket the engine cannot move does not hold up the others: given two products' tickets both
// asked to promote, when every write of the first ticket's move is refused (as the store refused a
// canary's lane whose key was not a header name, before the API checked it), then the second is
// promoted all the same, and the first's error is logged once while it stays the same. Real SQLite
// store; the refusal is the store's own error, raised by a proxy around the real transaction.

import { join } from 'node:path';
import type { Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import { TurnoutError } from '../../src/errors.js';
import { ReleaseEngine } from '../../src/release/engine.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store, StoreTx } from '../../src/store/store.js';
import { madeTempDir } from '../support/temp-dir.js';
import { promotingTicket } from './store-fixtures.js';

const ENGINE = 'engine';

/** The store, whose transactions refuse any update of ticket `id`. */
function refusingTicket(store: Store, id: number): Store {
  const refuse = (tx: StoreTx): StoreTx =>
    new Proxy(tx, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target) as unknown;
        if (prop !== 'updateTicket')
          return typeof value === 'function' ? value.bind(target) : value;
        return async (ticket: number, ...rest: unknown[]) => {
          if (ticket === id)
            throw new TurnoutError('invalid_argument', `ticket ${id}: refused by the test`);
          return (target.updateTicket as (...a: unknown[]) => unknown)(ticket, ...rest);
        };
      },
    });
  return new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (prop !== 'transaction') return typeof value === 'function' ? value.bind(target) : value;
      return <T>(fn: (tx: StoreTx) => Promise<T>) => target.transaction((tx) => fn(refuse(tx)));
    },
  });
}

/** The error lines a logger was given. */
function errorLog(): { logger: Logger; errors: { event?: unknown; ticket?: unknown }[] } {
  const errors: { event?: unknown; ticket?: unknown }[] = [];
  const noop = () => {};
  const logger = {
    info: noop,
    warn: noop,
    debug: noop,
    error: (fields: { event?: unknown; ticket?: unknown }) => errors.push(fields),
  } as unknown as Logger;
  return { logger, errors };
}

describe('engine: a ticket it cannot move', () => {
  it('does not hold up another product’s ticket; its error is logged once while unchanged', async () => {
    const store = await openSqliteStore(join(madeTempDir('turnout-isolation-'), 'turnout.db'));
    try {
      await store.createOrg({ name: 'acme' }, ENGINE);
      const stuck = await promotingTicket(store, 'shop', 'orders');
      const other = await promotingTicket(store, 'admin', 'console');
      const { logger, errors } = errorLog();
      const engine = new ReleaseEngine({
        store: refusingTicket(store, stuck),
        runtime: null,
        traffic: null,
        logger,
      });
      await engine.kick();
      await engine.kick();
      await engine.stop();

      expect(await store.getTicket(other)).toMatchObject({ state: 'promoted' });
      expect((await store.getProduct('admin'))?.baseDtab).toBe('/svc/console => /v/console/2.0.0;');
      expect(await store.getTicket(stuck)).toMatchObject({ goal: 'promoted', state: 'open' });
      expect(errors).toEqual([
        expect.objectContaining({ event: 'ticket_tick_failed', ticket: stuck }),
      ]);
    } finally {
      await store.close();
    }
  });
});
