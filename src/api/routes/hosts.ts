// /v1/hosts: the fleet's hosts (src/store/host-model.ts). Read by viewers; registered and kept
// alive by their agents (agent tokens, each bound to the host it registered; admins too); cordoned,
// drained and uncordoned by admins (it changes where every product's instances may run). A
// heartbeat also renews the leases of the host's instances, so a host whose agent falls silent
// takes its endpoints out of routing when that lease runs out.

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { listAll } from '../../store/cursor.js';
import { HOST_STATES, hostInputSchema, hostNameSchema } from '../../store/host-model.js';
import { actorOf } from '../auth.js';
import { errorResponses, pageOf, pageQuerySchema } from '../schemas.js';
import { hostFor } from './assignments.js';
import type { ResourceOptions } from './common.js';
import { found } from './common.js';

export interface HostsPluginOptions extends ResourceOptions {
  /** Called after a heartbeat renewed instance leases (the publisher may re-admit one). */
  onLeasesRenewed?: () => Promise<void> | void;
}

const ts = z.string().describe('ISO 8601 UTC');

export const hostSchema = z.looseObject({
  name: z.string(),
  address: z.string().describe("where the host's instances are reached (IP or DNS name)"),
  labels: z.record(z.string(), z.string()),
  capacity: z.number().nullable().describe('most instances placed on it; null: no limit'),
  state: z.enum(HOST_STATES),
  leaseExpiresAt: ts.nullable().describe("until when the agent's last heartbeat holds"),
  registeredBy: z
    .string()
    .nullable()
    .describe('the agent token the host is bound to (the first that registered it)'),
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

export const hostsPlugin: FastifyPluginAsyncZod<HostsPluginOptions> = async (
  app,
  { store, onLeasesRenewed },
) => {
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
      config: { role: 'agent' },
      schema: {
        tags: ['hosts'],
        description:
          'An agent registers its host (or again, replacing address, labels and capacity). A new host is ready; an operator cordon or drain stays; a down host is ready again. The first agent token to register a host binds it: another agent token gets 403 for it.',
        params,
        body: registerBody,
        response: { 200: hostSchema, ...errorResponses },
      },
    },
    async (req) => {
      const agent = req.principal?.role === 'agent' ? req.principal.name : undefined;
      return store.registerHost({ ...req.body, name: req.params.name }, actorOf(req), agent);
    },
  );

  app.post(
    '/hosts/:name/heartbeat',
    {
      config: { role: 'agent' },
      schema: {
        tags: ['hosts'],
        description:
          "Renews the host's lease, and the lease of each of its instances that is not stopped, to the same time.",
        params,
        body: heartbeatBody,
        response: { 200: hostSchema, ...errorResponses },
      },
    },
    async (req) => {
      const name = req.params.name;
      await hostFor(store, req.principal, name);
      const until = new Date(Date.now() + req.body.ttlMs).toISOString();
      const { host, renewed } = await store.transaction(async (tx) => {
        const h = await tx.renewHostLease(name, until, actorOf(req));
        const instances = await listAll((p) => tx.listInstances({ ...p, host: name }));
        const ids = instances.filter((i) => i.state !== 'stopped').map((i) => i.id);
        return { host: h, renewed: await tx.renewLeases(ids, until) };
      });
      if (renewed > 0) await onLeasesRenewed?.();
      return host;
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
