// /v1/products/:product/lanes: read by viewers; created, replaced (overlay and assignment rules)
// and deleted by releasers. A releaser's overlay may bind only the product's own modules
// (src/api/overlay-policy.ts); raw addresses need an admin.

import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { checkOverlayVersions } from '../../control/overlay-versions.js';
import type { Lane, LaneInput } from '../../store/model.js';
import { laneInputSchema } from '../../store/model.js';
import type { StoreTx } from '../../store/store.js';
import { reachableModules } from '../../store/validate.js';
import { actorOf } from '../auth.js';
import { checkReleaserOverlay } from '../overlay-policy.js';
import { errorResponses, keySchema, laneSchema, pageOf, pageQuerySchema } from '../schemas.js';
import type { ResourceOptions } from './common.js';
import { found } from './common.js';

const productParams = z.object({ product: keySchema });
const params = z.object({ product: keySchema, lane: keySchema });

/** The modules `product` uses: its entry and everything reachable through calls. */
async function productModules(tx: StoreTx, product: string): Promise<Set<string>> {
  const p = found(await tx.getProduct(product), 'product', product);
  const graph = new Map<string, string[]>();
  let cursor: string | undefined;
  do {
    const page = await tx.listModules({ org: p.org, limit: 1000, cursor });
    for (const m of page.items) graph.set(m.name, m.calls);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return reachableModules(p.entry, graph);
}

/** Checks who may write this overlay, then writes, in one transaction (nothing is left on refusal). */
async function writeLane(
  tx: StoreTx,
  req: FastifyRequest,
  lane: LaneInput,
  write: () => Promise<Lane>,
): Promise<Lane> {
  if (req.principal?.role !== 'admin' && lane.overlay !== undefined && lane.overlay !== '')
    checkReleaserOverlay(lane.overlay, lane.product, await productModules(tx, lane.product));
  // Whoever writes it: lane traffic must reach a version that exists.
  if (lane.overlay !== undefined)
    await checkOverlayVersions(lane.overlay, async (m, v) => (await tx.getVersion(m, v)) !== null);
  return write();
}

export const lanesPlugin: FastifyPluginAsyncZod<ResourceOptions> = async (app, { store }) => {
  app.get(
    '/products/:product/lanes',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['lanes'],
        params: productParams,
        querystring: pageQuerySchema,
        response: { 200: pageOf(laneSchema), ...errorResponses },
      },
    },
    async (req) => {
      found(await store.getProduct(req.params.product), 'product', req.params.product);
      return store.listLanes({ ...req.query, product: req.params.product });
    },
  );

  app.get(
    '/products/:product/lanes/:lane',
    {
      config: { role: 'viewer' },
      schema: { tags: ['lanes'], params, response: { 200: laneSchema, ...errorResponses } },
    },
    async (req) => {
      const { product, lane } = req.params;
      return found(await store.getLane(product, lane), 'lane', `${product}/${lane}`);
    },
  );

  app.post(
    '/products/:product/lanes',
    {
      config: { role: 'releaser' },
      schema: {
        tags: ['lanes'],
        params: productParams,
        body: laneInputSchema.omit({ product: true }),
        response: { 201: laneSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const lane = { ...req.body, product: req.params.product };
      const created = await store.transaction((tx) =>
        writeLane(tx, req, lane, () => tx.createLane(lane, actorOf(req))),
      );
      return reply.code(201).send(created);
    },
  );

  app.put(
    '/products/:product/lanes/:lane',
    {
      config: { role: 'releaser' },
      schema: {
        tags: ['lanes'],
        description: 'Replaces the overlay and assignment rules of an existing lane.',
        params,
        body: laneInputSchema.omit({ product: true, name: true }),
        response: { 200: laneSchema, ...errorResponses },
      },
    },
    async (req) => {
      const lane = { ...req.body, product: req.params.product, name: req.params.lane };
      return store.transaction((tx) =>
        writeLane(tx, req, lane, () => tx.updateLane(lane, actorOf(req))),
      );
    },
  );

  app.delete(
    '/products/:product/lanes/:lane',
    {
      config: { role: 'releaser' },
      schema: { tags: ['lanes'], params, response: { 204: z.null(), ...errorResponses } },
    },
    async (req, reply) => {
      await store.deleteLane(req.params.product, req.params.lane, actorOf(req));
      return reply.code(204).send(null);
    },
  );
};
