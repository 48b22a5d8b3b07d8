// The change feed against a real store, for each back-end: what the write path records with the
// change counter, what readStoreChanges reads from it, and the publisher following a store that
// another store (a second control-plane replica) writes — through the feed, not a full read.

import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { compileStoreSnapshot } from '../../src/control/compile-snapshot.js';
import { readStoreState, SnapshotPublisher } from '../../src/control/publisher.js';
import { readStoreChanges, targetReader } from '../../src/control/store-changes.js';
import type { Database } from '../../src/store/db.js';
import { FEED_MAX_TARGETS } from '../../src/store/sql-context.js';
import type { Store } from '../../src/store/store.js';
import { ACTOR, seed } from '../store/fixtures.js';

export interface FeedTarget {
  /** Opens another store on the same database (each call: a replica of its own). */
  open(): Promise<Store>;
  /** A raw connection to the database, to make a gap in the feed. */
  raw(): Promise<Kysely<Database>>;
  dispose(): Promise<void>;
}

export function describeChangeFeed(make: () => Promise<FeedTarget>): void {
  let target: FeedTarget;
  let a: Store;
  let b: Store;
  let publisher: SnapshotPublisher | null;

  beforeEach(async () => {
    target = await make();
    a = await target.open();
    b = await target.open();
    await seed(a);
    publisher = null;
  });

  afterEach(async () => {
    publisher?.stop();
    await a.close();
    await b.close();
    await target.dispose();
  });

  /** The snapshot the publisher on `a` holds equals the full compile of the store now. */
  async function expectCurrent(): Promise<void> {
    const full = compileStoreSnapshot(await readStoreState(a));
    if (!full.ok) throw full.error;
    expect(publisher!.current()!.json).toBe(full.json);
  }

  it('records each change with its audit targets under its counter value', async () => {
    const v0 = await a.changeVersion();
    await a.updateInstance('i-1', { weight: 3 }, ACTOR);
    await a.updateInstance('i-1', { weight: 3 }, ACTOR); // changes nothing: no entry, no count
    await b.transaction(async (tx) => {
      await tx.createVersion({ module: 'web', version: '2.0.0' }, ACTOR);
      await tx.createInstance(
        { id: 'i-2', module: 'web', version: '2.0.0', host: 'h2', address: '127.0.0.1:9002' },
        ACTOR,
      );
    });
    await a.appendTicketEvent(1, { type: 'deploy.started' }, 'engine'); // counted, no audit
    expect(await a.changeVersion()).toBe(v0 + 3);
    expect(await b.listChanges(v0)).toEqual([
      { version: v0 + 1, targets: ['instance/i-1'] },
      { version: v0 + 2, targets: ['version/web@2.0.0', 'instance/i-2'] },
      { version: v0 + 3, targets: [] },
    ]);
    expect(await a.listChanges(v0 + 3)).toEqual([]);
  });

  it('records a transaction of more rows than it lists as "*", which reads everything', async () => {
    const v0 = await a.changeVersion();
    await a.transaction(async (tx) => {
      for (let i = 0; i <= FEED_MAX_TARGETS; i++)
        await tx.createInstance(
          {
            id: `m-${i}`,
            module: 'account',
            version: '1.0.0',
            host: 'h1',
            address: `10.1.0.1:${i + 1}`,
          },
          ACTOR,
        );
    });
    expect(await a.listChanges(v0)).toEqual([{ version: v0 + 1, targets: ['*'] }]);
    expect(await readStoreChanges(a, v0)).toBeNull();
  });

  it('reads the rows the feed names, as they are now; a gap answers null', async () => {
    const v0 = await a.changeVersion();
    await b.updateInstance('i-1', { weight: 5 }, ACTOR);
    await b.deleteLane('shop', 'dev', ACTOR);
    await b.registerHost(
      { name: 'h1', address: '10.0.1.1', labels: { zone: 'a' }, capacity: 4 },
      ACTOR,
    );
    const changes = await readStoreChanges(a, v0);
    expect(changes?.changeVersion).toBe(v0 + 3);
    expect(changes?.rows.map((r) => [r.kind, r.row === null])).toEqual([
      ['instance', false],
      ['lane', true],
      ['host', false],
    ]);
    expect(changes?.rows[0]).toMatchObject({ kind: 'instance', id: 'i-1', row: { weight: 5 } });

    const db = await target.raw();
    try {
      await sql`delete from change_feed where version = ${v0 + 2}`.execute(db);
    } finally {
      await db.destroy();
    }
    expect(await readStoreChanges(a, v0)).toBeNull();
    expect(await readStoreChanges(a, v0 + 2)).not.toBeNull();
  });

  it("follows another replica's changes through the feed, and reads everything after a gap", async () => {
    publisher = new SnapshotPublisher(a, { pollIntervalMs: 60_000 });
    await publisher.start();
    expect(publisher.reads).toEqual({ full: 1, changes: 0 });
    await b.updateInstance('i-1', { weight: 9 }, ACTOR);
    await publisher.notify();
    await b.registerHost(
      { name: 'h1', address: '10.0.1.1', labels: { zone: 'b' }, capacity: 4 },
      ACTOR,
    );
    await publisher.notify();
    const { name, org, entry, hosts } = (await b.getProduct('shop'))!;
    const baseDtab = '/svc => /v;/svc/web => /v/web/1.0.0;';
    await b.updateProduct({ name, org, entry, hosts, baseDtab }, ACTOR);
    await publisher.notify();
    expect(publisher.current()!.version).toBe(await a.changeVersion());
    expect(publisher.reads).toEqual({ full: 1, changes: 3 });
    await expectCurrent();

    await b.updateInstance('i-1', { weight: 4 }, ACTOR);
    const db = await target.raw();
    try {
      await sql`delete from change_feed where version = ${await a.changeVersion()}`.execute(db);
    } finally {
      await db.destroy();
    }
    await publisher.notify();
    expect(publisher.reads).toEqual({ full: 2, changes: 3 });
    await expectCurrent();
  });

  it('names the rows of snapshot kinds; other kinds are skipped, malformed keys refused', () => {
    for (const t of ['org/acme', 'ticket/1', 'notifier/n', 'assignment/a', 'login'])
      expect(targetReader(t)).toBe('skip');
    for (const t of ['instance/', 'version/web', 'version/@1', 'lane/shop', 'lane//dev', 'host/'])
      expect(targetReader(t)).toBe('bad');
    for (const t of ['instance/i-1', 'version/web@1.0.0', 'lane/shop/dev', 'product/shop'])
      expect(typeof targetReader(t)).toBe('function');
  });
}
