// The control plane's records and the zod schemas that validate what callers send. Records are the
// schemas' outputs plus what the store adds (timestamps, ids), so a field is declared exactly once.
// Names use the routing core's rule (they end up in dtab paths, baggage and metric labels).

import { z } from 'zod';
import { versionLabelSchema } from '../config/snapshot.js';
import { nameProblem } from '../routing/context.js';
import { laneRulesSchema } from '../routing/lane-rules.js';
import { parseDtab } from '../routing/parser.js';
import { quote } from '../safe-text.js';
import { labelsSchema } from './host-model.js';
import { runOverrideSchema, runSchema } from './run-spec.js';

export type { RunOverride, RunSpec } from './run-spec.js';

/** A string whose type error says "is required" when absent rather than zod's "received undefined". */
function text(mustBe: string) {
  return z.string({ error: (i) => (i.input === undefined ? 'is required' : mustBe) });
}

export function nameSchema(what: string) {
  return text(`${what} name must be a string`).superRefine((s, ctx) => {
    const problem = nameProblem(s);
    if (problem !== null)
      ctx.addIssue({ code: 'custom', message: `${what} ${quote(s)} ${problem}` });
  });
}

/** Dtab text is kept as written (for humans) but must parse, so the proxy never gets a bad one. */
export const dtabTextSchema = text('dtab must be a string').superRefine((t, ctx) => {
  try {
    parseDtab(t);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `invalid dtab: ${(error as Error).message}` });
  }
});

/** Same rule as the proxy snapshot's hosts, so whatever the store accepts also compiles. */
const hostSchema = z
  .string()
  .regex(
    /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?(:\d{1,5})?$/,
    'a host is a lower-case DNS name, optionally :port',
  );

const addressSchema = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'an address is host:port')
  .refine((a) => Number(a.slice(a.lastIndexOf(':') + 1)) <= 65535, 'port out of range');

const int = (min: number, max: number) => z.int().min(min).max(max);
/** Normalized to toISOString()'s form so that stored timestamps compare correctly as text. */
export const timestampSchema = z.iso
  .datetime({ offset: false, error: 'a timestamp is ISO 8601 UTC' })
  .transform((s) => new Date(s).toISOString());

export const orgInputSchema = z.strictObject({ name: nameSchema('org') });

export const productInputSchema = z.strictObject({
  name: nameSchema('product'),
  org: nameSchema('org'),
  hosts: z.array(hostSchema).max(100).default([]),
  entry: nameSchema('module'),
  /** N of the reclaim rule: versions of the last N promoted tickets keep their instances. */
  retainTickets: int(0, 1000).default(5),
  baseDtab: dtabTextSchema.default(''),
});

export const healthSchema = z.strictObject({
  path: z.string().startsWith('/', 'a health path starts with /').max(2048).default('/healthz'),
  intervalMs: int(100, 3_600_000).default(5000),
  healthyThreshold: int(1, 100).default(1),
  unhealthyThreshold: int(1, 100).default(3),
});

/**
 * Where a module's instances may run in a fleet: only on hosts carrying every one of `labels`
 * (src/release/placement.ts). Null: any ready host.
 */
export const placementSchema = z
  .strictObject({
    labels: labelsSchema.refine(
      (l) => Object.keys(l).length > 0,
      'name at least one label (or leave placement out)',
    ),
  })
  .nullable();

export const moduleInputSchema = z.strictObject({
  name: nameSchema('module'),
  org: nameSchema('org'),
  calls: z.array(nameSchema('module')).max(1000).default([]),
  health: healthSchema.prefault({}),
  run: runSchema,
  placement: placementSchema.default(null),
});

/** An artifact's identity: the sha256 of its bytes, 64 lower-case hex digits. */
export const sha256Schema = z
  .string({ error: (i) => (i.input === undefined ? 'is required' : 'a sha256 must be a string') })
  .regex(/^[0-9a-f]{64}$/, 'a sha256 is 64 lower-case hex digits');

const artifactSizeSchema = z.int().min(0).max(Number.MAX_SAFE_INTEGER);

/**
 * What a version runs (docs/artifacts.md): a gzip tarball pushed to this control plane's artifact
 * store (sha256 + size), or one agents fetch from `url` and check against sha256. Null: a command
 * already on the host (today's behaviour, for local development).
 */
export const artifactRefSchema = z
  .strictObject({
    sha256: sha256Schema,
    size: artifactSizeSchema.nullable().optional(),
    url: z
      .url({ protocol: /^https?$/, error: 'an artifact url is http:// or https://' })
      .max(2048)
      .nullable()
      .optional(),
  })
  // One object rather than a union, so that an error names its field (artifact.sha256), not the
  // whole union; the output is one of the two shapes.
  .superRefine((a, ctx) => {
    if ((a.url ?? null) === null && (a.size ?? null) === null)
      ctx.addIssue({
        code: 'custom',
        path: ['size'],
        message: 'is required for a pushed artifact (give url for one fetched from elsewhere)',
      });
  })
  .transform(
    (a): ArtifactRef =>
      (a.url ?? null) === null
        ? { sha256: a.sha256, size: a.size as number }
        : { url: a.url as string, sha256: a.sha256, size: a.size ?? null },
  )
  .nullable();

/** A pushed artifact (in this control plane's store) or one agents fetch from its url. */
export type ArtifactRef =
  | { sha256: string; size: number }
  | { url: string; sha256: string; size: number | null };

export const versionInputSchema = z.strictObject({
  module: nameSchema('module'),
  version: versionLabelSchema,
  run: runOverrideSchema.nullable().default(null),
  artifact: artifactRefSchema.default(null),
});

export const INSTANCE_STATES = ['starting', 'ready', 'draining', 'stopped'] as const;
export const HEALTH_STATES = ['unknown', 'healthy', 'unhealthy'] as const;

const instanceFields = {
  host: hostSchema,
  address: addressSchema,
  state: z.enum(INSTANCE_STATES).default('starting'),
  health: z.enum(HEALTH_STATES).default('unknown'),
  weight: z.number().min(0).max(1000).default(1),
  leaseExpiresAt: timestampSchema.nullable().default(null),
};

export const instanceInputSchema = z.strictObject({
  /** Chosen by the runtime that registers it (a pod name, agent-host-pid); a UUID when absent. */
  id: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/, 'an instance id is 1–128 of A-Z a-z 0-9 _ . : -')
    .optional(),
  module: nameSchema('module'),
  version: versionLabelSchema,
  ...instanceFields,
});

export const instancePatchSchema = z
  .strictObject({
    address: instanceFields.address,
    state: z.enum(INSTANCE_STATES),
    health: z.enum(HEALTH_STATES),
    weight: instanceFields.weight,
    leaseExpiresAt: timestampSchema.nullable(),
  })
  .partial();

export const laneInputSchema = z.strictObject({
  product: nameSchema('product'),
  name: nameSchema('lane'),
  overlay: dtabTextSchema.default(''),
  rules: laneRulesSchema.default([]),
});

/** The store checks only that a state is one of these; the release engine owns the transitions. */
export const TICKET_STATES = [
  'open',
  'deploying',
  'deployed',
  'prerelease',
  'canary',
  'promoted',
  'aborted',
  'failed',
] as const;

/** What an operator last asked of a ticket; the engine moves `state` towards it. */
export const TICKET_GOALS = ['deployed', 'prerelease', 'canary', 'promoted', 'aborted'] as const;

const ticketItemSchema = z.strictObject({
  module: nameSchema('module'),
  version: versionLabelSchema,
});
const ticketItemsSchema = z.array(ticketItemSchema).min(1, 'a ticket has at least one item');

export const ticketInputSchema = z.strictObject({
  product: nameSchema('product'),
  items: ticketItemsSchema,
  /** The ticket this one reverts (a rollback is a new ticket, never a rewrite). */
  revertOf: z.int().positive().nullable().default(null),
  goal: z.enum(TICKET_GOALS).nullable().default(null),
  plan: z.json().default({}),
});

/**
 * `plan` (rollout settings) and `progress` (where the engine is) are the release engine's JSON,
 * validated by src/release/; the store keeps them as they are.
 */
export const ticketPatchSchema = z
  .strictObject({
    state: z.enum(TICKET_STATES),
    items: ticketItemsSchema,
    goal: z.enum(TICKET_GOALS).nullable(),
    plan: z.json(),
    progress: z.json(),
  })
  .partial();

export const ticketEventInputSchema = z.strictObject({
  type: z.string().regex(/^[a-z][a-z0-9_.-]{0,63}$/, 'an event type is [a-z][a-z0-9_.-]{0,63}'),
  data: z.json().default(null),
});

const actorSchema = z.string().min(1, 'actor is empty').max(256);
export const auditInputSchema = z.strictObject({
  actor: actorSchema,
  action: z.string().regex(/^[a-z][a-z0-9_.-]{0,63}$/, 'an action is [a-z][a-z0-9_.-]{0,63}'),
  target: z.string().min(1).max(512),
  before: z.json().default(null),
  after: z.json().default(null),
});
export { actorSchema };

type Out<S extends z.ZodType> = z.output<S>;
type Stamped = { createdAt: string; updatedAt: string };
export type Json = z.output<ReturnType<typeof z.json>>;
export type Health = Out<typeof healthSchema>;
export type ModulePlacement = Out<typeof placementSchema>;
export type InstanceState = (typeof INSTANCE_STATES)[number];
export type HealthState = (typeof HEALTH_STATES)[number];
export type TicketState = (typeof TICKET_STATES)[number];
export type TicketGoal = (typeof TICKET_GOALS)[number];
export type TicketItem = Out<typeof ticketItemSchema>;

export type Org = Out<typeof orgInputSchema> & { createdAt: string };
export type Product = Out<typeof productInputSchema> & Stamped;
export type Module = Out<typeof moduleInputSchema> & Stamped;
export type Version = Out<typeof versionInputSchema> & { createdAt: string };
export type Instance = Omit<Out<typeof instanceInputSchema>, 'id'> & { id: string } & Stamped;
export type Lane = Out<typeof laneInputSchema> & Stamped;
export interface Ticket extends Stamped {
  id: number;
  product: string;
  state: TicketState;
  items: TicketItem[];
  revertOf: number | null;
  createdBy: string;
  goal: TicketGoal | null;
  plan: Json;
  progress: Json;
  /** The order of promotions across the store (set when the ticket becomes promoted), or null. */
  promotedSeq: number | null;
  /**
   * The pre-release header value that puts a request into the ticket's lane: random, shown to
   * whoever may read the ticket, replaced by `rotatePrereleaseSecret`.
   */
  prereleaseSecret: string;
}
export type TicketEvent = Out<typeof ticketEventInputSchema> & {
  ticketId: number;
  seq: number;
  actor: string;
  at: string;
};
export type AuditEntry = Out<typeof auditInputSchema> & { id: number; at: string };

export type OrgInput = z.input<typeof orgInputSchema>;
export type ProductInput = z.input<typeof productInputSchema>;
export type ModuleInput = z.input<typeof moduleInputSchema>;
export type VersionInput = z.input<typeof versionInputSchema>;
export type InstanceInput = z.input<typeof instanceInputSchema>;
export type InstancePatch = z.input<typeof instancePatchSchema>;
export type LaneInput = z.input<typeof laneInputSchema>;
export type TicketInput = z.input<typeof ticketInputSchema>;
export type TicketPatch = z.input<typeof ticketPatchSchema>;
export type TicketEventInput = z.input<typeof ticketEventInputSchema>;
export type AuditInput = z.input<typeof auditInputSchema>;
