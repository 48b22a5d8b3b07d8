// Schemas shared by the resource plugins: the error body, pagination, and the records the API
// answers with. Request bodies reuse the store's input schemas (src/store/model.ts), so the API and
// the store accept exactly the same things; records are described loosely (extra fields pass) so a
// field added to the store does not break responses before the API learns about it.

import { z } from 'zod';
import { MAX_LIMIT } from '../store/cursor.js';

export const errorBodySchema = z
  .object({
    error: z.object({
      code: z.string().describe('a code from the Turnout error table'),
      message: z.string(),
      field: z.string().optional().describe('the request field the error is about'),
    }),
  })
  .describe('Every error answer has this shape.');

/** Response schemas for errors, spread into each route's `response`. */
export const errorResponses = {
  '4xx': errorBodySchema,
  '5xx': errorBodySchema,
} as const;

export const pageQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(MAX_LIMIT).optional().describe('page size, 1–1000'),
  cursor: z.string().min(1).optional().describe('nextCursor from the previous page'),
});

export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item),
    nextCursor: z.string().nullable().describe('pass as cursor for the next page; null at the end'),
  });
}

const ts = z.string().describe('ISO 8601 UTC');
const stamped = { createdAt: ts, updatedAt: ts };

export const orgSchema = z.looseObject({ name: z.string(), createdAt: ts });

export const productSchema = z.looseObject({
  name: z.string(),
  org: z.string(),
  hosts: z.array(z.string()),
  entry: z.string(),
  retainTickets: z.number(),
  baseDtab: z.string(),
  ...stamped,
});

export const moduleSchema = z.looseObject({
  name: z.string(),
  org: z.string(),
  calls: z.array(z.string()),
  health: z.unknown(),
  run: z.unknown(),
  ...stamped,
});

export const versionSchema = z.looseObject({
  module: z.string(),
  version: z.string(),
  run: z.unknown(),
  artifact: z.unknown().optional(),
  createdAt: ts,
});

export const instanceSchema = z.looseObject({
  id: z.string(),
  module: z.string(),
  version: z.string(),
  host: z.string(),
  address: z.string(),
  state: z.string(),
  health: z.string(),
  weight: z.number(),
  leaseExpiresAt: ts.nullable(),
  serving: z
    .boolean()
    .describe(
      'whether proxies send it new requests now: ready, not unhealthy, lease valid, weight above 0',
    ),
  inFlight: z
    .number()
    .optional()
    .describe('requests the proxies have under way to it, at their last stats scrape'),
  ...stamped,
});

export const laneSchema = z.looseObject({
  product: z.string(),
  name: z.string(),
  overlay: z.string(),
  rules: z.array(z.unknown()),
  ...stamped,
});

// An object, not loose: Ticket is an interface (no index signature); unknown fields are dropped.
export const ticketSchema = z.object({
  id: z.number(),
  product: z.string(),
  state: z.string(),
  items: z.array(z.object({ module: z.string(), version: z.string() })),
  revertOf: z.number().nullable(),
  createdBy: z.string(),
  goal: z
    .string()
    .nullable()
    .describe('what an operator last asked for; the engine moves state towards it'),
  plan: z
    .unknown()
    .describe('rollout settings: replicas, surge, canary steps, analysis thresholds'),
  progress: z.unknown().describe("the engine's progress: level, canary step, analysis, message"),
  promotedSeq: z.number().nullable(),
  prereleaseSecret: z
    .string()
    .describe(
      'the value testers send in the pre-release header (plan.prereleaseHeader) to reach the ticket’s lane; random, rotate with POST /v1/tickets/{id}/rotate-prerelease',
    ),
  ...stamped,
});

export const ticketEventSchema = z.looseObject({
  ticketId: z.number(),
  seq: z.number(),
  type: z.string(),
  data: z.unknown(),
  actor: z.string(),
  at: ts,
});

export const auditEntrySchema = z.looseObject({
  id: z.number(),
  actor: z.string(),
  action: z.string(),
  target: z.string(),
  before: z.unknown(),
  after: z.unknown(),
  at: ts,
});

/** A path parameter naming a record; the store answers not_found for names that do not exist. */
export const keySchema = z.string().min(1).max(256);
