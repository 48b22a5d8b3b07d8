// /v1/notifiers: notification channels with the state of their last delivery, and their recent
// deliveries. Read by viewers; created and changed through /v1/apply (kind Notifier), deleted by
// admins. A notifier's secret is never answered (only its last 4 characters) and a Slack URL
// only as its origin: both are credentials.

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Notifier } from '../../store/notifier-model.js';
import { DELIVERY_STATES, NOTIFIER_FORMATS, publicNotifier } from '../../store/notifier-model.js';
import { NOTIFY_EVENTS } from '../../store/notify-events.js';
import type { Store } from '../../store/store.js';
import { actorOf } from '../auth.js';
import { errorResponses, keySchema, pageOf, pageQuerySchema } from '../schemas.js';
import type { ResourceOptions } from './common.js';
import { found } from './common.js';

const ts = z.string().describe('ISO 8601 UTC');

export const deliverySchema = z.looseObject({
  id: z.number(),
  notifier: z.string(),
  state: z.enum(DELIVERY_STATES),
  attempts: z.number().describe('attempts started so far'),
  nextAttemptAt: ts.nullable().describe('when a pending delivery is tried (again)'),
  lastAttemptAt: ts.nullable(),
  lastStatus: z.number().nullable().describe("the receiver's HTTP status; null: no answer"),
  lastError: z.string().nullable(),
  deliveredAt: ts.nullable(),
  createdAt: ts,
  notification: z
    .looseObject({ id: z.string().describe('the same on every retry: dedup on it') })
    .describe('what is sent (a webhook body is this plus a summary line)'),
});

export const notifierSchema = z.looseObject({
  name: z.string(),
  product: z.string(),
  format: z.enum(NOTIFIER_FORMATS),
  url: z.string().describe('a Slack URL shows only its origin; a webhook URL no query'),
  events: z.array(z.enum(NOTIFY_EVENTS)),
  secretHint: z.string().nullable().describe("the secret's last 4 characters; null: none"),
  lastDelivery: deliverySchema.nullable().describe('the newest delivery, whatever its state'),
  createdAt: ts,
  updatedAt: ts,
});

const params = z.object({ name: keySchema });
const listQuery = pageQuerySchema.extend({
  product: keySchema.optional().describe("only this product's notifiers"),
});

async function view(store: Store, n: Notifier) {
  const last = await store.listDeliveries({ notifier: n.name, newestFirst: true, limit: 1 });
  return { ...publicNotifier(n), lastDelivery: last.items[0] ?? null };
}

export const notifiersPlugin: FastifyPluginAsyncZod<ResourceOptions> = async (app, { store }) => {
  app.get(
    '/notifiers',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['notifiers'],
        querystring: listQuery,
        response: { 200: pageOf(notifierSchema), ...errorResponses },
      },
    },
    async (req) => {
      const page = await store.listNotifiers(req.query);
      return { ...page, items: await Promise.all(page.items.map((n) => view(store, n))) };
    },
  );

  app.get(
    '/notifiers/:name',
    {
      config: { role: 'viewer' },
      schema: { tags: ['notifiers'], params, response: { 200: notifierSchema, ...errorResponses } },
    },
    async (req) =>
      view(store, found(await store.getNotifier(req.params.name), 'notifier', req.params.name)),
  );

  app.get(
    '/notifiers/:name/deliveries',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['notifiers'],
        description: 'Deliveries of this notifier, newest first.',
        params,
        querystring: pageQuerySchema,
        response: { 200: pageOf(deliverySchema), ...errorResponses },
      },
    },
    async (req) => {
      found(await store.getNotifier(req.params.name), 'notifier', req.params.name);
      return store.listDeliveries({ ...req.query, notifier: req.params.name, newestFirst: true });
    },
  );

  app.delete(
    '/notifiers/:name',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['notifiers'],
        description: 'Deletes the notifier and its deliveries (sent or not).',
        params,
        response: { 204: z.null(), ...errorResponses },
      },
    },
    async (req, reply) => {
      await store.deleteNotifier(req.params.name, actorOf(req));
      return reply.code(204).send(null);
    },
  );
};
