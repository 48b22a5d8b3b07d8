// A ticket's rollout settings (its `plan`), as operators write them on `release create|canary`.
// Stored as JSON on the ticket; every field has a safe default, so `{}` is a valid plan.

import { z } from 'zod';
import type { LaneMatch } from '../routing/lane-rules.js';
import { laneRuleSchema, TRUST_SOURCES } from '../routing/lane-rules.js';

const int = (min: number, max: number) => z.int().min(min).max(max);

const percentStepSchema = z
  .number()
  .gt(0, 'a canary step is a share above 0 %')
  .max(100, 'a canary step is at most 100 %')
  .refine((p) => Math.abs(p * 100 - Math.round(p * 100)) < 1e-6, 'at most 2 decimals');

export const analysisSchema = z.strictObject({
  /** The lane fails when its error rate is above this (0..1) ... */
  maxErrorRate: z.number().min(0).max(1).default(0.05),
  /** ... or above stable's by more than this (0..1). */
  maxErrorRateIncrease: z.number().min(0).max(1).default(0.02),
  /** The lane fails when its p99 is above stable's × this ... */
  maxP99Ratio: z.number().min(1).max(100).default(3),
  /**
   * ... and above stable's by more than this (so 1 ms vs 2 ms is not a failure). 250 ms: on a
   * busy 2-core machine a healthy lane's p99 — new processes still warming up, interpolated in
   * wide histogram buckets — was seen 50–120 ms above stable's; a real latency fault of a few
   * hundred ms is still caught, and a ticket's plan can tighten both figures.
   */
  p99SlackMs: z.number().min(0).max(60_000).default(250),
  /** Fewer lane requests than this in the window: no verdict yet. */
  minRequests: int(1, 1_000_000).default(20),
  /**
   * Latency is judged only on at least this many lane requests: the p99 of 20 requests is their
   * maximum, and one slow request (a GC pause, a busy core) would abort a healthy canary.
   */
  minLatencyRequests: int(1, 1_000_000).default(200),
  /** How far back the figures reach (never before the current step began). */
  windowMs: int(1000, 3_600_000).default(30_000),
});

const keyTrust = z.enum(TRUST_SOURCES).optional();

/** A canary segment is a lane rule without its lane (the ticket's lane is filled in). */
const segmentSchema = z
  .record(z.string(), z.unknown(), {
    error: 'a segment is an object such as {header: {name, equals}}',
  })
  .transform((input, ctx) => {
    if (Object.hasOwn(input, 'lane') || Object.hasOwn(input, 'percent')) {
      ctx.addIssue({
        code: 'custom',
        message: 'a segment names no lane and no percent (the canary steps set the share)',
      });
      return z.NEVER;
    }
    const parsed = laneRuleSchema.safeParse({ ...input, lane: 'segment' });
    if (!parsed.success) {
      for (const issue of parsed.error.issues)
        ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
      return z.NEVER;
    }
    const { lane: _lane, ...match } = parsed.data;
    return match as LaneMatch;
  });

export const canarySchema = z
  .strictObject({
    /** Traffic shares in %, strictly increasing. */
    steps: z.array(percentStepSchema).min(1, 'a canary has at least one step').max(20),
    /** How long each step is held before the next; null: each step waits for `approve`. */
    pauseMs: int(0, 7 * 24 * 3_600_000)
      .nullable()
      .default(null),
    /** Requests matching these go to the lane at every step (e.g. internal users first). */
    segments: z.array(segmentSchema).max(20).default([]),
    /** The user key the share is hashed on, so a user stays in (or out of) the lane. */
    // Trust as in a lane rule's key (trusted-hop when not said; any-client must be said).
    key: z
      .strictObject({ header: z.string().min(1).max(256), trust: keyTrust })
      .or(z.strictObject({ cookie: z.string().min(1).max(256), trust: keyTrust }))
      .default({ header: 'x-user-id' }),
  })
  .superRefine((c, ctx) => {
    for (let i = 1; i < c.steps.length; i++) {
      if ((c.steps[i] ?? 0) <= (c.steps[i - 1] ?? 0)) {
        ctx.addIssue({
          code: 'custom',
          path: ['steps', i],
          message: `canary steps increase: ${c.steps[i]} follows ${c.steps[i - 1]}`,
        });
      }
    }
  });

export const planSchema = z.strictObject({
  /** Instances per module version. */
  replicas: int(1, 50).default(1),
  /** New instances started at once within one dependency level (the batch size). */
  surge: int(1, 50).default(2),
  /** A version not ready this long after its level began fails the deploy. */
  readyTimeoutMs: int(1000, 3_600_000).default(60_000),
  /** The header testers set to reach the pre-release (value: the lane name). */
  prereleaseHeader: z
    .string()
    .regex(/^[a-z0-9-]{1,64}$/, 'a header name in lower case')
    .refine((h) => !h.startsWith('x-turnout-') && h !== 'baggage', 'the edge strips this header')
    .default('x-prerelease'),
  analysis: analysisSchema.prefault({}),
  canary: canarySchema.nullable().default(null),
});

export type ReleasePlan = z.output<typeof planSchema>;
export type ReleasePlanInput = z.input<typeof planSchema>;
export type CanaryPlan = z.output<typeof canarySchema>;
export type AnalysisPlan = z.output<typeof analysisSchema>;

/** A stored plan; one the schema no longer accepts falls back to defaults rather than stall. */
export function readPlan(json: unknown): ReleasePlan {
  const parsed = planSchema.safeParse(json ?? {});
  return parsed.success ? parsed.data : planSchema.parse({});
}
