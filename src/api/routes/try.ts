// POST /v1/products/:product/try: "try it" — one request to the product through a lane, sent by the
// control plane through the real edge with a short-lived signed override pinning the lane's
// versions (src/control/try-send.ts), answered with the status, headers, body and which version of
// each module served it. Audited (`product.try` on `lane/<product>/<lane>`, with the token's name).
//
// Releaser-only: the request comes from the control plane's own address, which an edge may trust
// as a hop (a local stack trusts loopback), and a try can POST or DELETE against live services on
// versions not yet released — more than a viewer, who may only read, should be able to cause.

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { TryAnswer } from '../../control/try-send.js';
import {
  reservedHeader,
  sendTry,
  TRY_DEFAULT_TIMEOUT_MS,
  TRY_MAX_BODY_BYTES,
  TRY_METHODS,
} from '../../control/try-send.js';
import { TurnoutError } from '../../errors.js';
import type { Store } from '../../store/store.js';
import { actorOf } from '../auth.js';
import { errorResponses, keySchema } from '../schemas.js';
import { found } from './common.js';

export interface TryPluginOptions {
  store: Store;
  /** The edge's base URL (`up` and `demo` know theirs); null: tries answer not_found. */
  edgeUrl: () => string | null;
  /** The secret the edge accepts overrides with; null: tries answer not_found. */
  overrideSecret: string | null;
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const MAX_HEADERS = 64;

const params = z.object({ product: keySchema });
const body = z.strictObject({
  lane: keySchema.describe('the lane to send the request through, e.g. t-12'),
  method: z.enum(TRY_METHODS).default('GET'),
  path: z
    .string()
    .max(8192)
    .regex(/^\/[\x21-\x7e]*$/, 'must be a request path starting with / (no spaces)')
    .default('/')
    .describe('origin-form path, query optional: /checkout?beta=1'),
  headers: z
    .record(
      z.string(),
      z
        .string()
        .max(8192)
        .regex(/^[^\r\n\0]*$/, 'has a line break or NUL'),
    )
    .default({})
    .superRefine((headers, ctx) => {
      const names = Object.keys(headers);
      if (names.length > MAX_HEADERS)
        ctx.addIssue({ code: 'custom', message: `more than ${MAX_HEADERS} headers` });
      for (const name of names) {
        const why = HEADER_NAME.test(name) ? reservedHeader(name) : 'is not a valid header name';
        if (why !== null) ctx.addIssue({ code: 'custom', path: [name], message: why });
      }
    })
    .describe('request headers by name'),
  body: z
    .string()
    .refine((b) => Buffer.byteLength(b, 'utf8') <= TRY_MAX_BODY_BYTES, {
      message: `is over ${TRY_MAX_BODY_BYTES} bytes`,
    })
    .optional()
    .describe('the request body as text (not sent with GET or HEAD)'),
  timeoutMs: z.int().min(100).max(30_000).default(TRY_DEFAULT_TIMEOUT_MS),
});

const versions = z.record(z.string(), z.string());
const answer = z.object({
  product: z.string(),
  lane: z.string(),
  method: z.string(),
  path: z.string(),
  status: z.number(),
  headers: z.record(z.string(), z.string()),
  body: z.string(),
  bodyTruncated: z.boolean(),
  durationMs: z.number(),
  routed: versions.describe("module → version the lane's overlay sends it to"),
  served: versions.describe('module → version the answer says served it, along the chain'),
  servedLane: z.string().nullable().describe('the lane the entry service says it saw'),
});

export const tryPlugin: FastifyPluginAsyncZod<TryPluginOptions> = async (app, options) => {
  app.post(
    '/products/:product/try',
    {
      config: { role: 'releaser' },
      schema: {
        tags: ['lanes'],
        description:
          'Sends one request to the product through a lane via the edge, with a signed override.',
        params,
        body,
        response: { 200: answer, ...errorResponses },
      },
    },
    async (req) => {
      const { product } = req.params;
      const b = req.body;
      const p = found(await options.store.getProduct(product), 'product', product);
      const lane = found(
        await options.store.getLane(product, b.lane),
        'lane',
        `${product}/${b.lane}`,
      );
      const edgeUrl = options.edgeUrl();
      if (edgeUrl === null)
        throw new TurnoutError('not_found', 'this control plane does not know its edge’s address');
      if (options.overrideSecret === null)
        throw new TurnoutError(
          'not_found',
          'this control plane has no override secret to sign with',
        );
      const host = p.hosts[0];
      if (host === undefined)
        throw new TurnoutError(
          'conflict',
          `product ${product} has no host: the edge serves it nowhere`,
        );
      let sent: TryAnswer | null = null;
      try {
        sent = await sendTry(
          { edgeUrl, host, overlay: lane.overlay, secret: options.overrideSecret },
          {
            method: b.method,
            path: b.path,
            headers: b.headers,
            body: b.body,
            timeoutMs: b.timeoutMs,
          },
        );
        return { product, lane: b.lane, method: b.method, path: b.path, ...sent };
      } finally {
        // Every try is audited, answered or not: who sent what where, and what came back.
        await options.store.appendAudit({
          actor: actorOf(req),
          action: 'product.try',
          target: `lane/${product}/${b.lane}`,
          after: {
            method: b.method,
            path: b.path,
            headers: Object.keys(b.headers),
            status: sent?.status ?? null,
            served: sent?.served ?? {},
          },
        });
      }
    },
  );
};
