// The assignment as the agent sees it (docs/fleet-protocol.md; the store's src/store/
// assignment-model.ts). The agent reads it off the wire and from its own <data>/assignments.json,
// so it parses what it reads rather than trusting it — loosely: an older or newer server's extra
// fields must not stop an agent.

import { z } from 'zod';
import { ASSIGNMENT_PHASES, ASSIGNMENT_STEPS } from '../store/assignment-model.js';

export { ASSIGNMENT_PHASES };
export type AssignmentPhase = (typeof ASSIGNMENT_PHASES)[number];
export type HealthVerdict = 'unknown' | 'healthy' | 'unhealthy';

const exitSchema = z.object({
  code: z.number().int().nullable(),
  signal: z.string().nullable(),
  at: z.string(),
});

const statusSchema = z.object({
  phase: z.enum(ASSIGNMENT_PHASES),
  address: z.string().nullable(),
  pid: z.number().int().nullable(),
  startedAt: z.string().nullable(),
  restarts: z.number().int().min(0),
  health: z.enum(['unknown', 'healthy', 'unhealthy']),
  lastExit: exitSchema.nullable(),
  error: z.string().nullable(),
  logTail: z.array(z.string()),
  // Issue 14; an older server sends neither.
  step: z.enum(ASSIGNMENT_STEPS).nullable().default(null),
  download: z
    .object({
      state: z.enum(['queued', 'downloading', 'verified']),
      bytes: z.number().int().min(0),
      total: z.number().int().min(0).nullable(),
      position: z.number().int().min(1).nullable(),
    })
    .nullable()
    .default(null),
  reportedAt: z.string().nullable(),
});

export const assignmentSchema = z.object({
  id: z.string().min(1),
  host: z.string().min(1),
  module: z.string().min(1),
  version: z.string().min(1),
  run: z.object({
    command: z.string().min(1),
    args: z.array(z.string()),
    cwd: z.string().nullable(),
    env: z.record(z.string(), z.string()),
  }),
  health: z
    .object({
      path: z.string().startsWith('/'),
      intervalMs: z.number().int().positive(),
      // Not in the contract's AssignmentHealth; taken when the server sends them.
      healthyThreshold: z.number().int().positive().optional(),
      unhealthyThreshold: z.number().int().positive().optional(),
    })
    .nullable(),
  /** What to download and run inside (issue 14); null or absent: a command on the host. */
  artifact: z
    .object({
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
      size: z.number().int().min(0).nullable(),
      url: z.string().nullable(),
    })
    .nullable()
    .default(null),
  desired: z.enum(['run', 'stop']),
  status: statusSchema,
  createdAt: z.string(),
  updatedAt: z.string(),
});

export type Assignment = z.output<typeof assignmentSchema>;
export type AssignmentStatus = z.output<typeof statusSchema>;
/** What the agent reports (PUT /hosts/:name/assignments/:id/status): the server stamps reportedAt. */
export type StatusReport = Omit<AssignmentStatus, 'reportedAt'>;

export const assignmentListSchema = z.object({ assignments: z.array(assignmentSchema) });
