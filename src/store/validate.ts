// Pure validation for the store: schema parsing into TurnoutErrors that name the field, and the
// checks that need more than one record (references, cycles, immutability, conflicts). No I/O: the
// SQL layer loads what a check needs and calls these, so the rules are tested without a database.

import type { z } from 'zod';
import { TurnoutError } from '../errors.js';
import type { ArtifactRef, RunOverride, RunSpec, TicketItem, Version } from './model.js';

// The graph checks live in graph.ts for size; this module stays the one place to import checks from.
export { checkCalls, checkNoCycle, findCycle, reachableModules } from './graph.js';

/** `items[1].version` from zod's path ['items', 1, 'version']. */
export function fieldOf(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/**
 * Parses `input` or throws `invalid_config` naming the first failing field. zod's default for a
 * missing field is "expected string, received undefined"; "is required" says it plainly.
 */
export function parseInput<S extends z.ZodType>(
  schema: S,
  input: unknown,
  what: string,
): z.output<S> {
  const result = schema.safeParse(input, {
    error: (issue) =>
      issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : undefined,
  });
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue === undefined) throw new TurnoutError('invalid_config', `${what} is invalid`);
  // A strict object's unknown key is reported at the object; name the key itself instead.
  const unknownKey = issue.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
  const field = fieldOf(unknownKey === undefined ? issue.path : [...issue.path, unknownKey]);
  const where = field === '' ? what : `${what} ${field}`;
  const message = unknownKey === undefined ? issue.message : 'is not a known field';
  throw new TurnoutError('invalid_config', `${where}: ${message}`, field || undefined);
}

export function unknownRef(field: string, what: string, name: string): TurnoutError {
  return new TurnoutError('invalid_config', `${field}: unknown ${what} "${name}"`, field);
}

export function notFound(what: string, key: string): TurnoutError {
  return new TurnoutError('not_found', `${what} ${key} does not exist`);
}

export function duplicate(what: string, key: string, field = 'name'): TurnoutError {
  return new TurnoutError('invalid_argument', `${what} ${key} already exists`, field);
}

/** Refuses to delete something others still point at, listing who (so the fix is obvious). */
export function checkUnreferenced(what: string, referrers: readonly string[]): void {
  if (referrers.length === 0) return;
  const shown = referrers.slice(0, 10).join(', ');
  const more = referrers.length > 10 ? ` and ${referrers.length - 10} more` : '';
  throw new TurnoutError('invalid_argument', `${what} is still used by ${shown}${more}`);
}

/** JSON equality that ignores key order (a JSON column need not round-trip key order). */
export function sameJson(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * Versions are immutable: re-creating one with the same content is a no-op (so `apply` is
 * idempotent), different content is refused rather than silently changing what is deployed.
 */
export function checkVersionUnchanged(
  existing: Version,
  incoming: { run: RunOverride | null },
): void {
  if (sameJson(existing.run, incoming.run)) return;
  throw new TurnoutError(
    'invalid_argument',
    `run: version ${existing.module}@${existing.version} already exists with a different run; versions are immutable, create a new version`,
    'run',
  );
}

/** A version's artifact is immutable too; another one is a conflict, never a silent swap. */
export function checkArtifactUnchanged(existing: Version, incoming: ArtifactRef | null): void {
  if (sameJson(existing.artifact, incoming)) return;
  throw new TurnoutError(
    'conflict',
    `artifact: version ${existing.module}@${existing.version} already exists with ${artifactText(existing.artifact)}; versions are immutable, create a new version`,
    'artifact',
  );
}

function artifactText(a: ArtifactRef | null): string {
  return a === null ? 'no artifact' : `artifact sha256 ${a.sha256}`;
}

/** A version's override must be for the runtime its module runs on. */
export function checkOverrideKind(
  module: string,
  run: RunSpec,
  override: RunOverride | null,
): void {
  if (override === null) return;
  const want = 'process' in run ? 'process' : 'kubernetes';
  if (want in override) return;
  throw new TurnoutError(
    'invalid_config',
    `run: module "${module}" runs on ${want}, so a version overrides run.${want}`,
    'run',
  );
}

/**
 * A ticket's items: each module at most once, used by the product (its entry or reachable from it),
 * and with an existing version.
 */
export function checkTicketItems(
  product: string,
  items: readonly TicketItem[],
  graph: ReadonlyMap<string, readonly string[]>,
  used: ReadonlySet<string>,
  versionExists: (item: TicketItem) => boolean,
): void {
  const seen = new Set<string>();
  items.forEach((item, i) => {
    const field = `items[${i}].module`;
    if (seen.has(item.module))
      throw new TurnoutError(
        'invalid_config',
        `${field}: module "${item.module}" is listed twice`,
        field,
      );
    seen.add(item.module);
    if (!graph.has(item.module)) throw unknownRef(field, 'module', item.module);
    if (!used.has(item.module)) {
      throw new TurnoutError(
        'invalid_config',
        `${field}: module "${item.module}" is not used by product "${product}"`,
        field,
      );
    }
    if (!versionExists(item))
      throw unknownRef(`items[${i}].version`, 'version', `${item.module}@${item.version}`);
  });
}

/** A lane's rules assign requests to that lane; a rule naming another lane is a mistake. */
export function checkLaneRuleTargets(lane: string, rules: readonly { lane: string }[]): void {
  rules.forEach((rule, i) => {
    if (rule.lane === lane) return;
    const field = `rules[${i}].lane`;
    throw new TurnoutError(
      'invalid_config',
      `${field}: a rule of lane "${lane}" assigns lane "${rule.lane}"; put it in that lane`,
      field,
    );
  });
}

/** A host routes to one product, so it may not appear twice anywhere. */
export function checkHostsFree(
  hosts: readonly string[],
  ownerOf: (host: string) => string | undefined,
): void {
  const seen = new Set<string>();
  hosts.forEach((host, i) => {
    const field = `hosts[${i}]`;
    const owner = seen.has(host) ? 'this product' : ownerOf(host);
    seen.add(host);
    if (owner !== undefined)
      throw new TurnoutError(
        'invalid_argument',
        `${field}: host "${host}" already belongs to ${owner === 'this product' ? owner : `product "${owner}"`}`,
        field,
      );
  });
}
