// Download permits: the fleet's download throttle (issue 14, seed 003's network storm). At most
// `max` hosts hold a granted permit at once; the others wait in line, first come first served, and
// learn their position. Every row expires (a granted one after its ttl unless renewed, a waiting one
// when its host stops asking), so a dead agent never blocks the fleet. Writes take the writer lock,
// so two replicas never grant the K+1-th permit; not audited and not counted (like heartbeats:
// frequent, and nothing a proxy routes on).

import { randomUUID } from 'node:crypto';
import { TurnoutError } from '../errors.js';
import type { SqlContext } from './sql-context.js';
import type { StoreTx } from './store.js';

export interface PermitRequest {
  readonly host: string;
  readonly sha256: string;
  /** K: hosts that may download at once. */
  readonly max: number;
  /** A granted permit lasts this long unless renewed. */
  readonly ttlMs: number;
  /** A waiting host keeps its place this long after its last ask. */
  readonly waitTtlMs: number;
}

export type PermitAnswer =
  | { granted: true; permit: string; expiresAt: string }
  | { granted: false; position: number };

type PermitOps = Pick<
  StoreTx,
  'acquireDownloadPermit' | 'renewDownloadPermit' | 'releaseDownloadPermit'
>;

const plus = (now: Date, ms: number) => new Date(now.getTime() + ms).toISOString();

export function permitOps(cx: SqlContext): PermitOps {
  const db = cx.db;
  return {
    async acquireDownloadPermit(r) {
      await cx.lock(`agent:${r.host}`);
      const now = new Date();
      const at = now.toISOString();
      await db.deleteFrom('download_permits').where('expires_at', '<=', at).execute();
      const mine = await db
        .selectFrom('download_permits')
        .selectAll()
        .where('host', '=', r.host)
        .executeTakeFirst();
      if (mine?.granted === 1) {
        // Asked again (a retry after a lost answer): the same permit, renewed.
        const expiresAt = plus(now, r.ttlMs);
        await db
          .updateTable('download_permits')
          .set({ expires_at: expiresAt, sha256: r.sha256 })
          .where('id', '=', mine.id)
          .execute();
        return { granted: true, permit: mine.id, expiresAt };
      }
      const id = mine?.id ?? randomUUID();
      if (mine === undefined) {
        await db
          .insertInto('download_permits')
          .values({
            id,
            host: r.host,
            sha256: r.sha256,
            granted: 0,
            requested_at: at,
            expires_at: plus(now, r.waitTtlMs),
          })
          .execute();
      } else {
        await db
          .updateTable('download_permits')
          .set({ expires_at: plus(now, r.waitTtlMs), sha256: r.sha256 })
          .where('id', '=', id)
          .execute();
      }
      const rows = await db
        .selectFrom('download_permits')
        .select(['id', 'granted'])
        .orderBy('requested_at')
        .orderBy('id')
        .execute();
      const held = rows.filter((p) => Number(p.granted) === 1).length;
      const line = rows.filter((p) => Number(p.granted) === 0).map((p) => p.id);
      const rank = line.indexOf(id);
      if (rank < r.max - held) {
        const expiresAt = plus(now, r.ttlMs);
        await db
          .updateTable('download_permits')
          .set({ granted: 1, expires_at: expiresAt })
          .where('id', '=', id)
          .execute();
        return { granted: true, permit: id, expiresAt };
      }
      return { granted: false, position: rank - Math.max(0, r.max - held) + 1 };
    },
    async renewDownloadPermit(permit, host, ttlMs) {
      await cx.lock(`agent:${host}`);
      const now = new Date();
      const expiresAt = plus(now, ttlMs);
      const done = await db
        .updateTable('download_permits')
        .set({ expires_at: expiresAt })
        .where('id', '=', permit)
        .where('host', '=', host)
        .where('granted', '=', 1)
        .where('expires_at', '>', now.toISOString())
        .executeTakeFirst();
      if (Number(done.numUpdatedRows) === 0)
        throw new TurnoutError(
          'not_found',
          `no download permit ${permit} held by host ${host} (it expired or was given back); ask for a new one`,
          'permit',
        );
      return { expiresAt };
    },
    async releaseDownloadPermit(permit, host) {
      await cx.lock(`agent:${host}`);
      await db
        .deleteFrom('download_permits')
        .where('id', '=', permit)
        .where('host', '=', host)
        .execute();
    },
  };
}
