// The embedded back-end: one SQLite file under the data dir (better-sqlite3), in WAL mode so
// readers never wait for the writer. better-sqlite3 is synchronous, so SQLite's own busy wait
// would block the event loop, and with it a writer in the same process that holds the lock: a
// deadlock until the timeout. Transactions therefore start with BEGIN IMMEDIATE (take the write
// lock up front, which also serializes writers for validation) and wait for it asynchronously.

import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import BetterSqlite3 from 'better-sqlite3';
import type { DatabaseConnection, Driver } from 'kysely';
import { CompiledQuery, Kysely, SqliteDialect, SqliteDriver } from 'kysely';
import type { Database } from './db.js';
import { openSqlStore } from './sql-store.js';
import type { ArtifactLookup, Store } from './store.js';

/** Blocking busy wait for the rare lock a plain read or migration DDL meets (another process). */
const STATEMENT_BUSY_MS = 5000;
/** How long a transaction waits for the write lock before giving up. */
const BEGIN_WAIT_MS = 15_000;

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return (
    typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'))
  );
}

class ImmediateDriver extends SqliteDriver {
  readonly #raw: BetterSqlite3.Database;

  constructor(raw: BetterSqlite3.Database) {
    super({ database: raw });
    this.#raw = raw;
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    const deadline = Date.now() + BEGIN_WAIT_MS;
    for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
      // No synchronous busy wait for the lock itself: fail at once and retry after a yield.
      this.#raw.pragma('busy_timeout = 0');
      try {
        await connection.executeQuery(CompiledQuery.raw('begin immediate'));
        return;
      } catch (error) {
        if (!isBusy(error) || Date.now() > deadline) throw error;
      } finally {
        this.#raw.pragma(`busy_timeout = ${STATEMENT_BUSY_MS}`);
      }
      await sleep(delay + Math.random() * delay);
    }
  }
}

class ImmediateDialect extends SqliteDialect {
  readonly #raw: BetterSqlite3.Database;

  constructor(raw: BetterSqlite3.Database) {
    super({ database: raw });
    this.#raw = raw;
  }

  override createDriver(): Driver {
    return new ImmediateDriver(this.#raw);
  }
}

/**
 * Opening runs migrations with autocommit DDL, whose synchronous busy wait would stall a second
 * store opening the same file in this process; opens of one file take turns instead.
 */
const opening = new Map<string, Promise<unknown>>();

/** Opens (creating it and its directory if needed) the SQLite store at `path`. */
export async function openSqliteStore(
  path: string,
  options: { artifacts?: ArtifactLookup } = {},
): Promise<Store> {
  const key = path === ':memory:' ? path : resolve(path);
  const previous = opening.get(key) ?? Promise.resolve();
  const open = previous.catch(() => undefined).then(() => openNow(path, options));
  opening.set(key, open);
  try {
    return await open;
  } finally {
    if (opening.get(key) === open) opening.delete(key);
  }
}

/** Owner-only: the store holds run specs with their env (secrets, often) and the audit log. */
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

/** Takes group and other bits off a file made before files were created owner-only. */
function tighten(path: string): void {
  try {
    const mode = statSync(path).mode & 0o777;
    if ((mode & 0o077) !== 0) chmodSync(path, mode & 0o700);
  } catch {
    // absent (-wal/-shm come and go), or not ours to change: SQLite reports what matters
  }
}

/**
 * Creates the file (and its directory) owner-only before SQLite opens it: SQLite would create it
 * 0644, and it gives the -wal and -shm files the mode of the database file.
 */
function prepareFile(path: string): void {
  mkdirSync(dirname(resolve(path)), { recursive: true, mode: DIR_MODE });
  closeSync(openSync(path, 'a', FILE_MODE));
  for (const p of [path, `${path}-wal`, `${path}-shm`]) tighten(p);
}

/** The Kysely database over a SQLite file, pragmas set, not migrated (openSqliteStore migrates). */
export function createSqliteKysely(path: string): Kysely<Database> {
  if (path !== ':memory:') prepareFile(path);
  const raw = new BetterSqlite3(path, { timeout: STATEMENT_BUSY_MS });
  try {
    raw.pragma('journal_mode = WAL');
    // FULL: a commit the API has acknowledged survives a power cut, not only a crash. Writes are
    // few (config changes), so the extra fsync does not matter.
    raw.pragma('synchronous = FULL');
    raw.pragma('foreign_keys = ON');
  } catch (error) {
    raw.close();
    throw error;
  }
  return new Kysely<Database>({ dialect: new ImmediateDialect(raw) });
}

function openNow(path: string, options: { artifacts?: ArtifactLookup }): Promise<Store> {
  return openSqlStore({ db: createSqliteKysely(path), dialect: 'sqlite', ...options });
}
