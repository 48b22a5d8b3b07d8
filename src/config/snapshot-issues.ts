// The checks across a snapshot's parts (duplicates, references), in their own module without zod:
// the control plane's schema (snapshot.ts) and the proxy's validator (snapshot-check.ts) both run
// them, and a `turnout proxy` must not load zod (issue 15: memory).

import type { Snapshot } from './snapshot.js';

function duplicates(values: readonly string[]): string[] {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const v of values) (seen.has(v) ? dup : seen).add(v);
  return [...dup];
}

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
