// The engine against a command recorded while it decides, as Given / When / Then: given a ticket
// whose promotion was asked for and whose versions run, when an abort is recorded after the
// engine observed the ticket but before it wrote its decision, then the stale decision (promote)
// is not written: the next tick carries out the abort. Real SQLite store; no runtime needed.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/release/commands.js';
import { ReleaseEngine } from '../../src/release/engine.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import { promotingTicket } from './store-fixtures.js';

const ENGINE = 'engine';

async function given(store: Store): Promise<number> {
  await store.createOrg({ name: 'acme' }, ENGINE);
  return promotingTicket(store, 'shop', 'orders');
}

/** The store, with `between` run once right after the engine's first read (its observe). */
function interrupted(store: Store, between: () => Promise<void>): Store {
  let first = true;
  return new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (prop !== 'transaction') return typeof value === 'function' ? value.bind(target) : value;
      return async <T>(fn: Parameters<Store['transaction']>[0]) => {
        const result = (await target.transaction(fn)) as T;
        if (first) {
          first = false;
          await between();
        }
        return result;
      };
    },
  });
}

describe('engine: a decision taken before a command was recorded', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('an abort recorded while the engine decides to promote wins: the ticket ends aborted, stable unchanged', async () => {
    dir = mkdtempSync(join(tmpdir(), 'turnout-stale-'));
    const store = await openSqliteStore(join(dir, 'turnout.db'));
    try {
      const id = await given(store);
      const abort = () =>
        store.transaction(async (tx) => {
          await runCommand(tx, id, { command: 'abort' }, 'rey');
        });
      const engine = new ReleaseEngine({
        store: interrupted(store, abort),
        runtime: null,
        traffic: null,
      });
      await engine.kick(); // observed goal promoted; the abort lands before its write
      expect(await store.getTicket(id)).toMatchObject({ goal: 'aborted', state: 'open' });
      await engine.kick();
      await engine.stop();

      expect(await store.getTicket(id)).toMatchObject({ goal: 'aborted', state: 'aborted' });
      const types = (await store.listTicketEvents(id)).items.map((e) => e.type);
      expect(types).toEqual(['command.promote', 'command.abort', 'aborted']);
      expect((await store.getProduct('shop'))?.baseDtab).toBe('/svc/orders => /v/orders/1.0.0;');
    } finally {
      await store.close();
    }
  });
});
