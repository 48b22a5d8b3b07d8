// /v1/traffic: live proxy traffic per (product, lane, module, version) from the control plane's
// StatsWindow (src/release/stats-window.ts), for the dashboard and canary analysis. Stable traffic
// is lane `stable`. An empty query field is the same as an absent one (it matches everything).

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { TurnoutError } from '../../errors.js';
import type { StatsWindow, TrafficKey } from '../../release/stats-window.js';
import { errorResponses } from '../schemas.js';

export interface TrafficPluginOptions {
  window: StatsWindow | null;
}

const field = z
  .string()
  .max(256)
  .optional()
  .transform((s) => (s === '' ? undefined : s));
const filterQuery = z.strictObject({
  product: field,
  lane: field.describe('`stable` for traffic outside any lane'),
  module: field,
  version: field,
});
const summaryQuery = filterQuery.extend({
  windowMs: z.coerce
    .number()
    .int()
    .min(1000)
    .max(3_600_000)
    .optional()
    .describe('default and most: the window kept (60000)'),
});

const summarySchema = z.object({
  requests: z.number(),
  errors: z.number().describe('5xx answers and connection errors'),
  errorRate: z.number().describe('0..1; 0 without requests'),
  rps: z.number(),
  p50Ms: z.number().nullable(),
  p99Ms: z.number().nullable(),
});
const keySchema = z.object({
  product: z.string(),
  lane: z.string(),
  module: z.string(),
  version: z.string(),
});
const trafficAnswer = z.object({
  windowMs: z.number(),
  atMs: z.number(),
  total: summarySchema.describe('every key matching the filter, summed'),
  keys: z.array(z.object({ key: keySchema, summary: summarySchema })),
});
const seriesAnswer = z.object({
  bucketMs: z.number(),
  points: z.array(
    summarySchema.extend({
      atMs: z.number(),
      sampled: z
        .boolean()
        .describe('false: no proxy sample landed in this bucket (missing, not zero traffic)'),
    }),
  ),
});

function filterOf(q: Partial<Record<keyof TrafficKey, string | undefined>>): Partial<TrafficKey> {
  const out: Partial<TrafficKey> = {};
  for (const k of ['product', 'lane', 'module', 'version'] as const) {
    const v = q[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

function matches(key: TrafficKey, filter: Partial<TrafficKey>): boolean {
  return (Object.keys(filter) as (keyof TrafficKey)[]).every((k) => key[k] === filter[k]);
}

export const trafficPlugin: FastifyPluginAsyncZod<TrafficPluginOptions> = async (app, options) => {
  const need = (): StatsWindow => {
    if (options.window === null)
      throw new TurnoutError('not_found', 'this API server keeps no proxy traffic stats');
    return options.window;
  };

  app.get(
    '/traffic',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['traffic'],
        querystring: summaryQuery,
        response: { 200: trafficAnswer, ...errorResponses },
      },
    },
    async (req) => {
      const window = need();
      const filter = filterOf(req.query);
      const windowMs = Math.min(req.query.windowMs ?? window.windowMs, window.windowMs);
      const atMs = Date.now();
      return {
        windowMs,
        atMs,
        total: window.summary(filter, windowMs, atMs),
        keys: window
          .keys()
          .filter((key) => matches(key, filter))
          .map((key) => ({ key, summary: window.summary(key, windowMs, atMs) })),
      };
    },
  );

  app.get(
    '/traffic/series',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['traffic'],
        querystring: filterQuery,
        response: { 200: seriesAnswer, ...errorResponses },
      },
    },
    async (req) => {
      const window = need();
      return { bucketMs: window.bucketMs, points: window.series(filterOf(req.query), Date.now()) };
    },
  );
};
