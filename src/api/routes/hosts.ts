// /v1/hosts: the fleet's hosts (src/store/host-model.ts). Read by viewers; registered and kept
// alive by their agents (releaser tokens until agents get join tokens of their own); cordoned,
// drained and uncordoned by admins (it changes where every product's instances may run).

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { HOST_STATES, hostInputSchema, hostNameSchema } from '../../store/host-model.js';
import { actorOf } from '../auth.js';
import { errorResponses, pageOf, pageQuerySchema } from '../schemas.js';
import type { ResourceOptions } from './common.js';
import { found } from './common.js';

const ts = z.string().describe('ISO 8601 UTC');

export const hostSchema = z.looseObject({
  name: z.string(),
  address: z.string().describe("where the host's instances are reached (IP or DNS name)"),
  labels: z.record(z.string(), z.string()),
  capacity: z.number().nullable().describe('most instances placed on it; null: no limit'),
  state: z.enum(HOST_STATES),
  leaseExpiresAt: ts.nullable().describe("until when the agent's last heartbeat holds"),
  createdAt: ts,
  updatedAt: ts,
});

const params = z.object({ name: hostNameSchema });
const listQuery = pageQuerySchema.extend({ state: z.enum(HOST_STATES).optional() });
const registerBody = hostInputSchema.omit({ name: true });
const heartbeatBody = z.strictObject({
  ttlMs: z.int().min(500).max(3_600_000).describe('the lease runs this long from now'),
});

/** Operator actions and the state each leaves. */
const ACTIONS = {
  cordon: { state: 'cordoned', what: 'No new instances are placed on the host; its own run on.' },
  drain: {
    state: 'draining',
    what: 'No new instances are placed on the host, and the engine moves its instances elsewhere.',
  },
  uncordon: { state: 'ready', what: 'The host takes new instances again.' },
} as const;

export const hostsPlugin: FastifyPluginAsyncZod<ResourceOptions> = async (app, { store }) => {
  app.get(
    '/hosts',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['hosts'],
        querystring: listQuery,
        response: { 200: pageOf(hostSchema), ...errorResponses },
      },
    },
    async (req) => store.listHosts(req.query),
  );

  app.get(
    '/hosts/:name',
    {
      config: { role: 'viewer' },
      schema: { tags: ['hosts'], params, response: { 200: hostSchema, ...errorResponses } },
    },
    async (req) => found(await store.getHost(req.params.name), 'host', req.params.name),
  );

  app.put(
    '/hosts/:name',
    {
      config: { role: 'releaser' },
      schema: {
        tags: ['hosts'],
        description:
          'An agent registers its host (or again, replacing address, labels and capacity). A new host is ready; an operator cordon or drain stays; a down host is ready again.',
        params,
        body: registerBody,
        response: { 200: hostSchema, ...errorResponses },
      },
    },
    async (req) => store.registerHost({ ...req.body, name: req.params.name }, actorOf(req)),
  );

  app.post(
    '/hosts/:name/heartbeat',
    {
      config: { role: 'releaser' },
      schema: {
        tags: ['hosts'],
        params,
        body: heartbeatBody,
        response: { 200: hostSchema, ...errorResponses },
      },
    },
    async (req) => {
      const until = new Date(Date.now() + req.body.ttlMs).toISOString();
      return store.renewHostLease(req.params.name, until, actorOf(req));
    },
  );

  for (const [action, { state, what }] of Object.entries(ACTIONS)) {
    app.post(
      `/hosts/:name/${action}`,
      {
        config: { role: 'admin' },
        schema: {
          tags: ['hosts'],
          description: what,
          params,
          response: { 200: hostSchema, ...errorResponses },
        },
      },
      async (req) => store.setHostState(req.params.name, state, actorOf(req)),
    );
  }
};
