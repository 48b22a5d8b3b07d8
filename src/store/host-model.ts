// Hosts of the fleet: a machine an agent runs on, registered by that agent with its address, labels
// (zone=a, gpu=yes…) and capacity, kept alive by heartbeats (a host lease). Its state says whether
// placement may use it: `ready`; `cordoned` (an operator keeps new instances off it); `draining`
// (an operator is emptying it); `down` (its lease ran out: the agent is gone or cut off). An
// operator's cordon or drain survives the agent registering again, and survives the host being
// down: a down host that heartbeats again returns to the state it had before (ready, or the
// operator's cordon or drain).

import { isIP } from 'node:net';
import { z } from 'zod';

export const HOST_STATES = ['ready', 'cordoned', 'draining', 'down'] as const;
export type HostState = (typeof HOST_STATES)[number];
/** What an operator may set; `down` is the lease sweeper's to decide. */
export const OPERATOR_HOST_STATES = ['ready', 'cordoned', 'draining'] as const;

const DNS = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;
const LABEL_KEY = /^[a-z0-9]([a-z0-9._/-]{0,61}[a-z0-9])?$/;
const LABEL_VALUE = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$|^$/;

export const hostNameSchema = z
  .string({ error: 'a host name must be a string' })
  .regex(DNS, 'a host name is a lower-case DNS name (a-z 0-9 . -), at most 253 characters');

/** Where the host's instances are reached: an IP address or a DNS name, no port. */
const addressSchema = z
  .string({ error: 'an address must be a string' })
  .refine(
    (a) => isIP(a) !== 0 || DNS.test(a),
    'an address is an IP address or a lower-case DNS name, without a port',
  );

export const labelsSchema = z
  .record(
    z.string(),
    z
      .string()
      .regex(
        LABEL_VALUE,
        'a label value is 0–63 of A-Z a-z 0-9 . _ - (letters or digits at both ends)',
      ),
  )
  // Keys checked here rather than by the record's key schema, whose error says only "Invalid key".
  .superRefine((labels, ctx) => {
    const keys = Object.keys(labels);
    if (keys.length > 32) ctx.addIssue({ code: 'custom', message: 'at most 32 labels' });
    for (const key of keys.filter((k) => !LABEL_KEY.test(k)))
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: 'a label key is 1–63 of a-z 0-9 . _ / - (letters or digits at both ends)',
      });
  })
  .default({});

export const hostInputSchema = z.strictObject({
  name: hostNameSchema,
  address: addressSchema,
  labels: labelsSchema,
  /** Most instances placement puts on it; null: no limit. */
  capacity: z.int().min(1).max(10_000).nullable().default(null),
});

export type HostInput = z.input<typeof hostInputSchema>;
export type Host = z.output<typeof hostInputSchema> & {
  state: HostState;
  /** ISO 8601 UTC; null until the first heartbeat. */
  leaseExpiresAt: string | null;
  /**
   * The agent token name the host is bound to: the first agent that registered it. Another agent
   * token may not speak for the host; null until an agent (not an admin) registers it.
   */
  registeredBy: string | null;
  createdAt: string;
  updatedAt: string;
};

/**
 * The state a (re-)registration or heartbeat leaves: an operator's choice stays; a down host
 * returns to `held`, the state it had when it went down (ready when unknown).
 */
export function stateOnContact(
  state: HostState | null,
  held: Exclude<HostState, 'down'> | null = null,
): HostState {
  if (state === null) return 'ready';
  return state === 'down' ? (held ?? 'ready') : state;
}
