// /v1/products/:product/lanes: read by viewers; created, replaced (overlay and assignment rules)
// and deleted by releasers.

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { laneInputSchema } from '../../store/model.js';
import { actorOf } from '../auth.js';
import { errorResponses, keySchema, laneSchema, pageOf, pageQuerySchema } from '../schemas.js';
import type { ResourceOptions } from './common.js';
import { found } from './common.js';

const productParams = z.object({ product: keySchema });
const params = z.object({ product: keySchema, lane: keySchema });

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
    async (req, reply) =>
      reply
        .code(201)
        .send(await store.createLane({ ...req.body, product: req.params.product }, actorOf(req))),
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
    async (req) =>
      store.updateLane(
        { ...req.body, product: req.params.product, name: req.params.lane },
        actorOf(req),
      ),
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
