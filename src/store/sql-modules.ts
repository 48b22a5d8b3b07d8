// Modules: logical names with their calls (the dependency graph, kept acyclic), health check and
// run spec. Each write locks, validates against the current state, writes and audits.

import { TurnoutError } from '../errors.js';
import { moduleOf, moduleRunJson, toJson } from './db.js';
import type { Module } from './model.js';
import { moduleInputSchema } from './model.js';
import { findOrg } from './sql-catalog.js';
import type { SqlContext } from './sql-context.js';
import { listOrgRecords, loadGraph, sameContent } from './sql-shared.js';
import type { StoreTx } from './store.js';
import {
  checkCalls,
  checkNoCycle,
  checkUnreferenced,
  duplicate,
  notFound,
  parseInput,
  unknownRef,
} from './validate.js';

type ModuleOps = Pick<
  StoreTx,
  'getModule' | 'listModules' | 'createModule' | 'updateModule' | 'deleteModule'
>;

export function moduleOps(cx: SqlContext): ModuleOps {
  const db = cx.db;

  const getModule = async (name: string): Promise<Module | null> => {
    const row = await db
      .selectFrom('modules')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirst();
    return row === undefined ? null : moduleOf(row);
  };

  /** Module checks shared by create and update: the org and callees exist, no cycle results. */
  async function checkModule(m: { name: string; org: string; calls: string[] }) {
    if ((await findOrg(db, m.org)) === null) throw unknownRef('org', 'org', m.org);
    const graph = await loadGraph(db);
    checkCalls(m.name, m.calls, (name) => graph.has(name));
    graph.set(m.name, m.calls);
    checkNoCycle(graph, m.name);
  }

  return {
    getModule,
    listModules: (query) => listOrgRecords(db, 'modules', query, moduleOf),
    async createModule(input, actor) {
      await cx.lock(actor);
      const m = parseInput(moduleInputSchema, input, 'module');
      if ((await getModule(m.name)) !== null) throw duplicate('module', m.name);
      await checkModule(m);
      const now = cx.now();
      const row = {
        name: m.name,
        org: m.org,
        calls: toJson(m.calls),
        health: toJson(m.health),
        run: moduleRunJson(m),
        created_at: now,
        updated_at: now,
      };
      await db.insertInto('modules').values(row).execute();
      const created = moduleOf(row);
      await cx.audit(actor, 'module.create', `module/${m.name}`, null, created);
      return created;
    },
    async updateModule(input, actor) {
      await cx.lock(actor);
      const m = parseInput(moduleInputSchema, input, 'module');
      const before = await getModule(m.name);
      if (before === null) throw notFound('module', m.name);
      if (sameContent(before, m)) return before;
      await checkModule(m);
      const kind = 'process' in m.run ? 'process' : 'kubernetes';
      if (!(kind in before.run)) {
        // Existing versions' overrides were written for the old runtime; they would not apply.
        const overridden = await db
          .selectFrom('versions')
          .select('version')
          .where('module', '=', m.name)
          .where('run', 'is not', null)
          .orderBy('version')
          .execute();
        if (overridden.length > 0) {
          const list = overridden.map((v) => v.version).join(', ');
          throw new TurnoutError(
            'invalid_argument',
            `run: versions ${list} override the old runtime; create a new module to change runtime`,
            'run',
          );
        }
      }
      const updated: Module = { ...m, createdAt: before.createdAt, updatedAt: cx.now() };
      await db
        .updateTable('modules')
        .set({
          org: m.org,
          calls: toJson(m.calls),
          health: toJson(m.health),
          run: moduleRunJson(m),
          updated_at: updated.updatedAt,
        })
        .where('name', '=', m.name)
        .execute();
      await cx.audit(actor, 'module.update', `module/${m.name}`, before, updated);
      return updated;
    },
    async deleteModule(name, actor) {
      await cx.lock(actor);
      const module = await getModule(name);
      if (module === null) throw notFound('module', name);
      const graph = await loadGraph(db);
      const callers = [...graph]
        .filter(([, calls]) => calls.includes(name))
        .map(([n]) => `module ${n}`);
      const entries = await db
        .selectFrom('products')
        .select('name')
        .where('entry', '=', name)
        .orderBy('name')
        .execute();
      const versions = await db
        .selectFrom('versions')
        .select('version')
        .where('module', '=', name)
        .orderBy('version')
        .execute();
      checkUnreferenced(`module ${name}`, [
        ...callers,
        ...entries.map((p) => `product ${p.name} (entry)`),
        ...versions.map((v) => `version ${name}@${v.version}`),
      ]);
      await db.deleteFrom('modules').where('name', '=', name).execute();
      await cx.audit(actor, 'module.delete', `module/${name}`, module, null);
    },
  };
}
