// /v1/orgs: read by viewers, created and deleted by admins.

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { orgInputSchema } from '../../store/model.js';
import { actorOf } from '../auth.js';
import { errorResponses, keySchema, orgSchema, pageOf, pageQuerySchema } from '../schemas.js';
import type { ResourceOptions } from './common.js';
import { found } from './common.js';

const params = z.object({ org: keySchema });

export const orgsPlugin: FastifyPluginAsyncZod<ResourceOptions> = async (app, { store }) => {
  app.get(
    '/orgs',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['orgs'],
        querystring: pageQuerySchema,
        response: { 200: pageOf(orgSchema), ...errorResponses },
      },
    },
    async (req) => store.listOrgs(req.query),
  );

  app.get(
    '/orgs/:org',
    {
      config: { role: 'viewer' },
      schema: { tags: ['orgs'], params, response: { 200: orgSchema, ...errorResponses } },
    },
    async (req) => found(await store.getOrg(req.params.org), 'org', req.params.org),
  );

  app.post(
    '/orgs',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['orgs'],
        body: orgInputSchema,
        response: { 201: orgSchema, ...errorResponses },
      },
    },
    async (req, reply) => reply.code(201).send(await store.createOrg(req.body, actorOf(req))),
  );

  app.delete(
    '/orgs/:org',
    {
      config: { role: 'admin' },
      schema: { tags: ['orgs'], params, response: { 204: z.null(), ...errorResponses } },
    },
    async (req, reply) => {
      await store.deleteOrg(req.params.org, actorOf(req));
      return reply.code(204).send(null);
    },
  );
};
