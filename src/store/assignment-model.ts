// Assignments: the control plane's wish that one instance run on one host (docs/fleet-protocol.md).
// The release engine (through FleetRuntime) writes the wish — create, desired run/stop, delete —
// and each host's agent follows its own and reports how it goes (status). The instance row that
// routing reads stays separate; the agent's health reaches it only through the report route.

import { z } from 'zod';
import { versionLabelSchema } from '../config/snapshot.js';
import { hostNameSchema } from './host-model.js';
import { nameSchema, timestampSchema } from './model.js';
import { processRunSchema } from './run-spec.js';

export const ASSIGNMENT_PHASES = ['pending', 'running', 'failed', 'stopped'] as const;
export type AssignmentPhase = (typeof ASSIGNMENT_PHASES)[number];
export const ASSIGNMENT_DESIRED = ['run', 'stop'] as const;
export type AssignmentDesired = (typeof ASSIGNMENT_DESIRED)[number];

/** Most log lines a status carries, and the longest line: a report stays small. */
export const LOG_TAIL_LINES = 20;
export const LOG_LINE_CHARS = 300;

/** The instance id's rule (model.ts instanceInputSchema): an assignment's id IS the instance id. */
export const assignmentIdSchema = z
  .string({ error: (i) => (i.input === undefined ? 'is required' : 'an id must be a string') })
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/, 'an instance id is 1–128 of A-Z a-z 0-9 _ . : -');

/** What the agent probes: the module's health path and interval. */
export const assignmentHealthSchema = z.strictObject({
  path: z.string().startsWith('/', 'a health path starts with /').max(2048),
  intervalMs: z.int().min(100).max(3_600_000),
});

export const SHA256_RE = /^[0-9a-f]{64}$/;
const sha256Schema = z.string().regex(SHA256_RE, 'a sha256 is 64 lowercase hex digits');

/**
 * What the agent downloads before starting (issue 14, migration 0009): the version's artifact.
 * url null: from this control plane's artifact store (GET /v1/artifacts/:sha256).
 */
export const assignmentArtifactSchema = z.strictObject({
  sha256: sha256Schema,
  size: z.int().min(0).nullable().default(null),
  url: z
    .string()
    .regex(/^https?:\/\/\S+$/, 'an artifact url is http:// or https://')
    .max(2048)
    .nullable()
    .default(null),
});

export const assignmentInputSchema = z.strictObject({
  id: assignmentIdSchema,
  host: hostNameSchema,
  module: nameSchema('module'),
  version: versionLabelSchema,
  /** The process to run: the module's run spec with the version's overrides applied. */
  run: processRunSchema,
  health: assignmentHealthSchema.nullable().default(null),
  /** null: a command on the host (no artifact), today's behaviour. */
  artifact: assignmentArtifactSchema.nullable().default(null),
});

const addressSchema = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'an address is host:port')
  .refine((a) => Number(a.slice(a.lastIndexOf(':') + 1)) <= 65535, 'port out of range');

const lastExitSchema = z.strictObject({
  code: z.int().nullable(),
  signal: z
    .string()
    .regex(/^[A-Z0-9]{1,16}$/, 'a signal is a name like SIGTERM')
    .nullable(),
  at: timestampSchema,
});

/** Where an instance start is (the agent's steps, issue 14); null: not said (an older agent). */
export const ASSIGNMENT_STEPS = [
  'check',
  'download',
  'unpack',
  'start',
  'health',
  'routing',
] as const;
export type AssignmentStep = (typeof ASSIGNMENT_STEPS)[number];

/** An artifact download's progress: waiting for a permit (position in line), bytes, verified. */
export const downloadProgressSchema = z.strictObject({
  state: z.enum(['queued', 'downloading', 'verified']),
  bytes: z.int().min(0),
  total: z.int().min(0).nullable().default(null),
  position: z.int().min(1).nullable().default(null),
});

/** What an agent reports (AssignmentStatus without reportedAt, which the store stamps). */
export const assignmentReportSchema = z.strictObject({
  phase: z.enum(ASSIGNMENT_PHASES),
  address: addressSchema.nullable().default(null),
  pid: z
    .int()
    .min(1)
    .max(2 ** 31)
    .nullable()
    .default(null),
  startedAt: timestampSchema.nullable().default(null),
  restarts: z.int().min(0).max(1_000_000_000).default(0),
  health: z.enum(['unknown', 'healthy', 'unhealthy']).default('unknown'),
  lastExit: lastExitSchema.nullable().default(null),
  error: z.string().max(2000).nullable().default(null),
  logTail: z
    .array(z.string().max(LOG_LINE_CHARS, `a log line is at most ${LOG_LINE_CHARS} characters`))
    .max(LOG_TAIL_LINES, `at most ${LOG_TAIL_LINES} log lines`)
    .default([]),
  step: z.enum(ASSIGNMENT_STEPS).nullable().default(null),
  download: downloadProgressSchema.nullable().default(null),
});

export type AssignmentInput = z.input<typeof assignmentInputSchema>;
export type AssignmentRun = z.output<typeof processRunSchema>;
export type AssignmentHealth = z.output<typeof assignmentHealthSchema>;
export type AssignmentArtifact = z.output<typeof assignmentArtifactSchema>;
export type DownloadProgress = z.output<typeof downloadProgressSchema>;
export type AssignmentReport = z.input<typeof assignmentReportSchema>;
export type AssignmentStatus = z.output<typeof assignmentReportSchema> & {
  reportedAt: string | null;
};

// A type, not an interface: it must fit the API's loose response schemas (an index signature).
export type Assignment = {
  id: string;
  host: string;
  module: string;
  version: string;
  run: AssignmentRun;
  health: AssignmentHealth | null;
  artifact: AssignmentArtifact | null;
  desired: AssignmentDesired;
  status: AssignmentStatus;
  createdAt: string;
  updatedAt: string;
};

/** Where a new assignment starts: the agent has not reported yet. */
export const PENDING_STATUS: AssignmentStatus = {
  phase: 'pending',
  address: null,
  pid: null,
  startedAt: null,
  restarts: 0,
  health: 'unknown',
  lastExit: null,
  error: null,
  logTail: [],
  step: null,
  download: null,
  reportedAt: null,
};
