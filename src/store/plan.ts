// A ticket's rollout settings (its `plan`), as operators write them on `release create|canary`.
// Stored as JSON on the ticket; every field has a safe default, so `{}` is a valid plan.
// It lives with the store, below the release engine, because the store reads it too: a ticket
// event's notification is decided in the appending transaction (notify-events.ts).

import { z } from 'zod';
import type { LaneMatch } from '../routing/lane-rules.js';
import {
  cookieNameSchema,
  headerNameSchema,
  laneRuleSchema,
  TRUST_SOURCES,
} from '../routing/lane-rules.js';

const int = (min: number, max: number) => z.int().min(min).max(max);

const percentStepSchema = z
  .number()
  .gt(0, 'a canary step is a share above 0 %')
  .max(100, 'a canary step is at most 100 %')
  .refine((p) => Math.abs(p * 100 - Math.round(p * 100)) < 1e-6, 'at most 2 decimals');

/** A retired threshold (issue 12): refused on a new plan, with what replaces it. */
const retired = (instead: string) =>
  z
    .never({
      error: `retired: analysis uses significance tests now; ${instead} (see docs/releasing.md)`,
    })
    .optional();

export const analysisSchema = z.strictObject({
  /**
   * How sure a test must be that the lane is worse before it fails (0.5..0.9999): a difference
   * fails only when its one-sided p-value is below 1 − confidence.
   */
  confidence: z.number().min(0.5).max(0.9999).default(0.99),
  /**
   * Effect floor on errors (0..1): the lane fails only when its error rate is also at least this
   * much above stable's, so a significant but negligible difference (0.1 % on 100,000 requests)
   * passes. Per request, 1 point.
   */
  minErrorRateIncrease: z.number().min(0).max(1).default(0.01),
  /**
   * Effect floors on latency: the lane fails only when its median is at least this many ms above
   * stable's ... (100 ms: on a busy 2-core machine a healthy lane's p99 was seen 50–120 ms above
   * stable's, and its median moves less than its tail; a fault of a few hundred ms is well above).
   */
  minLatencyIncreaseMs: z.number().min(0).max(60_000).default(100),
  /** ... and at least this many times stable's (so 1.2 s against 1.1 s is not a failure). */
  minLatencyRatio: z.number().min(1).max(100).default(1.5),
  /** Fewer lane requests than this in the window: no verdict yet, unless the errors already fail. */
  minRequests: int(1, 1_000_000).default(20),
  /**
   * Latency is judged only on at least this many lane requests. 50: Mann–Whitney compares whole
   * distributions and the floor is on the median, which one slow request (a GC pause, a busy
   * core) cannot move — unlike the p99 the old rule judged, which needed 200.
   */
  minLatencyRequests: int(1, 1_000_000).default(50),
  /** How far back the figures reach (never before the current step began). */
  windowMs: int(1000, 3_600_000).default(30_000),
  maxErrorRate: retired('use confidence and minErrorRateIncrease'),
  maxErrorRateIncrease: retired('use minErrorRateIncrease'),
  maxP99Ratio: retired('use minLatencyRatio'),
  p99SlackMs: retired('use minLatencyIncreaseMs'),
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
    // Trust as in a lane rule's key (trusted-hop when not said; any-client must be said). Names
    // as a lane rule's: the canary's lane rule is made of this key, and a name that rule refuses
    // would stop the engine at the canary's start rather than here.
    key: z
      .strictObject({ header: headerNameSchema, trust: keyTrust })
      .or(z.strictObject({ cookie: cookieNameSchema, trust: keyTrust }))
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

/** `maxUnavailable`: a count of instances, or a share of replicas such as `25%`. */
const maxUnavailableSchema = z.union([
  int(1, 50),
  z
    .string()
    .regex(/^(100|[1-9][0-9]?)%$/, 'a count such as 2, or a share of replicas from 1% to 100%'),
]);

export const STRATEGIES = ['blue-green', 'rolling'] as const;

export const planSchema = z
  .strictObject({
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
    /**
     * blue-green: a second set of instances, rollback is a routing switch. rolling: the stable
     * version's instances are replaced in batches on the capacity that exists (rolling.ts).
     */
    strategy: z
      .enum(STRATEGIES, { error: `a strategy is one of ${STRATEGIES.join(', ')}` })
      .default('blue-green'),
    /** Rolling: how many old instances per module are out of service at once (at least 1). */
    maxUnavailable: maxUnavailableSchema.default('25%'),
  })
  .superRefine((p, ctx) => {
    if (p.strategy !== 'rolling') return;
    // Replacing the one instance of a version would leave nothing to serve while it starts.
    if (p.replicas < 2) {
      ctx.addIssue({
        code: 'custom',
        path: ['replicas'],
        message: `a rolling release needs at least 2 replicas (${p.replicas} would leave nothing serving while an instance is replaced); use strategy blue-green`,
      });
      return;
    }
    const n = unavailableCount(p.maxUnavailable, p.replicas);
    if (n >= p.replicas)
      ctx.addIssue({
        code: 'custom',
        path: ['maxUnavailable'],
        message: `${p.maxUnavailable} of ${p.replicas} replicas would take every instance out of service at once; at most ${p.replicas - 1}`,
      });
  });

/** How many instances `maxUnavailable` is for `replicas`: a share rounds down, at least 1. */
export function unavailableCount(maxUnavailable: number | string, replicas: number): number {
  if (typeof maxUnavailable === 'number') return maxUnavailable;
  return Math.max(1, Math.floor((replicas * Number.parseInt(maxUnavailable, 10)) / 100));
}

export type ReleasePlan = z.output<typeof planSchema>;
export type ReleasePlanInput = z.input<typeof planSchema>;
export type CanaryPlan = z.output<typeof canarySchema>;
export type AnalysisPlan = z.output<typeof analysisSchema>;

/**
 * A stored plan. Tickets stored before issue 12 carry the fixed thresholds (maxErrorRate,
 * maxErrorRateIncrease, maxP99Ratio, p99SlackMs): their increase becomes the error effect floor,
 * the others are dropped (the tests replace them), and the rest of the plan — its canary steps —
 * is kept. A plan the schema still refuses falls back to defaults rather than stall.
 */
export function readPlan(json: unknown): ReleasePlan {
  const parsed = planSchema.safeParse(upgradePlan(json ?? {}));
  return parsed.success ? parsed.data : planSchema.parse({});
}

/** A stored plan with the pre-issue-12 analysis keys mapped onto today's (anything else as is). */
export function upgradePlan(json: unknown): unknown {
  if (!isObject(json) || !isObject(json.analysis)) return json;
  const { maxErrorRate, maxErrorRateIncrease, maxP99Ratio, p99SlackMs, ...analysis } =
    json.analysis;
  if (maxErrorRateIncrease !== undefined && analysis.minErrorRateIncrease === undefined)
    analysis.minErrorRateIncrease = maxErrorRateIncrease;
  return { ...json, analysis };
}

const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);
