// What every SQL operation shares: the connection or transaction, the writer lock, the change
// counter and the audit log. Writers are serialized: in SQLite by BEGIN IMMEDIATE (sqlite.ts), in
// Postgres by locking the change-counter row before reading anything a check depends on. So the
// checks in validate.ts always see the latest committed state (two writers cannot each add half
// of a cycle), and the counter's order is the commit order.

import type { Kysely, RawBuilder, Transaction } from 'kysely';
import { sql } from 'kysely';
import { TurnoutError } from '../errors.js';
import type { CursorKey, PageRequest } from './cursor.js';
import { decodeCursor, pageLimit } from './cursor.js';
import type { Database } from './db.js';
import { auditOf, toJson } from './db.js';
import type { SqlDialect } from './migrations/index.js';
import type { AuditEntry } from './model.js';
import { actorSchema } from './model.js';
import type { ArtifactLookup, ChangeFeedEntry } from './store.js';

/** Change-feed rows kept: a publisher further behind than this reads the whole store. */
export const FEED_KEEP = 10_000;
/** More targets than this in one transaction are recorded as ["*"] (read everything). */
export const FEED_MAX_TARGETS = 1000;

export class SqlContext {
  #locked = false;
  #bumped = false;
  /** The change-counter value this transaction's bump gave; null before a bump. */
  #version: number | null = null;
  /** The audit targets this transaction changed, for its change-feed row. */
  readonly #targets = new Set<string>();

  constructor(
    readonly db: Kysely<Database> | Transaction<Database>,
    readonly dialect: SqlDialect,
    /** False for the store's own non-transactional reads; writes there are a bug. */
    readonly inTransaction: boolean,
    /** The artifact store versions are checked against; none: a pushed artifact is refused. */
    readonly artifacts: ArtifactLookup | null = null,
  ) {}

  /** Call first in every write, before the reads its validation depends on. */
  async lock(actor: string): Promise<void> {
    this.assertWritable();
    if (!actorSchema.safeParse(actor).success) {
      throw new TurnoutError('invalid_argument', 'actor: who makes a change is required', 'actor');
    }
    if (this.#locked) return;
    this.#locked = true;
    if (this.dialect === 'postgres') {
      await sql`select version from change_counter where id = 1 for update`.execute(this.db);
    }
  }

  assertWritable(): void {
    if (!this.inTransaction) throw new Error('store write outside a transaction');
  }

  /** Counts this transaction as one change, however many rows it writes. */
  async bump(): Promise<void> {
    if (this.#bumped) return;
    this.#bumped = true;
    const { rows } = await sql<{
      version: number | string;
    }>`update change_counter set version = version + 1 where id = 1 returning version`.execute(
      this.db,
    );
    this.#version = Number(rows[0]!.version);
  }

  /**
   * Writes this transaction's change-feed row (its counter value and the audit targets it
   * changed) and drops the rows beyond FEED_KEEP. Called once, as the transaction's last
   * statement; nothing when it changed nothing.
   */
  async writeFeed(): Promise<void> {
    if (this.#version === null) return;
    const targets = this.#targets.size > FEED_MAX_TARGETS ? ['*'] : [...this.#targets];
    await this.db
      .insertInto('change_feed')
      .values({ version: this.#version, targets: toJson(targets) })
      .execute();
    await this.db
      .deleteFrom('change_feed')
      .where('version', '<=', this.#version - FEED_KEEP)
      .execute();
  }

  async changeVersion(): Promise<number> {
    const row = await this.db
      .selectFrom('change_counter')
      .select('version')
      .where('id', '=', 1)
      .executeTakeFirstOrThrow();
    return Number(row.version);
  }

  async listChanges(since: number): Promise<ChangeFeedEntry[]> {
    const rows = await this.db
      .selectFrom('change_feed')
      .select(['version', 'targets'])
      .where('version', '>', since)
      .orderBy('version')
      .limit(FEED_KEEP)
      .execute();
    return rows.map((r) => ({
      version: Number(r.version),
      targets: JSON.parse(r.targets) as string[],
    }));
  }

  now(): string {
    return new Date().toISOString();
  }

  /** Records a change (and counts it): every mutation calls this once it knows it changes something. */
  async audit(
    actor: string,
    action: string,
    target: string,
    before: unknown,
    after: unknown,
  ): Promise<AuditEntry> {
    await this.bump();
    this.#targets.add(target);
    const row = await this.db
      .insertInto('audit')
      .values({
        actor,
        action,
        target,
        before: toJson(before ?? null),
        after: toJson(after ?? null),
        at: this.now(),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return auditOf(row);
  }
}

/** The limit and the decoded keyset position of a page request. */
export function pageOf(
  request: PageRequest | undefined,
  arity: number,
): { limit: number; after: CursorKey | null } {
  const limit = pageLimit(request?.limit);
  const cursor = request?.cursor;
  return { limit, after: cursor === undefined ? null : decodeCursor(cursor, arity) };
}

/**
 * `(a, b) > (x, y)`: row-value comparison, which SQLite (3.15+) and Postgres both evaluate in
 * key order, so a composite key pages with one condition.
 */
export function keyAfter(
  columns: readonly string[],
  key: CursorKey,
  direction: 'asc' | 'desc' = 'asc',
): RawBuilder<boolean> {
  const cols = sql.join(columns.map((c) => sql.ref(c)));
  const vals = sql.join(key.map((v) => sql.val(v)));
  return direction === 'asc'
    ? sql<boolean>`(${cols}) > (${vals})`
    : sql<boolean>`(${cols}) < (${vals})`;
}
