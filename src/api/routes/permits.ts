// The fleet's download throttle (issue 14; docs/deploy-your-own.md): before downloading an
// artifact an agent asks for a permit; at most K hosts hold one at once (`--max-concurrent-
// downloads`), the others are told their place in line and ask again. A permit is renewed while the
// download runs and given back when it ends; one whose agent died expires after ttlMs. Agent tokens
// (each speaking only for the host it registered) and admins.

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { SHA256_RE } from '../../store/assignment-model.js';
import { hostNameSchema } from '../../store/host-model.js';
import type { Store } from '../../store/store.js';
import { errorResponses } from '../schemas.js';
import { hostFor } from './assignments.js';

/** How many hosts download at once by default (seed 003: a release must not flood the network). */
export const DEFAULT_MAX_CONCURRENT_DOWNLOADS = 3;
/** A permit not renewed for this long is taken back. */
export const DEFAULT_PERMIT_TTL_MS = 30_000;

export interface PermitsPluginOptions {
  store: Store;
  /** K. Default DEFAULT_MAX_CONCURRENT_DOWNLOADS. */
  maxConcurrent?: number;
  /** Default DEFAULT_PERMIT_TTL_MS; tests shorten it. */
  ttlMs?: number;
  /** How soon a waiting agent should ask again. Default 500. */
  retryAfterMs?: number;
}

const shaParams = z.object({
  sha256: z.string().regex(SHA256_RE, 'a sha256 is 64 lowercase hex digits'),
});
const permitParams = z.object({ permit: z.uuid('a permit is the id a grant answered') });
const hostBody = z.strictObject({
  host: hostNameSchema.describe("the asking agent's host (its token must be bound to it)"),
});

const answer = z.union([
  z.object({
    granted: z.literal(true),
    permit: z.string().describe('give it back with DELETE /v1/artifacts/permits/{permit}'),
    ttlMs: z.number().describe('renew before this runs out'),
  }),
  z.object({
    granted: z.literal(false),
    position: z.number().describe('1: next in line'),
    retryAfterMs: z.number().describe('ask again after this long'),
  }),
]);

export const permitsPlugin: FastifyPluginAsyncZod<PermitsPluginOptions> = async (app, o) => {
  const { store } = o;
  const max = o.maxConcurrent ?? DEFAULT_MAX_CONCURRENT_DOWNLOADS;
  const ttlMs = o.ttlMs ?? DEFAULT_PERMIT_TTL_MS;
  const retryAfterMs = o.retryAfterMs ?? 500;
  // A waiting host that stops asking (its agent died) leaves the line after a few missed asks.
  const waitTtlMs = Math.max(retryAfterMs * 6, 3_000);

  app.post(
    '/artifacts/:sha256/permits',
    {
      config: { role: 'agent' },
      schema: {
        tags: ['agents'],
        description: `A permit to download the artifact: granted (at most --max-concurrent-downloads hosts hold one at once), or this host's position in line and when to ask again. Asking again while holding one answers the same permit, renewed.`,
        params: shaParams,
        body: hostBody,
        response: { 200: answer, ...errorResponses },
      },
    },
    async (req) => {
      const host = await hostFor(store, req.principal, req.body.host);
      const a = await store.acquireDownloadPermit({
        host: host.name,
        sha256: req.params.sha256,
        max,
        ttlMs,
        waitTtlMs,
      });
      return a.granted
        ? { granted: true as const, permit: a.permit, ttlMs }
        : { granted: false as const, position: a.position, retryAfterMs };
    },
  );

  app.post(
    '/artifacts/permits/:permit/renew',
    {
      config: { role: 'agent' },
      schema: {
        tags: ['agents'],
        description: 'Keeps a granted permit while its download runs; 404 once it expired.',
        params: permitParams,
        body: hostBody,
        response: { 200: z.object({ ttlMs: z.number() }), ...errorResponses },
      },
    },
    async (req) => {
      const host = await hostFor(store, req.principal, req.body.host);
      await store.renewDownloadPermit(req.params.permit, host.name, ttlMs);
      return { ttlMs };
    },
  );

  app.delete(
    '/artifacts/permits/:permit',
    {
      config: { role: 'agent' },
      schema: {
        tags: ['agents'],
        description:
          'Gives the permit back (the download ended): the next host in line gets it. `?host=` names the asking host.',
        params: permitParams,
        querystring: hostBody,
        response: { 204: z.null().describe('given back'), ...errorResponses },
      },
    },
    async (req, reply) => {
      const host = await hostFor(store, req.principal, req.query.host);
      await store.releaseDownloadPermit(req.params.permit, host.name);
      return reply.code(204).send(null);
    },
  );
};
