// /v1/modules and their versions (/v1/modules/:module/versions): read by viewers, written by
// admins. A version is immutable: there is no update, and re-creating it with other content fails.

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { moduleInputSchema, nameSchema, versionInputSchema } from '../../store/model.js';
import { actorOf } from '../auth.js';
import {
  errorResponses,
  keySchema,
  moduleSchema,
  pageOf,
  pageQuerySchema,
  versionSchema,
} from '../schemas.js';
import type { ResourceOptions } from './common.js';
import { found } from './common.js';

const params = z.object({ module: keySchema });
const versionParams = z.object({ module: keySchema, version: keySchema });
const listQuery = pageQuerySchema.extend({ org: nameSchema('org').optional() });

export const modulesPlugin: FastifyPluginAsyncZod<ResourceOptions> = async (app, { store }) => {
  app.get(
    '/modules',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['modules'],
        querystring: listQuery,
        response: { 200: pageOf(moduleSchema), ...errorResponses },
      },
    },
    async (req) => store.listModules(req.query),
  );

  app.get(
    '/modules/:module',
    {
      config: { role: 'viewer' },
      schema: { tags: ['modules'], params, response: { 200: moduleSchema, ...errorResponses } },
    },
    async (req) => found(await store.getModule(req.params.module), 'module', req.params.module),
  );

  app.post(
    '/modules',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['modules'],
        body: moduleInputSchema,
        response: { 201: moduleSchema, ...errorResponses },
      },
    },
    async (req, reply) => reply.code(201).send(await store.createModule(req.body, actorOf(req))),
  );

  app.put(
    '/modules/:module',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['modules'],
        description: 'Replaces the mutable fields of an existing module.',
        params,
        body: moduleInputSchema.omit({ name: true }),
        response: { 200: moduleSchema, ...errorResponses },
      },
    },
    async (req) => store.updateModule({ ...req.body, name: req.params.module }, actorOf(req)),
  );

  app.delete(
    '/modules/:module',
    {
      config: { role: 'admin' },
      schema: { tags: ['modules'], params, response: { 204: z.null(), ...errorResponses } },
    },
    async (req, reply) => {
      await store.deleteModule(req.params.module, actorOf(req));
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/modules/:module/versions',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['versions'],
        params,
        querystring: pageQuerySchema,
        response: { 200: pageOf(versionSchema), ...errorResponses },
      },
    },
    async (req) => {
      found(await store.getModule(req.params.module), 'module', req.params.module);
      return store.listVersions({ ...req.query, module: req.params.module });
    },
  );

  app.get(
    '/modules/:module/versions/:version',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['versions'],
        params: versionParams,
        response: { 200: versionSchema, ...errorResponses },
      },
    },
    async (req) => {
      const { module, version } = req.params;
      return found(await store.getVersion(module, version), 'version', `${module}@${version}`);
    },
  );

  app.post(
    '/modules/:module/versions',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['versions'],
        description: 'Creates a version; idempotent for identical content.',
        params,
        body: versionInputSchema.omit({ module: true }),
        response: { 201: versionSchema, ...errorResponses },
      },
    },
    async (req, reply) =>
      reply
        .code(201)
        .send(await store.createVersion({ ...req.body, module: req.params.module }, actorOf(req))),
  );

  app.delete(
    '/modules/:module/versions/:version',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['versions'],
        params: versionParams,
        response: { 204: z.null(), ...errorResponses },
      },
    },
    async (req, reply) => {
      await store.deleteVersion(req.params.module, req.params.version, actorOf(req));
      return reply.code(204).send(null);
    },
  );
};
