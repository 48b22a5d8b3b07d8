// Assignments (assignment-model.ts). The control plane's wishes (create, desired, delete) are
// audited and counted, so an agent's stream wakes on them; the agent's reports are not (frequent,
// like heartbeats), and nothing a proxy routes on changes with them.

import { z } from 'zod';
import { TurnoutError } from '../errors.js';
import type { Assignment, AssignmentStatus } from './assignment-model.js';
import {
  ASSIGNMENT_DESIRED,
  assignmentIdSchema,
  assignmentInputSchema,
  assignmentReportSchema,
  PENDING_STATUS,
} from './assignment-model.js';
import { toJson } from './db.js';
import { assignmentOf } from './host-db.js';
import { hostNameSchema } from './host-model.js';
import type { SqlContext } from './sql-context.js';
import { sameContent } from './sql-shared.js';
import type { StoreTx } from './store.js';
import { notFound, parseInput, unknownRef } from './validate.js';

type AssignmentOps = Pick<
  StoreTx,
  | 'getAssignment'
  | 'listAssignments'
  | 'createAssignment'
  | 'setAssignmentDesired'
  | 'reportAssignment'
  | 'deleteAssignment'
>;

const desiredSchema = z.enum(ASSIGNMENT_DESIRED);

/** What makes two creations "the same": everything the caller chose. */
const contentOf = (a: Assignment) => ({
  host: a.host,
  module: a.module,
  version: a.version,
  run: a.run,
  health: a.health,
  artifact: a.artifact,
});

export function assignmentOps(cx: SqlContext): AssignmentOps {
  const db = cx.db;

  const getAssignment = async (id: string): Promise<Assignment | null> => {
    const row = await db
      .selectFrom('assignments')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row === undefined ? null : assignmentOf(row);
  };

  const mustGet = async (id: string): Promise<Assignment> => {
    const found = await getAssignment(id);
    if (found === null) throw notFound('assignment', id);
    return found;
  };

  return {
    getAssignment,
    async listAssignments(query) {
      let q = db.selectFrom('assignments').selectAll().orderBy('id');
      if (query?.host !== undefined) q = q.where('host', '=', query.host);
      if (query?.desired !== undefined) q = q.where('desired', '=', query.desired);
      return (await q.execute()).map(assignmentOf);
    },
    async createAssignment(input, actor) {
      await cx.lock(actor);
      const a = parseInput(assignmentInputSchema, input, 'assignment');
      const existing = await getAssignment(a.id);
      if (existing !== null) {
        if (sameContent(contentOf(existing), contentOf({ ...existing, ...a }))) return existing;
        throw new TurnoutError(
          'conflict',
          `assignment ${a.id} already exists with other content (host ${existing.host}, ${existing.module}@${existing.version})`,
          'id',
        );
      }
      const host = await db
        .selectFrom('hosts')
        .select('name')
        .where('name', '=', a.host)
        .executeTakeFirst();
      if (host === undefined) throw unknownRef('host', 'host', a.host);
      const version = await db
        .selectFrom('versions')
        .select('version')
        .where('module', '=', a.module)
        .where('version', '=', a.version)
        .executeTakeFirst();
      if (version === undefined) throw unknownRef('version', 'version', `${a.module}@${a.version}`);
      const now = cx.now();
      const created: Assignment = {
        ...a,
        desired: 'run',
        status: PENDING_STATUS,
        createdAt: now,
        updatedAt: now,
      };
      await db
        .insertInto('assignments')
        .values({
          id: a.id,
          host: a.host,
          module: a.module,
          version: a.version,
          run: toJson(a.run),
          health: a.health === null ? null : toJson(a.health),
          artifact: a.artifact === null ? null : toJson(a.artifact),
          desired: created.desired,
          status: toJson(created.status),
          created_at: now,
          updated_at: now,
        })
        .execute();
      await cx.audit(actor, 'assignment.create', `assignment/${a.id}`, null, created);
      return created;
    },
    async setAssignmentDesired(id, desired, actor) {
      await cx.lock(actor);
      const d = parseInput(desiredSchema, desired, 'desired');
      const before = await mustGet(id);
      if (before.desired === d) return before;
      const after: Assignment = { ...before, desired: d, updatedAt: cx.now() };
      await db
        .updateTable('assignments')
        .set({ desired: d, updated_at: after.updatedAt })
        .where('id', '=', id)
        .execute();
      await cx.audit(actor, `assignment.${d}`, `assignment/${id}`, before, after);
      return after;
    },
    async reportAssignment(id, host, report) {
      cx.assertWritable();
      parseInput(assignmentIdSchema, id, 'id');
      parseInput(hostNameSchema, host, 'host');
      const r = parseInput(assignmentReportSchema, report, 'status');
      const before = await getAssignment(id);
      // Another host's assignment is as good as missing to this host: no hint it exists.
      if (before === null || before.host !== host) throw notFound('assignment', `${id} on ${host}`);
      const status: AssignmentStatus = { ...r, reportedAt: cx.now() };
      await db
        .updateTable('assignments')
        .set({ status: toJson(status) })
        .where('id', '=', id)
        .execute();
      return { ...before, status };
    },
    async deleteAssignment(id, actor) {
      await cx.lock(actor);
      const before = await mustGet(id);
      await db.deleteFrom('assignments').where('id', '=', id).execute();
      await cx.audit(actor, 'assignment.delete', `assignment/${id}`, before, null);
    },
  };
}
