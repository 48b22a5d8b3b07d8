// /v1/instances: read by viewers; registered, patched, removed and kept alive (heartbeats) by
// releasers (the runtimes).

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { versionLabelSchema } from '../../config/snapshot.js';
import { takesTraffic } from '../../store/endpoint.js';
import type { Instance } from '../../store/model.js';
import { instanceInputSchema, instancePatchSchema, nameSchema } from '../../store/model.js';
import { actorOf } from '../auth.js';
import { errorResponses, instanceSchema, keySchema, pageOf, pageQuerySchema } from '../schemas.js';
import type { ResourceOptions } from './common.js';
import { found } from './common.js';

const params = z.object({ id: keySchema });
const listQuery = pageQuerySchema.extend({
  module: nameSchema('module').optional(),
  version: versionLabelSchema.optional(),
  host: z.string().min(1).optional(),
});

/** Lease renewal: many instances per call (an agent renews every instance on its host at once). */
const heartbeatBody = z.strictObject({
  ids: z.array(keySchema).min(1, 'ids: at least one instance id').max(1000),
  ttlMs: z.int().min(500).max(3_600_000).describe('the lease runs this long from now'),
});
const heartbeatAnswer = z.object({
  renewed: z.number().describe('how many of the ids exist and had their lease renewed'),
  unknown: z.array(z.string()).describe('ids that name no instance (register them again)'),
  leaseExpiresAt: z.string().describe('ISO 8601 UTC'),
});

export interface InstancesPluginOptions extends ResourceOptions {
  /** Called after a heartbeat renewed leases (the snapshot publisher's leasesRenewed). */
  onLeasesRenewed?: () => Promise<void>;
  /** Requests under way per endpoint address, as the proxies last reported; none: not shown. */
  inFlight?: () => ReadonlyMap<string, number>;
}

export const instancesPlugin: FastifyPluginAsyncZod<InstancesPluginOptions> = async (
  app,
  { store, onLeasesRenewed, inFlight },
) => {
  /**
   * Adds whether the instance takes traffic now (the engine's and the proxies' one definition)
   * and what the proxies have under way to it (0 when they report none for it).
   */
  const withLoad = (i: Instance, load: ReadonlyMap<string, number> | null = null) => {
    const out = { ...i, serving: takesTraffic(i, Date.now()) };
    return load === null ? out : { ...out, inFlight: load.get(i.address) ?? 0 };
  };

  app.get(
    '/instances',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['instances'],
        querystring: listQuery,
        response: { 200: pageOf(instanceSchema), ...errorResponses },
      },
    },
    async (req) => {
      const page = await store.listInstances(req.query);
      const load = inFlight?.() ?? null;
      return { ...page, items: page.items.map((i) => withLoad(i, load)) };
    },
  );

  app.get(
    '/instances/:id',
    {
      config: { role: 'viewer' },
      schema: { tags: ['instances'], params, response: { 200: instanceSchema, ...errorResponses } },
    },
    async (req) =>
      withLoad(
        found(await store.getInstance(req.params.id), 'instance', req.params.id),
        inFlight?.() ?? null,
      ),
  );

  app.post(
    '/instances',
    {
      config: { role: 'releaser' },
      schema: {
        tags: ['instances'],
        body: instanceInputSchema,
        response: { 201: instanceSchema, ...errorResponses },
      },
    },
    async (req, reply) =>
      reply.code(201).send(withLoad(await store.createInstance(req.body, actorOf(req)))),
  );

  app.post(
    '/instances/heartbeat',
    {
      config: { role: 'releaser' },
      schema: {
        tags: ['instances'],
        body: heartbeatBody,
        response: { 200: heartbeatAnswer, ...errorResponses },
      },
    },
    async (req) => {
      const ids = [...new Set(req.body.ids)];
      const leaseExpiresAt = new Date(Date.now() + req.body.ttlMs).toISOString();
      const renewed = await store.renewLeases(ids, leaseExpiresAt);
      if (renewed > 0) await onLeasesRenewed?.();
      // Only a short count costs look-ups: in the usual case every id exists.
      const unknown =
        renewed === ids.length
          ? []
          : (
              await Promise.all(ids.map(async (id) => ((await store.getInstance(id)) ? null : id)))
            ).filter((id): id is string => id !== null);
      return { renewed, unknown, leaseExpiresAt };
    },
  );

  app.patch(
    '/instances/:id',
    {
      config: { role: 'releaser' },
      schema: {
        tags: ['instances'],
        params,
        body: instancePatchSchema,
        response: { 200: instanceSchema, ...errorResponses },
      },
    },
    async (req) => withLoad(await store.updateInstance(req.params.id, req.body, actorOf(req))),
  );

  app.delete(
    '/instances/:id',
    {
      config: { role: 'releaser' },
      schema: { tags: ['instances'], params, response: { 204: z.null(), ...errorResponses } },
    },
    async (req, reply) => {
      await store.deleteInstance(req.params.id, actorOf(req));
      return reply.code(204).send(null);
    },
  );
};
