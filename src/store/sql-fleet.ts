// Versions (immutable artifacts) and instances (running copies of them, registered by runtimes).

import { randomUUID } from 'node:crypto';
import { TurnoutError } from '../errors.js';
import { toPage } from './cursor.js';
import { instanceOf, toJson, versionOf } from './db.js';
import type { ArtifactRef, Instance, Version } from './model.js';
import {
  instanceInputSchema,
  instancePatchSchema,
  timestampSchema,
  versionInputSchema,
} from './model.js';
import type { SqlContext } from './sql-context.js';
import { keyAfter, pageOf } from './sql-context.js';
import { sameContent } from './sql-shared.js';
import type { ArtifactLookup, ArtifactReference, StoreTx } from './store.js';
import {
  checkArtifactUnchanged,
  checkOverrideKind,
  checkUnreferenced,
  checkVersionUnchanged,
  duplicate,
  notFound,
  parseInput,
  unknownRef,
} from './validate.js';

/**
 * A stopped instance's health is `unknown`: nothing probes it any more, so the verdict it last had
 * (`healthy`, read by `host describe` and the dashboard as if it still held) no longer says
 * anything. Here, where every writer passes (engine, agents' reports, PATCH /v1/instances), so a
 * late report of a healthy probe does not bring the old verdict back either.
 */
function withStoppedHealth<T extends Pick<Instance, 'state' | 'health'>>(next: T): T {
  return next.state === 'stopped' ? { ...next, health: 'unknown' } : next;
}

type FleetOps = Pick<
  StoreTx,
  | 'getVersion'
  | 'listVersions'
  | 'createVersion'
  | 'deleteVersion'
  | 'listArtifactReferences'
  | 'lockArtifactReferences'
  | 'getInstance'
  | 'listInstances'
  | 'createInstance'
  | 'updateInstance'
  | 'deleteInstance'
  | 'renewLeases'
>;

/**
 * A pushed artifact (no url) must be in the artifact store, with the size the version says;
 * one fetched from a url is the agents' to check.
 */
async function checkArtifactPresent(
  artifacts: ArtifactLookup | null,
  artifact: ArtifactRef | null,
): Promise<void> {
  if (artifact === null || 'url' in artifact) return;
  const meta = artifacts === null ? null : await artifacts.head(artifact.sha256);
  if (meta === null) {
    throw new TurnoutError(
      'bad_request',
      `artifact.sha256: no artifact with this sha256 (${artifact.sha256}): push it first`,
      'artifact.sha256',
    );
  }
  if (meta.size !== artifact.size) {
    throw new TurnoutError(
      'bad_request',
      `artifact.size: the artifact ${artifact.sha256} is ${meta.size} bytes, not ${artifact.size}`,
      'artifact.size',
    );
  }
}

export function fleetOps(cx: SqlContext): FleetOps {
  const db = cx.db;

  const getVersion = async (module: string, version: string): Promise<Version | null> => {
    const row = await db
      .selectFrom('versions')
      .selectAll()
      .where('module', '=', module)
      .where('version', '=', version)
      .executeTakeFirst();
    return row === undefined ? null : versionOf(row);
  };
  const getInstance = async (id: string): Promise<Instance | null> => {
    const row = await db
      .selectFrom('instances')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row === undefined ? null : instanceOf(row);
  };

  const artifactReferences = async (): Promise<ArtifactReference[]> => {
    const rows = await db
      .selectFrom('versions')
      .select(['module', 'version', 'artifact'])
      .where('artifact', 'is not', null)
      .orderBy('module')
      .orderBy('version')
      .execute();
    return rows.flatMap((r) => {
      const a = JSON.parse(r.artifact as string) as ArtifactRef;
      return 'url' in a ? [] : [{ sha256: a.sha256, module: r.module, version: r.version }];
    });
  };

  return {
    getVersion,
    listArtifactReferences: artifactReferences,
    async lockArtifactReferences(actor) {
      await cx.lock(actor);
      return artifactReferences();
    },
    async listVersions(query) {
      const { limit, after } = pageOf(query, 2);
      let q = db.selectFrom('versions').selectAll().orderBy('module').orderBy('version');
      if (query?.module !== undefined) q = q.where('module', '=', query.module);
      if (after) q = q.where(keyAfter(['module', 'version'], after));
      const rows = await q.limit(limit + 1).execute();
      return toPage(rows, limit, (r) => [r.module, r.version], versionOf);
    },
    async createVersion(input, actor) {
      await cx.lock(actor);
      const v = parseInput(versionInputSchema, input, 'version');
      const existing = await getVersion(v.module, v.version);
      if (existing !== null) {
        checkVersionUnchanged(existing, v);
        checkArtifactUnchanged(existing, v.artifact);
        return existing; // identical re-creation: nothing to write, nothing to audit
      }
      const module = await db
        .selectFrom('modules')
        .select('run')
        .where('name', '=', v.module)
        .executeTakeFirst();
      if (module === undefined) throw unknownRef('module', 'module', v.module);
      checkOverrideKind(v.module, JSON.parse(module.run), v.run);
      // Under the writer lock: the artifact collector deletes under it too (src/artifacts/gc.ts),
      // so an artifact found here is not collected before this version commits.
      await checkArtifactPresent(cx.artifacts, v.artifact);
      const row = {
        module: v.module,
        version: v.version,
        run: v.run === null ? null : toJson(v.run),
        artifact: v.artifact === null ? null : toJson(v.artifact),
        created_at: cx.now(),
      };
      await db.insertInto('versions').values(row).execute();
      const created = versionOf(row);
      await cx.audit(actor, 'version.create', `version/${v.module}@${v.version}`, null, created);
      return created;
    },
    async deleteVersion(module, version, actor) {
      await cx.lock(actor);
      const existing = await getVersion(module, version);
      if (existing === null) throw notFound('version', `${module}@${version}`);
      const instances = await db
        .selectFrom('instances')
        .select('id')
        .where('module', '=', module)
        .where('version', '=', version)
        .orderBy('id')
        .execute();
      const tickets = await db
        .selectFrom('ticket_items')
        .select('ticket_id')
        .where('module', '=', module)
        .where('version', '=', version)
        .orderBy('ticket_id')
        .execute();
      checkUnreferenced(`version ${module}@${version}`, [
        ...instances.map((i) => `instance ${i.id}`),
        ...tickets.map((t) => `ticket ${t.ticket_id}`),
      ]);
      await db
        .deleteFrom('versions')
        .where('module', '=', module)
        .where('version', '=', version)
        .execute();
      await cx.audit(actor, 'version.delete', `version/${module}@${version}`, existing, null);
    },

    getInstance,
    async listInstances(query) {
      const { limit, after } = pageOf(query, 1);
      let q = db.selectFrom('instances').selectAll().orderBy('id');
      if (query?.module !== undefined) q = q.where('module', '=', query.module);
      if (query?.version !== undefined) q = q.where('version', '=', query.version);
      if (query?.host !== undefined) q = q.where('host', '=', query.host);
      if (after) q = q.where(keyAfter(['id'], after));
      const rows = await q.limit(limit + 1).execute();
      return toPage(rows, limit, (r) => [r.id], instanceOf);
    },
    async createInstance(input, actor) {
      await cx.lock(actor);
      const i = withStoppedHealth(parseInput(instanceInputSchema, input, 'instance'));
      const id = i.id ?? randomUUID();
      if ((await getInstance(id)) !== null) throw duplicate('instance', id, 'id');
      if ((await getVersion(i.module, i.version)) === null) {
        throw unknownRef('version', 'version', `${i.module}@${i.version}`);
      }
      const now = cx.now();
      const row = {
        id,
        module: i.module,
        version: i.version,
        host: i.host,
        address: i.address,
        state: i.state,
        health: i.health,
        weight: i.weight,
        lease_expires_at: i.leaseExpiresAt,
        created_at: now,
        updated_at: now,
      };
      await db.insertInto('instances').values(row).execute();
      const created = instanceOf(row);
      await cx.audit(actor, 'instance.create', `instance/${id}`, null, created);
      return created;
    },
    async updateInstance(id, patch, actor) {
      await cx.lock(actor);
      const p = parseInput(instancePatchSchema, patch, 'instance');
      const before = await getInstance(id);
      if (before === null) throw notFound('instance', id);
      const { createdAt: _c, updatedAt: _u, ...content } = before;
      const next = withStoppedHealth({ ...content, ...p });
      if (sameContent(before, next)) return before;
      const updated: Instance = { ...next, createdAt: before.createdAt, updatedAt: cx.now() };
      await db
        .updateTable('instances')
        .set({
          address: updated.address,
          state: updated.state,
          health: updated.health,
          weight: updated.weight,
          lease_expires_at: updated.leaseExpiresAt,
          updated_at: updated.updatedAt,
        })
        .where('id', '=', id)
        .execute();
      await cx.audit(actor, 'instance.update', `instance/${id}`, before, updated);
      return updated;
    },
    async deleteInstance(id, actor) {
      await cx.lock(actor);
      const before = await getInstance(id);
      if (before === null) throw notFound('instance', id);
      await db.deleteFrom('instances').where('id', '=', id).execute();
      await cx.audit(actor, 'instance.delete', `instance/${id}`, before, null);
    },
    async renewLeases(ids, until) {
      cx.assertWritable();
      const at = parseInput(timestampSchema, until, 'until');
      if (ids.length === 0) return 0;
      const result = await db
        .updateTable('instances')
        .set({ lease_expires_at: at })
        .where('id', 'in', [...ids])
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },
  };
}
