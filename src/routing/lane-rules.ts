// Edge lane rules as operators write them (YAML/JSON): which requests a product sends into which
// lane. The zod schema names the field and the reason for every rejection.

import { z } from 'zod';
import { parseCidr } from './cidr.js';
import { nameProblem } from './context.js';
import { compileLinearRegex } from './linear-regex.js';
import type { TrustSource } from './trust-sources.js';
import { DEFAULT_TRUST, TRUST_SOURCES } from './trust-sources.js';

/** Regex sources are capped: they run on untrusted header values on every edge request. */
export const MAX_REGEX_LENGTH = 256;
/** A product's rules are evaluated in order per request, so their number is bounded. */
export const MAX_LANE_RULES = 1000;
const MAX_NAME_LENGTH = 256;
const MAX_EQUALS_LENGTH = 4096;

/** The match kinds; a rule has exactly one of these keys. */
export const LANE_MATCH_KINDS = ['header', 'cookie', 'query', 'cidr', 'percent'] as const;
export type LaneMatchKind = (typeof LANE_MATCH_KINDS)[number];

export type { TrustSource };
/**
 * Where a rule may take a header, cookie or query value (or a percent rule its sticky key) from:
 * - `trusted-hop` (the default): only from a client inside the proxy's `--trusted-hops` CIDRs
 *   (a gateway that sets the header after logging the user in); from anyone else the value is
 *   ignored, and a header is stripped before the request goes upstream;
 * - `signed`: from any client, but only a value signed with a proxy secret for this name
 *   (src/routing/signed-value.ts), so the issuer chose it, not the client;
 * - `any-client`: whatever any client sends. Client-chosen: anyone can put themselves in the lane.
 */
export { DEFAULT_TRUST, TRUST_SOURCES };

const trustSchema = z.enum(TRUST_SOURCES, {
  error: `trust is one of ${TRUST_SOURCES.join(', ')} (default ${DEFAULT_TRUST})`,
});

/** RFC 9110 token: header and cookie names. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** A required string whose type error says which field is missing rather than "received undefined". */
function text(what: string) {
  return z.string({
    error: (issue) =>
      issue.input === undefined ? `${what} is required` : `${what} must be a string`,
  });
}

/** A strict object whose unknown-key error lists the keys that are allowed. */
function strict<T extends z.core.$ZodLooseShape>(what: string, shape: T) {
  const allowed = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') {
        return `${what} has unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}; allowed: ${allowed}`;
      }
      if (issue.code === 'invalid_type') {
        return issue.input === undefined ? `${what} is required` : `${what} must be an object`;
      }
      return undefined;
    },
  });
}

function quote(value: string): string {
  return value.length > 64 ? `${JSON.stringify(value.slice(0, 64))}…` : JSON.stringify(value);
}

const laneNameSchema = text('lane').superRefine((lane, ctx) => {
  const problem = nameProblem(lane);
  if (problem !== null) ctx.addIssue({ code: 'custom', message: `lane ${quote(lane)} ${problem}` });
});

/** Header names are case-insensitive and Node lower-cases incoming ones, so rules are lower-cased. */
export const headerNameSchema = text('header name')
  .max(MAX_NAME_LENGTH, `a header name is at most ${MAX_NAME_LENGTH} characters`)
  .regex(TOKEN, "a header name is an HTTP token (letters, digits and !#$%&'*+-.^_`|~)")
  .toLowerCase()
  .refine(
    (name) => !name.startsWith('x-turnout-') && name !== 'baggage',
    'the edge strips x-turnout-* and baggage headers from outside requests before assigning lanes, so a rule on them would never match; use another header',
  );

/** Cookie names are case-sensitive (RFC 6265), so they are kept as written. */
export const cookieNameSchema = text('cookie name')
  .max(MAX_NAME_LENGTH, `a cookie name is at most ${MAX_NAME_LENGTH} characters`)
  .regex(TOKEN, "a cookie name is an HTTP token (letters, digits and !#$%&'*+-.^_`|~)");

/** Query parameter names are compared after percent-decoding, so any non-empty text is allowed. */
const queryNameSchema = text('query parameter name')
  .min(1, 'a query parameter name is not empty')
  .max(MAX_NAME_LENGTH, `a query parameter name is at most ${MAX_NAME_LENGTH} characters`);

/**
 * Compiled here, with the linear-time engine the proxy matches with, so a bad pattern (or one RE2
 * cannot run, such as a backreference) fails when the config is loaded, not on the first request.
 */
const regexSchema = text('regex')
  .min(1, 'regex is empty; to match any value that is present use "^"')
  .max(MAX_REGEX_LENGTH, `regex is longer than ${MAX_REGEX_LENGTH} characters`)
  .superRefine((source, ctx) => {
    try {
      compileLinearRegex(source);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
    }
  });

/** `{ name, equals }` or `{ name, regex }` for a header, cookie or query parameter. */
function valueMatchSchema(what: string, nameSchema: z.ZodType<string, string>) {
  return strict(`a ${what} match`, {
    name: nameSchema,
    trust: trustSchema.optional(),
    equals: text('equals')
      .max(MAX_EQUALS_LENGTH, `equals is at most ${MAX_EQUALS_LENGTH} characters`)
      .optional(),
    regex: regexSchema.optional(),
  }).superRefine((m, ctx) => {
    if ((m.equals === undefined) === (m.regex === undefined)) {
      ctx.addIssue({
        code: 'custom',
        message: `a ${what} match has exactly one of equals or regex`,
      });
    }
  });
}

const cidrSchema = text('cidr').superRefine((cidr, ctx) => {
  const parsed = parseCidr(cidr);
  if (!parsed.ok)
    ctx.addIssue({ code: 'custom', message: `cidr ${quote(cidr)}: ${parsed.reason}` });
});

/** Basis points: 12.34 % is 1234 of 10,000 buckets; a third decimal would be silently rounded. */
const percentSchema = z
  .number({
    error: (i) => (i.input === undefined ? 'percent is required' : 'percent must be a number'),
  })
  .min(0, 'percent is from 0 to 100')
  .max(100, 'percent is from 0 to 100')
  .refine((p) => Math.abs(p * 100 - Math.round(p * 100)) < 1e-6, 'percent has at most 2 decimals');

const percentKeySchema = strict('a percent key', {
  header: headerNameSchema.optional(),
  cookie: cookieNameSchema.optional(),
  trust: trustSchema.optional(),
}).superRefine((key, ctx) => {
  if ((key.header === undefined) === (key.cookie === undefined)) {
    ctx.addIssue({ code: 'custom', message: 'a percent key has exactly one of header or cookie' });
  }
});

/** One schema per match kind; the rule schema picks one by the key present. */
const RULE_SCHEMAS = {
  header: strict('a header rule', {
    lane: laneNameSchema,
    header: valueMatchSchema('header', headerNameSchema),
  }),
  cookie: strict('a cookie rule', {
    lane: laneNameSchema,
    cookie: valueMatchSchema('cookie', cookieNameSchema),
  }),
  query: strict('a query rule', {
    lane: laneNameSchema,
    query: valueMatchSchema('query', queryNameSchema),
  }),
  cidr: strict('a cidr rule', { lane: laneNameSchema, cidr: cidrSchema }),
  percent: strict('a percent rule', {
    lane: laneNameSchema,
    percent: percentSchema,
    key: percentKeySchema,
  }),
} as const;

type RuleSchema = (typeof RULE_SCHEMAS)[LaneMatchKind];

/** A validated rule: `lane` plus exactly one match (header, cookie, query, cidr or percent+key). */
export type LaneRule = z.output<RuleSchema>;
/** A rule as written, before header names are lower-cased. */
export type LaneRuleInput = z.input<RuleSchema>;
/** The match part of a rule (everything but `lane`). */
export type LaneMatch = LaneRule extends infer R
  ? R extends LaneRule
    ? Omit<R, 'lane'>
    : never
  : never;
export type ValueMatch = z.output<ReturnType<typeof valueMatchSchema>>;
export type PercentKey = z.output<typeof percentKeySchema>;

const KIND_LIST = LANE_MATCH_KINDS.join(', ');

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Dispatches on the match key present, then validates with that kind's strict schema. A plain
 * union would report every branch's errors for one typo; this reports the one that applies.
 */
export const laneRuleSchema = z
  .custom<LaneRuleInput>(() => true)
  .transform((input, ctx): LaneRule => {
    if (!isRecord(input)) {
      ctx.addIssue({
        code: 'custom',
        message: `a rule is an object with lane and one of ${KIND_LIST}`,
      });
      return z.NEVER;
    }
    const kinds = LANE_MATCH_KINDS.filter((k) => Object.hasOwn(input, k));
    const kind = kinds[0];
    if (kind === undefined || kinds.length > 1) {
      ctx.addIssue({
        code: 'custom',
        message:
          kind === undefined
            ? `a rule needs one match: ${KIND_LIST}`
            : `a rule has exactly one match, not ${kinds.join(' and ')}; write one rule per match`,
      });
      return z.NEVER;
    }
    const result = RULE_SCHEMAS[kind].safeParse(input);
    if (result.success) return result.data;
    for (const issue of result.error.issues) {
      ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
    }
    return z.NEVER;
  });

/** A product's rules in order; the first that matches a request assigns its lane. */
export const laneRulesSchema = z
  .array(laneRuleSchema, { error: 'rules must be a list' })
  .max(MAX_LANE_RULES, `at most ${MAX_LANE_RULES} rules`);
