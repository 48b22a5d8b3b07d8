// The routing snapshot: everything a proxy needs to route (products, hosts, base dtabs, lanes and
// their rules, modules, versions and endpoints), with one schema that names the field and the
// reason for every rejection. The control plane compiles it; the proxy and `route explain` read it.

import { z } from 'zod';
import { nameProblem } from '../routing/context.js';
import { laneRulesSchema } from '../routing/lane-rules.js';
import { parseDtab } from '../routing/parser.js';
import { snapshotIssues } from './snapshot-issues.js';

function nameSchema(what: string) {
  return z.string().superRefine((s, ctx) => {
    const problem = nameProblem(s);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: `${what} "${s}" ${problem}` });
  });
}

/** Dtab text that must parse; the parse error (Finagle's message) becomes the issue. */
export const dtabTextSchema = z.string().superRefine((text, ctx) => {
  try {
    parseDtab(text);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `invalid dtab: ${(error as Error).message}` });
  }
});

/** A version label is one path element of `/v/<module>/<version>`, so only label characters. */
export const versionLabelSchema = z
  .string()
  .regex(
    /^[0-9A-Za-z][0-9A-Za-z_.:-]{0,63}$/,
    'a version is 1–64 of A-Z a-z 0-9 _ . : - and starts with a letter or digit',
  );

const addressSchema = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'an address is host:port')
  .refine((a) => Number(a.slice(a.lastIndexOf(':') + 1)) <= 65535, 'port out of range');

export const endpointStateSchema = z.enum(['starting', 'ready', 'draining', 'stopped']);

const endpointSchema = z.strictObject({
  address: addressSchema,
  state: endpointStateSchema.default('ready'),
  weight: z.number().min(0).max(1000).default(1),
  /** Its host's `zone` label (issue 13, locality); absent when the host has none. */
  zone: z
    .string()
    .regex(/^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/, 'a zone is a host label value')
    .optional(),
});

const versionSchema = z.strictObject({
  version: versionLabelSchema,
  endpoints: z.array(endpointSchema).default([]),
});

export const moduleSchema = z.strictObject({
  name: nameSchema('module'),
  calls: z.array(nameSchema('module')).default([]),
  versions: z.array(versionSchema).default([]),
});

const laneSchema = z.strictObject({
  name: nameSchema('lane'),
  overlay: dtabTextSchema.default(''),
});

const hostSchema = z
  .string()
  .regex(
    /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?(:\d{1,5})?$/,
    'a host is a lower-case DNS name, optionally :port',
  );

export const productSchema = z.strictObject({
  name: nameSchema('product'),
  hosts: z.array(hostSchema).default([]),
  entry: nameSchema('module'),
  dtab: dtabTextSchema,
  lanes: z.array(laneSchema).default([]),
  rules: laneRulesSchema.default([]),
});

export const snapshotSchema = z
  .strictObject({
    version: z.number().int().min(0),
    products: z.array(productSchema).default([]),
    modules: z.array(moduleSchema).default([]),
  })
  .superRefine((snap, ctx) => {
    for (const { path, message } of snapshotIssues(snap))
      ctx.addIssue({ code: 'custom', path, message });
  });

export type Snapshot = z.output<typeof snapshotSchema>;
export type SnapshotInput = z.input<typeof snapshotSchema>;

// The checks across parts, without zod: the proxy runs them too (issue 15: memory).
export { snapshotIssues };
