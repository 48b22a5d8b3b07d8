// /v1/audit: the audit log, oldest first unless newestFirst, filtered by target and actor.

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { auditEntrySchema, errorResponses, pageOf, pageQuerySchema } from '../schemas.js';
import type { ResourceOptions } from './common.js';

const listQuery = pageQuerySchema.extend({
  target: z.string().min(1).max(512).optional().describe('only entries about this target'),
  actor: z.string().min(1).max(256).optional().describe('only entries by this actor'),
  newestFirst: z.stringbool().optional().describe('newest entries first (the dashboard view)'),
});

export const auditPlugin: FastifyPluginAsyncZod<ResourceOptions> = async (app, { store }) => {
  app.get(
    '/audit',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['audit'],
        querystring: listQuery,
        response: { 200: pageOf(auditEntrySchema), ...errorResponses },
      },
    },
    async (req) => store.listAudit(req.query),
  );
};
