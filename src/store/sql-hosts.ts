// Hosts (host-model.ts). Registration and state changes are audited and counted (placement and,
// later, routing read them); heartbeats only move the lease (like instance heartbeats: not audited,
// no change-counter bump) unless they bring a down host back, which is a change.

import { TurnoutError } from '../errors.js';
import { toPage } from './cursor.js';
import { toJson } from './db.js';
import { hostOf } from './host-db.js';
import type { Host, HostState } from './host-model.js';
import { hostInputSchema, hostNameSchema, stateOnContact } from './host-model.js';
import { timestampSchema } from './model.js';
import type { SqlContext } from './sql-context.js';
import { keyAfter, pageOf } from './sql-context.js';
import { sameContent } from './sql-shared.js';
import type { StoreTx } from './store.js';
import { notFound, parseInput } from './validate.js';

/** A host bound to one agent token answers no other agent token (an admin passes no agent). */
export function checkBinding(host: Host, agent: string): void {
  if (host.registeredBy !== null && host.registeredBy !== agent) {
    throw new TurnoutError(
      'forbidden',
      `host ${host.name} is bound to agent token ${host.registeredBy}; token ${agent} may not speak for it`,
    );
  }
}

type HostOps = Pick<
  StoreTx,
  'getHost' | 'listHosts' | 'registerHost' | 'renewHostLease' | 'setHostState'
>;

export function hostOps(cx: SqlContext): HostOps {
  const db = cx.db;

  const getRow = (name: string) =>
    db.selectFrom('hosts').selectAll().where('name', '=', name).executeTakeFirst();

  const getHost = async (name: string): Promise<Host | null> => {
    const row = await getRow(name);
    return row === undefined ? null : hostOf(row);
  };

  /** The host and the state it returns to when it comes back from down (held_state). */
  const getWithHeld = async (name: string) => {
    const row = await getRow(name);
    return row === undefined ? null : { host: hostOf(row), held: row.held_state };
  };

  /**
   * Going down keeps the state the host had (an operator's cordon or drain) in held_state, so it
   * returns to it; any other write clears it.
   */
  async function writeState(before: Host, state: HostState, actor: string, action: string) {
    const after: Host = { ...before, state, updatedAt: cx.now() };
    const held = state === 'down' && before.state !== 'down' ? before.state : null;
    await db
      .updateTable('hosts')
      .set({ state, held_state: held, updated_at: after.updatedAt })
      .where('name', '=', before.name)
      .execute();
    await cx.audit(actor, action, `host/${before.name}`, before, after);
    return after;
  }

  return {
    getHost,
    async listHosts(query) {
      const { limit, after } = pageOf(query, 1);
      let q = db.selectFrom('hosts').selectAll().orderBy('name');
      if (query?.state !== undefined) q = q.where('state', '=', query.state);
      if (after) q = q.where(keyAfter(['name'], after));
      const rows = await q.limit(limit + 1).execute();
      return toPage(rows, limit, (r) => [r.name], hostOf);
    },
    async registerHost(input, actor, agent) {
      await cx.lock(actor);
      const h = parseInput(hostInputSchema, input, 'host');
      const found = await getWithHeld(h.name);
      const before = found?.host ?? null;
      if (before !== null && agent !== undefined) checkBinding(before, agent);
      const now = cx.now();
      if (before === null) {
        const created: Host = {
          ...h,
          state: 'ready',
          leaseExpiresAt: null,
          registeredBy: agent ?? null,
          createdAt: now,
          updatedAt: now,
        };
        await db
          .insertInto('hosts')
          .values({
            name: h.name,
            address: h.address,
            labels: toJson(h.labels),
            capacity: h.capacity,
            state: created.state,
            lease_expires_at: null,
            registered_by: created.registeredBy,
            created_at: now,
            updated_at: now,
          })
          .execute();
        await cx.audit(actor, 'host.register', `host/${h.name}`, null, created);
        return created;
      }
      const updated: Host = {
        ...before,
        ...h,
        state: stateOnContact(before.state, found?.held ?? null),
        registeredBy: before.registeredBy ?? agent ?? null,
        updatedAt: now,
      };
      if (sameContent({ ...before, updatedAt: '' }, { ...updated, updatedAt: '' })) return before;
      await db
        .updateTable('hosts')
        .set({
          address: h.address,
          labels: toJson(h.labels),
          capacity: h.capacity,
          state: updated.state,
          held_state: updated.state === 'down' ? (found?.held ?? null) : null,
          registered_by: updated.registeredBy,
          updated_at: now,
        })
        .where('name', '=', h.name)
        .execute();
      await cx.audit(actor, 'host.register', `host/${h.name}`, before, updated);
      return updated;
    },
    async renewHostLease(name, until, actor) {
      cx.assertWritable();
      parseInput(hostNameSchema, name, 'host');
      const at = parseInput(timestampSchema, until, 'until');
      const before = await getHost(name);
      if (before === null) throw notFound('host', name);
      await db
        .updateTable('hosts')
        .set({ lease_expires_at: at })
        .where('name', '=', name)
        .execute();
      const renewed: Host = { ...before, leaseExpiresAt: at };
      if (before.state !== 'down') return renewed;
      // Back from down: a change placement (and routing) must see, so it is audited and counted,
      // under the writer lock and on the row as it is then.
      await cx.lock(actor);
      const now = await getWithHeld(name);
      if (now === null || now.host.state !== 'down') return now?.host ?? renewed;
      return writeState(now.host, stateOnContact(now.host.state, now.held), actor, 'host.up');
    },
    async setHostState(name, state, actor) {
      await cx.lock(actor);
      const before = await getHost(name);
      if (before === null) throw notFound('host', name);
      if (before.state === state) return before;
      return writeState(before, state, actor, `host.${state}`);
    },
  };
}
