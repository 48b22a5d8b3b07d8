// /v1/apply: declarative catalog documents (orgs, modules, versions, products, lanes) created or
// updated in one transaction (kubectl's apply: each document is the whole object), with prune
// also deleting what an earlier apply wrote that they no longer name, or with dryRun only planned. Admin only: an apply does what the
// admin-only create/replace routes of orgs, products, modules and versions do, so a releaser must
// not reach them through here; releasers manage lanes through /v1/products/:product/lanes.

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { applyDocuments } from '../../control/apply.js';
import { APPLY_KINDS, applyDocumentSchema } from '../../control/apply-documents.js';
import { actorOf } from '../auth.js';
import { errorResponses } from '../schemas.js';
import type { ResourceOptions } from './common.js';

const body = z.strictObject({
  documents: z
    .array(applyDocumentSchema)
    .max(10_000)
    .describe(`kind (${APPLY_KINDS.join('|')}) plus the fields of that kind's create body`),
  dryRun: z.boolean().default(false).describe('plan and validate only; change nothing'),
  prune: z
    .boolean()
    .default(false)
    .describe(
      'also delete what an earlier apply wrote and the documents no longer name, in the orgs they belong to',
    ),
});

const resultSchema = z.object({
  dryRun: z.boolean(),
  prune: z.boolean(),
  changed: z.boolean().describe('whether the apply changed (or, dry, would change) anything'),
  counts: z.object({
    create: z.number(),
    update: z.number(),
    unchanged: z.number(),
    prune: z.number(),
  }),
  actions: z
    .array(
      z.object({
        index: z
          .number()
          .optional()
          .describe("the document's position in the request, from 0; absent for a pruned object"),
        kind: z.enum(APPLY_KINDS),
        name: z.string().describe('orders, orders@2.0.0 for a version, shop/dev for a lane'),
        action: z.enum(['create', 'update', 'unchanged', 'prune']),
        changes: z
          .array(
            z.object({
              field: z.string(),
              before: z.unknown().optional(),
              after: z.unknown().optional(),
            }),
          )
          .describe('for an update, each changed field, before and after'),
      }),
    )
    .describe('one per document, in document order; then each pruned object, in delete order'),
});

export const applyPlugin: FastifyPluginAsyncZod<ResourceOptions> = async (app, { store }) => {
  app.post(
    '/apply',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['apply'],
        description:
          'Creates or updates every document in one transaction (all or nothing); with prune, deletes what an earlier apply wrote that the documents no longer name. Errors name the document: field documents[i].<field>.',
        body,
        response: { 200: resultSchema, ...errorResponses },
      },
    },
    async (req) =>
      applyDocuments(store, req.body.documents, {
        dryRun: req.body.dryRun,
        prune: req.body.prune,
        actor: actorOf(req),
      }),
  );
};
