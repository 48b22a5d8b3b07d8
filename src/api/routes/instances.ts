// /v1/instances: read by viewers; registered, patched and removed by releasers (the runtimes).

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { versionLabelSchema } from '../../config/snapshot.js';
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

export const instancesPlugin: FastifyPluginAsyncZod<ResourceOptions> = async (app, { store }) => {
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
    async (req) => store.listInstances(req.query),
  );

  app.get(
    '/instances/:id',
    {
      config: { role: 'viewer' },
      schema: { tags: ['instances'], params, response: { 200: instanceSchema, ...errorResponses } },
    },
    async (req) => found(await store.getInstance(req.params.id), 'instance', req.params.id),
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
    async (req, reply) => reply.code(201).send(await store.createInstance(req.body, actorOf(req))),
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
    async (req) => store.updateInstance(req.params.id, req.body, actorOf(req)),
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
