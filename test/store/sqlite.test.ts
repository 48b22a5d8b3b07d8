// The store contract against SQLite: a fresh file in a temp dir per test.

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { migrateToLatest } from '../../src/store/migrations/index.js';
import { createSqliteKysely, openSqliteStore } from '../../src/store/sqlite.js';
import type { StoreTarget } from './store-contract.js';
import { describeStore } from './store-contract.js';

const run = promisify(execFile);

function sqliteTarget(): Promise<StoreTarget> {
  const dir = mkdtempSync(join(tmpdir(), 'turnout-store-'));
  // A directory that does not exist yet: the store creates the data dir.
  const file = join(dir, 'data', 'turnout.db');
  const withDb = async <T>(fn: (db: ReturnType<typeof createSqliteKysely>) => Promise<T>) => {
    const db = createSqliteKysely(file);
    try {
      return await fn(db);
    } finally {
      await db.destroy();
    }
  };
  return Promise.resolve({
    open: () => openSqliteStore(file),
    migrate: () =>
      withDb(async (db) =>
        (await migrateToLatest(db as never, 'sqlite')).map((r) => r.migrationName),
      ),
    tables: () =>
      withDb(async (db) => {
        const { rows } = await sql<{ name: string }>`
          select name from sqlite_master
          where type = 'table' and name not like 'sqlite_%' and name not like 'kysely_%'
          order by name`.execute(db);
        return rows.map((r) => r.name);
      }),
    dispose: async () => rmSync(dir, { recursive: true, force: true }),
  });
}

describeStore('sqlite', sqliteTarget);

describe('sqlite specifics', () => {
  it('writers in separate processes on one file all land, counted once each', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'turnout-store-'));
    const file = join(dir, 'turnout.db');
    const store = await openSqliteStore(file);
    try {
      const writer = join(import.meta.dirname, 'sqlite-writer.ts');
      const child = (prefix: string) =>
        run(process.execPath, ['--import', 'tsx', writer, file, prefix, '20'], {
          cwd: join(import.meta.dirname, '..', '..'),
        });
      const local = (async () => {
        for (let i = 0; i < 20; i++) await store.createOrg({ name: `main-${i}` }, 'main');
      })();
      const [x, y] = await Promise.all([child('p'), child('q'), local]);
      expect([x?.stdout.trim(), y?.stdout.trim()]).toEqual(['done', 'done']);
      expect((await store.listOrgs()).items).toHaveLength(60);
      expect(await store.changeVersion()).toBe(60);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('creates the data dir, uses WAL mode and enforces foreign keys', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'turnout-store-'));
    const db = createSqliteKysely(join(dir, 'nested', 'x.db'));
    try {
      const mode = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(db);
      const fk = await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(db);
      expect(mode.rows[0]?.journal_mode).toBe('wal');
      expect(fk.rows[0]?.foreign_keys).toBe(1);
    } finally {
      await db.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
