// What `turnout apply` will do, decided without I/O: for each document create, update (with the
// fields that change, before → after) or unchanged, in an order where everything a document
// refers to exists before it (orgs → modules, callees first → versions → products → lanes).
// References are checked against the state after the apply (the store plus these documents), so
// documents may refer to each other in any order; what needs the whole store (hosts, runtime
// changes) is left to the store's own checks when the plan runs.

import { TurnoutError } from '../errors.js';
import type { Lane, Module, Org, Product, Version } from '../store/model.js';
import type { Notifier } from '../store/notifier-model.js';
import { checkNotifierSecret, shownUrl } from '../store/notifier-model.js';
import {
  checkArtifactUnchanged,
  checkCalls,
  checkLaneRuleTargets,
  checkNoCycle,
  checkOverrideKind,
  checkVersionUnchanged,
  findCycle,
  sameJson,
  unknownRef,
} from '../store/validate.js';
import type { ApplyDocument, ApplyKind, CatalogObject, ObjectOf } from './apply-documents.js';
import {
  APPLY_KINDS,
  atDocument,
  completeDocument,
  documentKey,
  documentLabel,
  keyField,
} from './apply-documents.js';
import { missingVersion, overlayVersions } from './overlay-versions.js';

/** The records a plan compares against; a record missing from a map does not exist. */
export interface CatalogState {
  /** At least every org the documents name or refer to. */
  orgs: ReadonlyMap<string, Org>;
  /** Every module: the dependency graph is checked whole. */
  modules: ReadonlyMap<string, Module>;
  /** By `module@version`, at least those the documents name. */
  versions: ReadonlyMap<string, Version>;
  /** At least every product the documents name or refer to. */
  products: ReadonlyMap<string, Product>;
  /** By `product/name`, at least those the documents name. */
  lanes: ReadonlyMap<string, Lane>;
  /** At least those the documents name; absent: none exists. */
  notifiers?: ReadonlyMap<string, Notifier>;
  /**
   * The fields the last apply of an object gave, by `Kind/key` (appliedId), at least for those
   * the documents name; an object missing here was never written by an apply.
   */
  applied?: ReadonlyMap<string, readonly string[]>;
}

/** An object's id across kinds: `Module/orders`, `Lane/shop/dev`. */
export function appliedId(doc: ApplyDocument | CatalogObject): string {
  return `${doc.kind}/${documentKey(doc)}`;
}

/** `prune`: an object an earlier apply wrote that the documents no longer name (apply-prune.ts). */
export type ApplyAction = StepAction | 'prune';
/** What an apply does with a document. */
export type StepAction = 'create' | 'update' | 'unchanged';

export interface FieldChange {
  /** `hosts`, `run.process.env.SERVICE_NAME`; absent on one side means not set there. */
  field: string;
  before?: unknown;
  after?: unknown;
}

export interface ApplyStep {
  /** The document's position in the request (0-based). */
  index: number;
  kind: ApplyKind;
  /** Its key within the kind: `orders`, `orders@2.0.0`, `shop/dev`. */
  name: string;
  action: StepAction;
  /** For an update, every field that changes. */
  changes: FieldChange[];
  /** The whole object to write: the document with defaults (create) or stored values (update). */
  object: CatalogObject;
}

/** Steps in execution order. */
export interface ApplyPlan {
  steps: ApplyStep[];
}

/** Plans `documents` against `state`, or throws the first problem, naming document and field. */
export function planApply(documents: readonly ApplyDocument[], state: CatalogState): ApplyPlan {
  checkUnique(documents);
  const objects = documents.map((doc) =>
    completeDocument(doc, storedOf(doc, state), state.applied?.get(appliedId(doc))),
  );
  const desired = desiredState(objects, state);
  const steps = objects.map((object, index): ApplyStep => {
    try {
      return { index, kind: object.kind, name: documentKey(object), object, ...decide(object) };
    } catch (error) {
      return atDocument(index, error);
    }
  });
  checkAcyclic(objects, desired.graph);
  return { steps: executionOrder(steps, desired.graph) };

  function decide(object: CatalogObject): Decision {
    const stored = storedOf(object, state);
    switch (object.kind) {
      case 'Org':
        return compare(stored, object);
      case 'Module':
        if (!desired.orgs.has(object.org)) throw unknownRef('org', 'org', object.org);
        checkCalls(object.name, object.calls, (name) => desired.graph.has(name));
        return compare(stored, object);
      case 'Version':
        return decideVersion(object, state.versions.get(documentKey(object)), desired);
      case 'Product':
        if (!desired.orgs.has(object.org)) throw unknownRef('org', 'org', object.org);
        if (!desired.graph.has(object.entry)) throw unknownRef('entry', 'module', object.entry);
        return compare(stored, object);
      case 'Lane':
        if (!desired.products.has(object.product))
          throw unknownRef('product', 'product', object.product);
        checkLaneRuleTargets(object.name, object.rules);
        // As the lanes API: lane traffic must reach versions that exist (or this apply creates).
        for (const v of overlayVersions(object.overlay ?? '')) {
          if (!desired.versions.has(`${v.module}@${v.version}`)) throw missingVersion(v);
        }
        return compare(stored, object);
      case 'Notifier':
        if (!desired.products.has(object.product))
          throw unknownRef('product', 'product', object.product);
        checkNotifierSecret(object);
        return redactNotifierChanges(compare(stored, object), object);
    }
  }
}

/** The stored record a document names, if any. */
function storedOf(doc: ApplyDocument | CatalogObject, state: CatalogState): object | undefined {
  const key = documentKey(doc);
  const maps = {
    Org: state.orgs,
    Module: state.modules,
    Version: state.versions,
    Product: state.products,
    Lane: state.lanes,
    Notifier: state.notifiers ?? new Map<string, Notifier>(),
  } satisfies Record<ApplyKind, ReadonlyMap<string, object>>;
  return maps[doc.kind].get(key);
}

type Decision = Pick<ApplyStep, 'action' | 'changes'>;

/** Versions are immutable: identical content is unchanged, different content is an error. */
function decideVersion(
  version: ObjectOf<'Version'>,
  existing: Version | undefined,
  desired: DesiredState,
): Decision {
  const module = desired.modules.get(version.module);
  if (module === undefined) throw unknownRef('module', 'module', version.module);
  checkOverrideKind(version.module, module.run, version.run);
  if (existing === undefined) return { action: 'create', changes: [] };
  checkVersionUnchanged(existing, version);
  checkArtifactUnchanged(existing, version.artifact);
  return { action: 'unchanged', changes: [] };
}

/** The same object twice in one apply is ambiguous (which one wins?), so it is refused. */
function checkUnique(documents: readonly ApplyDocument[]): void {
  const seen = new Map<string, number>();
  documents.forEach((doc, index) => {
    const id = `${doc.kind}/${documentKey(doc)}`;
    const first = seen.get(id);
    if (first === undefined) {
      seen.set(id, index);
      return;
    }
    const field = keyField(doc.kind);
    atDocument(
      index,
      new TurnoutError(
        'invalid_config',
        `${field}: ${documentLabel(doc)} is also document ${first + 1}; an apply names each object once`,
        field,
      ),
    );
  });
}

interface DesiredState {
  orgs: ReadonlySet<string>;
  products: ReadonlySet<string>;
  modules: ReadonlyMap<string, Pick<Module, 'run' | 'calls'>>;
  graph: ReadonlyMap<string, readonly string[]>;
  /** `module@version` of the versions stored (those the documents name) and those documents add. */
  versions: ReadonlySet<string>;
}

/** What exists once the documents are applied: names, the module graph and the modules' runs. */
function desiredState(objects: readonly CatalogObject[], state: CatalogState): DesiredState {
  const orgs = new Set(state.orgs.keys());
  const products = new Set(state.products.keys());
  const modules = new Map<string, Pick<Module, 'run' | 'calls'>>(state.modules);
  for (const doc of objects) {
    if (doc.kind === 'Org') orgs.add(doc.name);
    else if (doc.kind === 'Product') products.add(doc.name);
    else if (doc.kind === 'Module') modules.set(doc.name, doc);
  }
  const graph = new Map([...modules].map(([name, m]) => [name, m.calls] as const));
  const versions = new Set(state.versions.keys());
  for (const doc of objects) if (doc.kind === 'Version') versions.add(documentKey(doc));
  return { orgs, products, modules, graph, versions };
}

/** A cycle is reported at the first module document on it (the store's graph has none). */
function checkAcyclic(
  objects: readonly CatalogObject[],
  graph: ReadonlyMap<string, readonly string[]>,
): void {
  const cycle = findCycle(graph);
  if (cycle === null) return;
  const index = objects.findIndex((d) => d.kind === 'Module' && cycle.includes(d.name));
  const doc = objects[index] as ObjectOf<'Module'>;
  try {
    checkNoCycle(graph, doc.name);
  } catch (error) {
    atDocument(index, error);
  }
}

/** The document's content compared with the stored record (timestamps aside). */
function compare(record: object | undefined, doc: CatalogObject): Decision {
  if (record === undefined) return { action: 'create', changes: [] };
  const { createdAt: _c, updatedAt: _u, ...before } = record as Record<string, unknown>;
  const { kind: _k, ...after } = doc as Record<string, unknown>;
  const changes = diff(before, after, '');
  return { action: changes.length === 0 ? 'unchanged' : 'update', changes };
}

/** An apply's answer may be logged: a notifier's secret and Slack URL never appear in it. */
function redactNotifierChanges(decision: Decision, n: ObjectOf<'Notifier'>): Decision {
  const hide = (field: string, v: unknown): unknown => {
    if (typeof v !== 'string') return v;
    if (field === 'secret') return '(secret)';
    return field === 'url' ? shownUrl(n.format, v) : v;
  };
  const changes = decision.changes.map((c) => {
    const out: FieldChange = { field: c.field };
    if ('before' in c) out.before = hide(c.field, c.before);
    if ('after' in c) out.after = hide(c.field, c.after);
    return out;
  });
  return { ...decision, changes };
}

function isMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Leaf-level differences between two JSON values; arrays compare whole (order matters). */
export function diff(before: unknown, after: unknown, path: string): FieldChange[] {
  if (sameJson(before, after)) return [];
  if (!isMap(before) || !isMap(after)) {
    const change: FieldChange = { field: path };
    if (before !== undefined) change.before = before;
    if (after !== undefined) change.after = after;
    return [change];
  }
  const keys = [...new Set([...Object.keys(after), ...Object.keys(before)])];
  return keys.flatMap((k) => diff(before[k], after[k], path === '' ? k : `${path}.${k}`));
}

const KIND_RANK = new Map<ApplyKind, number>(APPLY_KINDS.map((k, i) => [k, i]));

/** Kinds in APPLY_KINDS order, document order within a kind, except modules: callees first. */
function executionOrder(
  steps: readonly ApplyStep[],
  graph: ReadonlyMap<string, readonly string[]>,
): ApplyStep[] {
  const moduleRank = calleesFirst(
    steps.filter((s) => s.kind === 'Module').map((s) => s.name),
    graph,
  );
  const rank = (s: ApplyStep) => (s.kind === 'Module' ? (moduleRank.get(s.name) ?? 0) : s.index);
  return [...steps].sort(
    (a, b) => (KIND_RANK.get(a.kind) ?? 0) - (KIND_RANK.get(b.kind) ?? 0) || rank(a) - rank(b),
  );
}

/**
 * Positions for `names` such that every module comes after the modules it reaches in the graph
 * after the apply. Ordering over the whole graph (not only these names) matters: each
 * intermediate state is then acyclic too, even when updates reverse an existing call.
 */
function calleesFirst(
  names: readonly string[],
  graph: ReadonlyMap<string, readonly string[]>,
): Map<string, number> {
  const wanted = new Set(names);
  const rank = new Map<string, number>();
  const visited = new Set<string>();
  const visit = (name: string): void => {
    if (visited.has(name)) return;
    visited.add(name);
    for (const callee of graph.get(name) ?? []) visit(callee);
    if (wanted.has(name)) rank.set(name, rank.size);
  };
  for (const name of names) visit(name);
  return rank;
}
