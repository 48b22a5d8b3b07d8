// /v1/products: read by viewers; created, replaced and deleted by admins.

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { nameSchema, productInputSchema } from '../../store/model.js';
import { actorOf } from '../auth.js';
import { errorResponses, keySchema, pageOf, pageQuerySchema, productSchema } from '../schemas.js';
import type { ResourceOptions } from './common.js';
import { found } from './common.js';

const params = z.object({ product: keySchema });
const listQuery = pageQuerySchema.extend({ org: nameSchema('org').optional() });

export const productsPlugin: FastifyPluginAsyncZod<ResourceOptions> = async (app, { store }) => {
  app.get(
    '/products',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['products'],
        querystring: listQuery,
        response: { 200: pageOf(productSchema), ...errorResponses },
      },
    },
    async (req) => store.listProducts(req.query),
  );

  app.get(
    '/products/:product',
    {
      config: { role: 'viewer' },
      schema: { tags: ['products'], params, response: { 200: productSchema, ...errorResponses } },
    },
    async (req) => found(await store.getProduct(req.params.product), 'product', req.params.product),
  );

  app.post(
    '/products',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['products'],
        body: productInputSchema,
        response: { 201: productSchema, ...errorResponses },
      },
    },
    async (req, reply) => reply.code(201).send(await store.createProduct(req.body, actorOf(req))),
  );

  app.put(
    '/products/:product',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['products'],
        description: 'Replaces the mutable fields of an existing product.',
        params,
        body: productInputSchema.omit({ name: true }),
        response: { 200: productSchema, ...errorResponses },
      },
    },
    async (req) => store.updateProduct({ ...req.body, name: req.params.product }, actorOf(req)),
  );

  app.delete(
    '/products/:product',
    {
      config: { role: 'admin' },
      schema: { tags: ['products'], params, response: { 204: z.null(), ...errorResponses } },
    },
    async (req, reply) => {
      await store.deleteProduct(req.params.product, actorOf(req));
      return reply.code(204).send(null);
    },
  );
};
