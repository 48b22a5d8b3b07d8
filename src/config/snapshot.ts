// The routing snapshot: everything a proxy needs to route (products, hosts, base dtabs, lanes and
// their rules, modules, versions and endpoints), with one schema that names the field and the
// reason for every rejection. The control plane compiles it; the proxy and `route explain` read it.

import { z } from 'zod';
import { nameProblem } from '../routing/context.js';
import { laneRulesSchema } from '../routing/lane-rules.js';
import { parseDtab } from '../routing/parser.js';

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

function duplicates(values: readonly string[]): string[] {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const v of values) (seen.has(v) ? dup : seen).add(v);
  return [...dup];
}

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

/**
 * The checks across a snapshot's parts (duplicates, references), apart from the parts' own
 * schemas, so an incremental compile (src/control/compile-snapshot.ts) can validate only the parts
 * that changed and still run these over the whole.
 */
export function snapshotIssues(
  snap: Pick<Snapshot, 'products' | 'modules'>,
): { path: (string | number)[]; message: string }[] {
  const issues: { path: (string | number)[]; message: string }[] = [];
  const issue = (path: (string | number)[], message: string) => issues.push({ path, message });
  const moduleNames = new Set(snap.modules.map((m) => m.name));
  for (const d of duplicates(snap.products.map((p) => p.name)))
    issue(['products'], `duplicate product "${d}"`);
  for (const d of duplicates(snap.modules.map((m) => m.name)))
    issue(['modules'], `duplicate module "${d}"`);
  for (const d of duplicates(snap.products.flatMap((p) => p.hosts)))
    issue(['products'], `host "${d}" belongs to two products`);
  snap.modules.forEach((m, i) => {
    for (const d of duplicates(m.versions.map((v) => v.version)))
      issue(['modules', i, 'versions'], `duplicate version "${d}"`);
    m.calls.forEach((c, j) => {
      if (!moduleNames.has(c))
        issue(['modules', i, 'calls', j], `module "${m.name}" calls unknown module "${c}"`);
    });
  });
  snap.products.forEach((p, i) => {
    if (!moduleNames.has(p.entry)) issue(['products', i, 'entry'], `unknown module "${p.entry}"`);
    const lanes = new Set(p.lanes.map((l) => l.name));
    for (const d of duplicates(p.lanes.map((l) => l.name)))
      issue(['products', i, 'lanes'], `duplicate lane "${d}"`);
    p.rules.forEach((r, j) => {
      if (!lanes.has(r.lane))
        issue(
          ['products', i, 'rules', j, 'lane'],
          `rule names lane "${r.lane}", which product "${p.name}" does not have`,
        );
    });
  });
  return issues;
}
