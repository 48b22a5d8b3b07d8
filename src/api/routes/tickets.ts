// /v1/tickets: read by viewers (a ticket includes its pre-release header value, so whoever may read
// the ticket can test it); created, driven and rotated by releasers. A command records intent in one
// transaction (src/release/commands.ts) and kicks the release engine, which does the work.

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { versionLabelSchema } from '../../config/snapshot.js';
import type { CanaryInput, CommandInput } from '../../release/commands.js';
import { createTicket, revertTicket, runCommand } from '../../release/commands.js';
import { rotatePrerelease } from '../../release/rotate.js';
import { nameSchema, TICKET_STATES } from '../../store/model.js';
import type { Store } from '../../store/store.js';
import { actorOf } from '../auth.js';
import {
  errorResponses,
  pageOf,
  pageQuerySchema,
  ticketEventSchema,
  ticketSchema,
} from '../schemas.js';
import { found } from './common.js';

export interface TicketsPluginOptions {
  store: Store;
  /** Wakes the release engine after a command; none: the engine finds it on its next tick. */
  kick?: () => void;
}

const params = z.object({ id: z.coerce.number().int().positive() });
const listQuery = pageQuerySchema.extend({
  product: nameSchema('product').optional(),
  state: z.enum(TICKET_STATES).optional(),
});
const itemsSchema = z
  .array(z.strictObject({ module: nameSchema('module'), version: versionLabelSchema }))
  .min(1, 'a ticket has at least one item');
const createBody = z.strictObject({
  product: nameSchema('product'),
  items: itemsSchema,
  plan: z
    .record(z.string(), z.unknown())
    .optional()
    .describe('rollout settings; defaults are safe'),
});
const canaryBody = z.strictObject({
  steps: z.array(z.number()).min(1, 'a canary has at least one step'),
  pauseMs: z.number().int().nullable().optional(),
  segments: z.array(z.record(z.string(), z.unknown())).optional(),
  key: z.record(z.string(), z.string()).optional(),
});
const SIMPLE = ['deploy', 'prerelease', 'approve', 'promote', 'abort'] as const;

export const ticketsPlugin: FastifyPluginAsyncZod<TicketsPluginOptions> = async (app, options) => {
  const { store } = options;
  const kick = () => options.kick?.();
  const read = { config: { role: 'viewer' as const } };
  const write = { config: { role: 'releaser' as const } };

  app.get(
    '/tickets',
    {
      ...read,
      schema: {
        tags: ['tickets'],
        querystring: listQuery,
        response: { 200: pageOf(ticketSchema), ...errorResponses },
      },
    },
    async (req) => store.listTickets(req.query),
  );

  app.get(
    '/tickets/:id',
    {
      ...read,
      schema: { tags: ['tickets'], params, response: { 200: ticketSchema, ...errorResponses } },
    },
    async (req) => found(await store.getTicket(req.params.id), 'ticket', req.params.id),
  );

  app.get(
    '/tickets/:id/events',
    {
      ...read,
      schema: {
        tags: ['tickets'],
        params,
        querystring: pageQuerySchema,
        response: { 200: pageOf(ticketEventSchema), ...errorResponses },
      },
    },
    async (req) => {
      found(await store.getTicket(req.params.id), 'ticket', req.params.id);
      return store.listTicketEvents(req.params.id, req.query);
    },
  );

  app.post(
    '/tickets',
    {
      ...write,
      schema: {
        tags: ['tickets'],
        body: createBody,
        response: { 201: ticketSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const ticket = await store.transaction((tx) => createTicket(tx, req.body, actorOf(req)));
      return reply.code(201).send(ticket);
    },
  );

  const command = async (id: number, input: CommandInput, actor: string) => {
    const ticket = await store.transaction((tx) => runCommand(tx, id, input, actor));
    kick();
    return ticket;
  };

  for (const name of SIMPLE) {
    app.post(
      `/tickets/:id/${name}`,
      {
        ...write,
        schema: { tags: ['tickets'], params, response: { 200: ticketSchema, ...errorResponses } },
      },
      async (req) => command(req.params.id, { command: name }, actorOf(req)),
    );
  }

  app.post(
    '/tickets/:id/canary',
    {
      ...write,
      schema: {
        tags: ['tickets'],
        params,
        body: canaryBody,
        response: { 200: ticketSchema, ...errorResponses },
      },
    },
    async (req) =>
      command(req.params.id, { command: 'canary', canary: req.body as CanaryInput }, actorOf(req)),
  );

  app.post(
    '/tickets/:id/amend',
    {
      ...write,
      schema: {
        tags: ['tickets'],
        params,
        body: z.strictObject({ items: itemsSchema }),
        response: { 200: ticketSchema, ...errorResponses },
      },
    },
    async (req) =>
      command(req.params.id, { command: 'amend', items: req.body.items }, actorOf(req)),
  );

  app.post(
    '/tickets/:id/rotate-prerelease',
    {
      ...write,
      schema: {
        tags: ['tickets'],
        description:
          'Gives the ticket a new pre-release header value. The engine rewrites the lane rule; the old value stops matching once the proxies have the new snapshot.',
        params,
        response: { 200: ticketSchema, ...errorResponses },
      },
    },
    async (req) => {
      const ticket = await store.transaction((tx) =>
        rotatePrerelease(tx, req.params.id, actorOf(req)),
      );
      kick();
      return ticket;
    },
  );

  app.post(
    '/tickets/:id/revert',
    {
      ...write,
      schema: { tags: ['tickets'], params, response: { 201: ticketSchema, ...errorResponses } },
    },
    async (req, reply) => {
      const ticket = await store.transaction((tx) => revertTicket(tx, req.params.id, actorOf(req)));
      kick();
      return reply.code(201).send(ticket);
    },
  );
};
