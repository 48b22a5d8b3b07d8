// Where the engine is with a ticket (its `progress` JSON): everything needed to resume after a
// restart lives here or in the store's other records, never only in memory.

import { z } from 'zod';

/** One metric's significance test in a verdict (analysis.ts): the numbers and the decision in words. */
export const metricTestSchema = z.strictObject({
  metric: z.enum(['errors', 'latency']),
  test: z.enum(['fisher-exact', 'two-proportion-z', 'binomial', 'mann-whitney-u']),
  /** Fisher and binomial: the lane's errors; z-test: z; Mann–Whitney: U. */
  statistic: z.number(),
  /** One-sided: the chance of a lane at least this much worse if it were like stable. */
  pValue: z.number(),
  /** Errors: lane rate − stable rate (0..1); latency: lane median − stable median (ms). */
  effect: z.number().nullable(),
  /** `not judged`: too few lane requests, or nothing to compare with. */
  decision: z.enum(['pass', 'fail', 'not judged']),
  /** E.g. `errors: Fisher's exact p=0.0003 < 0.01 and +4.0 points ≥ 1.0 → fail`. */
  reason: z.string(),
});

export const verdictSchema = z.strictObject({
  module: z.string(),
  version: z.string(),
  verdict: z.enum(['pass', 'fail', 'wait']),
  reason: z.string(),
  lane: z.strictObject({
    requests: z.number(),
    errorRate: z.number(),
    p99Ms: z.number().nullable(),
  }),
  stable: z.strictObject({
    requests: z.number(),
    errorRate: z.number(),
    p99Ms: z.number().nullable(),
  }),
  /** Absent on verdicts stored before the tests (issue 12). */
  tests: z.array(metricTestSchema).optional(),
});

export const progressSchema = z.strictObject({
  /** When the current dependency level began deploying (its ready timeout counts from here). */
  levelStartedAt: z.number().optional(),
  /** The dependency level being deployed (0 = the modules that call none of the others). */
  level: z.number().optional(),
  /** Index into plan.canary.steps of the step in force. */
  canaryStep: z.number().optional(),
  stepStartedAt: z.number().optional(),
  /** The highest step index an operator approved (manual canaries). */
  approvedStep: z.number().optional(),
  /** Set when the last canary step has been held and passed: ready to promote. */
  canaryDone: z.boolean().optional(),
  analysis: z.array(verdictSchema).optional(),
  /** Why the ticket failed or aborted, or what it waits for. */
  message: z.string().optional(),
  /** Rolling (rolling.ts): the batch in force, 1-based, of `batches`. */
  batch: z.number().optional(),
  batches: z.number().optional(),
  /** Rolling: when the batch began (its ready timeout counts from here) and when it was ready. */
  batchStartedAt: z.number().optional(),
  batchReadyAt: z.number().optional(),
  /** Rolling, last batch: when every request went to the lane (the last old ones drain after). */
  allInAt: z.number().optional(),
  /** Rolling: per changed module, the version replaced and how many of each are ready. */
  rollout: z
    .array(
      z.strictObject({
        module: z.string(),
        version: z.string(),
        from: z.string().nullable(),
        old: z.number(),
        new: z.number(),
      }),
    )
    .optional(),
  /** Set once reclaim has run after this ticket's promotion. */
  reclaimed: z.boolean().optional(),
});

export type Progress = z.output<typeof progressSchema>;
export type Verdict = z.output<typeof verdictSchema>;
export type MetricTest = z.output<typeof metricTestSchema>;

export function readProgress(json: unknown): Progress {
  const parsed = progressSchema.safeParse(json ?? {});
  return parsed.success ? parsed.data : {};
}

/** Progress without the deploy's level and message: a deploy finished, or a retry starts over. */
export function stripDeploy(p: Progress): Progress {
  const { level: _l, levelStartedAt: _s, message: _m, ...rest } = p;
  return rest;
}
