// Last-applied records (migration 0007): for each object an apply wrote, the top-level fields its
// document gave. Written by `apply` in the same transaction as the objects, so a rolled-back (or
// dry) apply leaves none behind. Not audited and no change-counter bump: they change nothing a
// proxy routes on, and the objects' own writes are audited already.

import { z } from 'zod';
import type { SqlContext } from './sql-context.js';
import type { AppliedRecord, StoreTx } from './store.js';
import { parseInput } from './validate.js';

type AppliedTables = {
  applied: { kind: string; key: string; fields: string; applied_at: string };
};

type AppliedOps = Pick<StoreTx, 'getApplied' | 'listApplied' | 'recordApplied' | 'deleteApplied'>;

const appliedInputSchema = z.strictObject({
  kind: z.string().min(1).max(64),
  key: z.string().min(1).max(1024),
  fields: z.array(z.string().min(1).max(256)).max(256),
});

type Row = AppliedTables['applied'];

const recordOf = (r: Row): AppliedRecord => ({
  kind: r.kind,
  key: r.key,
  fields: JSON.parse(r.fields) as string[],
  appliedAt: r.applied_at,
});

export function appliedOps(cx: SqlContext): AppliedOps {
  const db = () => cx.db.withTables<AppliedTables>();
  const getApplied: AppliedOps['getApplied'] = async (kind, key) => {
    const row = await db()
      .selectFrom('applied')
      .selectAll()
      .where('kind', '=', kind)
      .where('key', '=', key)
      .executeTakeFirst();
    return row === undefined ? null : recordOf(row);
  };
  return {
    getApplied,
    async listApplied(query = {}) {
      let q = db().selectFrom('applied').selectAll().orderBy('kind').orderBy('key');
      if (query.kind !== undefined) q = q.where('kind', '=', query.kind);
      return (await q.execute()).map(recordOf);
    },
    async recordApplied(input, actor) {
      await cx.lock(actor);
      const { kind, key, fields } = parseInput(appliedInputSchema, input, 'applied record');
      const row: Row = {
        kind,
        key,
        fields: JSON.stringify([...new Set(fields)].sort()),
        applied_at: new Date().toISOString(),
      };
      // The same fields again writes nothing: appliedAt says when they last changed.
      const current = await getApplied(kind, key);
      if (current !== null && JSON.stringify(current.fields) === row.fields) return current;
      await db()
        .insertInto('applied')
        .values(row)
        .onConflict((oc) =>
          oc
            .columns(['kind', 'key'])
            .doUpdateSet({ fields: row.fields, applied_at: row.applied_at }),
        )
        .execute();
      return recordOf(row);
    },
    async deleteApplied(kind, key, actor) {
      await cx.lock(actor);
      await db().deleteFrom('applied').where('kind', '=', kind).where('key', '=', key).execute();
    },
  };
}
