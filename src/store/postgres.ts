// The fleet back-end: Postgres through a `pg` Pool, for several control-plane replicas sharing one
// database. Isolation stays at READ COMMITTED: writers serialize on the change-counter row lock
// (sql-context.ts), so each check reads the latest committed state without serialization-failure
// retries, and readers never block.

import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { TurnoutError } from '../errors.js';
import type { Database } from './db.js';
import { openSqlStore } from './sql-store.js';
import type { ArtifactLookup, Store } from './store.js';

export interface PostgresStoreOptions {
  /** Pool size per replica; the control plane's queries are short. */
  maxConnections?: number;
  /** Where pushed artifacts are (src/artifacts); none: a version naming one is refused. */
  artifacts?: ArtifactLookup;
  /** What named the URL (`--store`, `TURNOUT_STORE`), for the error a failed connection throws. */
  field?: string;
}

/** Opens the store at `url` (`postgres://user@host:port/db`), applying pending migrations. */
export async function openPostgresStore(
  url: string,
  options: PostgresStoreOptions = {},
): Promise<Store> {
  return openSqlStore({
    db: await createPostgresKysely(url, options),
    dialect: 'postgres',
    ...(options.artifacts === undefined ? {} : { artifacts: options.artifacts }),
  });
}

/** The Kysely database over a checked connection pool, not migrated. */
export async function createPostgresKysely(
  url: string,
  options: PostgresStoreOptions = {},
): Promise<Kysely<Database>> {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.maxConnections ?? 10,
    application_name: 'turnout',
  });
  // An idle client's error (the server restarted) would otherwise crash the process; the pool
  // drops that client and the next query gets a fresh one.
  pool.on('error', () => {});
  try {
    const client = await pool.connect();
    client.release();
  } catch (error) {
    await pool.end();
    throw connectError(error, url, options.field);
  }
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

/**
 * SQLSTATEs of a Postgres that answered and refused the URL's database or credentials: class 28
 * (invalid authorization, e.g. a wrong password) and 3D000 (no such database).
 */
function refusesTheUrl(code: unknown): boolean {
  return typeof code === 'string' && (code.startsWith('28') || code === '3D000');
}

/**
 * Why the first connection failed, naming `field` and never the password. A Postgres that refuses
 * the URL's user or database is bad input (invalid_argument, exit 2: fix the URL); one that cannot
 * be reached (refused, no such host, a timeout) is upstream_unavailable (exit 1: start it, or try
 * again), neither an internal error.
 */
function connectError(error: unknown, url: string, field: string | undefined): TurnoutError {
  const reason = error instanceof Error ? error.message : String(error);
  const said = `cannot connect to Postgres at ${redactUrl(url)}: ${reason}`;
  const code = refusesTheUrl((error as { code?: unknown } | null)?.code)
    ? 'invalid_argument'
    : 'upstream_unavailable';
  return new TurnoutError(code, field === undefined ? said : `${field}: ${said}`, field);
}

/** The URL without its password (`***` instead), for messages and summaries. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}
