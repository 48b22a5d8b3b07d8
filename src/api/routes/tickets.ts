// /v1/tickets: read-only for now (the release engine creates and moves tickets).

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { nameSchema, TICKET_STATES } from '../../store/model.js';
import {
  errorResponses,
  pageOf,
  pageQuerySchema,
  ticketEventSchema,
  ticketSchema,
} from '../schemas.js';
import type { ResourceOptions } from './common.js';
import { found } from './common.js';

const params = z.object({ id: z.coerce.number().int().positive() });
const listQuery = pageQuerySchema.extend({
  product: nameSchema('product').optional(),
  state: z.enum(TICKET_STATES).optional(),
});

export const ticketsPlugin: FastifyPluginAsyncZod<ResourceOptions> = async (app, { store }) => {
  app.get(
    '/tickets',
    {
      config: { role: 'viewer' },
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
      config: { role: 'viewer' },
      schema: { tags: ['tickets'], params, response: { 200: ticketSchema, ...errorResponses } },
    },
    async (req) => found(await store.getTicket(req.params.id), 'ticket', req.params.id),
  );

  app.get(
    '/tickets/:id/events',
    {
      config: { role: 'viewer' },
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
};
