// Migration 0003 on a database written by the version before it: tickets that were reachable with
// the guessable `t-<id>` each get their own random pre-release secret, and no two share one.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { createSqliteKysely, openSqliteStore } from '../../src/store/sqlite.js';

const ACTOR = 'test';

describe('migration 0003-prerelease-secret', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('gives every ticket of an older database its own secret of 128 random bits or more', async () => {
    dir = mkdtempSync(join(tmpdir(), 'turnout-migrate-'));
    const file = join(dir, 'turnout.db');
    const store = await openSqliteStore(file);
    await store.createOrg({ name: 'acme' }, ACTOR);
    await store.createModule(
      { name: 'web', org: 'acme', run: { process: { command: 'node' } } },
      ACTOR,
    );
    await store.createVersion({ module: 'web', version: '2.0.0' }, ACTOR);
    await store.createProduct({ name: 'shop', org: 'acme', entry: 'web' }, ACTOR);
    for (let i = 0; i < 3; i++)
      await store.createTicket(
        { product: 'shop', items: [{ module: 'web', version: '2.0.0' }] },
        ACTOR,
      );
    await store.close();

    // Back to the schema as the previous version left it: no column, no notifier or host tables
    // (0004 on came later), none of those migrations recorded.
    const db = createSqliteKysely(file);
    await sql`drop table change_feed`.execute(db);
    await sql`drop table applied`.execute(db);
    await sql`drop table assignments`.execute(db);
    await sql`drop table hosts`.execute(db);
    await sql`drop table notifier_deliveries`.execute(db);
    await sql`drop table notifiers`.execute(db);
    await sql`alter table tickets drop column prerelease_secret`.execute(db);
    await sql`drop table download_permits`.execute(db);
    await sql`alter table versions drop column artifact`.execute(db);
    // Every migration from 0003 on is undone above (tables dropped with their later columns).
    await sql`delete from kysely_migration where name >= '0003'`.execute(db);
    await db.destroy();

    const migrated = await openSqliteStore(file);
    try {
      const tickets = (await migrated.listTickets({ limit: 100 })).items;
      expect(tickets.map((t) => t.id)).toEqual([1, 2, 3]);
      for (const t of tickets) {
        expect(t.prereleaseSecret).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(Buffer.from(t.prereleaseSecret, 'base64url').length).toBeGreaterThanOrEqual(16);
        expect(t.prereleaseSecret).not.toContain(`t-${t.id}`);
      }
      expect(new Set(tickets.map((t) => t.prereleaseSecret)).size).toBe(3);
    } finally {
      await migrated.close();
    }
  });
});
