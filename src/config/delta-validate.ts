// Validation of a snapshot that a delta produced, at the cost of what the delta changed: the parts
// (products, modules) that are the very objects of the base snapshot were validated when the base
// was accepted, so only new or changed parts go through their check (snapshot-check.ts); the checks across parts
// (snapshotIssues) run over the whole, as they are cheap. The answer equals what validateSnapshot
// (the full schema) gives for the same document, and errors read the same (source, field, reason).

import { TurnoutError } from '../errors.js';
import type { Path } from '../routing/plain-check.js';
import { fieldPath, validateSnapshot } from './load.js';
import type { Snapshot } from './snapshot.js';
import { checkModule, checkProduct, runCheck } from './snapshot-check.js';
import { snapshotIssues } from './snapshot-issues.js';

/** A part's check (snapshot-check.ts: snapshotSchema's answers without zod). */
type Part<T> = (value: unknown, path: Path) => T;

function fail(source: string, path: readonly PropertyKey[], message: string): never {
  const field = fieldPath(path);
  throw new TurnoutError(
    'invalid_config',
    `${source}: ${field || '(document)'}: ${message}`,
    field,
  );
}

/** The list with every item not in `known` replaced by its schema's output; throws on the first bad one. */
function parts<T>(
  list: unknown,
  known: readonly T[],
  check: Part<T>,
  name: string,
  source: string,
): T[] {
  if (!Array.isArray(list)) fail(source, [name], 'expected array');
  const seen = new Set<unknown>(known);
  return list.map((item, i) => {
    if (seen.has(item)) return item as T;
    const r = runCheck(() => check(item, [name, i]));
    if (!r.ok) fail(source, r.path, r.message);
    return r.value;
  });
}

export function validateDeltaResult(
  base: Snapshot,
  doc: Record<string, unknown>,
  source: string,
): Snapshot {
  // Anything beyond the known fields: the full schema decides (and names it).
  if (Object.keys(doc).some((k) => k !== 'version' && k !== 'products' && k !== 'modules'))
    return validateSnapshot(doc, source);
  const version = doc.version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 0)
    fail(source, ['version'], 'expected a non-negative integer');
  const snapshot: Snapshot = {
    version,
    products: parts(doc.products, base.products, checkProduct, 'products', source),
    modules: parts(doc.modules, base.modules, checkModule, 'modules', source),
  };
  const issues = snapshotIssues(snapshot);
  if (issues.length > 0) {
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
    fail(source, issues[0]!.path, `${issues[0]!.message}${more}`);
  }
  return snapshot;
}
