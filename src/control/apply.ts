// `apply` against a store: load what the documents touch, plan (apply-plan.ts), and run the plan's
// writes in ONE store transaction, so a rejected document leaves nothing behind. A dry run runs the
// very same writes and rolls them back: it reports exactly the errors a real apply would meet
// (host conflicts, runtime changes and every other store check), and changes nothing.
// Each document's given fields are recorded (last-applied, for the three-way rule), and with
// `prune` the objects an earlier apply wrote that the documents no longer name are deleted
// (apply-prune.ts), all in that same transaction.

import { TurnoutError } from '../errors.js';
import type { Store, StoreTx } from '../store/store.js';
import type { ApplyDocument, ApplyKind, CatalogObject } from './apply-documents.js';
import { atDocument, documentKey } from './apply-documents.js';
import { givenFields } from './apply-fields.js';
import type { ApplyAction, ApplyStep, CatalogState, FieldChange } from './apply-plan.js';
import { appliedId, planApply } from './apply-plan.js';
import type { PruneCandidate } from './apply-prune.js';
import { planPrune } from './apply-prune.js';
import { overlayVersions } from './overlay-versions.js';

export interface ApplyOptions {
  dryRun: boolean;
  /** Also delete what an earlier apply wrote and the documents no longer name (in their orgs). */
  prune?: boolean;
  /** Who applies: the audit log's actor for every write. */
  actor: string;
}

export interface ApplyAnswerAction {
  /** The document's position in the request (0-based); absent for a pruned object. */
  index?: number;
  kind: ApplyKind;
  name: string;
  action: ApplyAction;
  changes: FieldChange[];
}

export interface ApplyResult {
  dryRun: boolean;
  prune: boolean;
  /** True when the apply wrote something (or, dry, would have). */
  changed: boolean;
  counts: Record<ApplyAction, number>;
  /** One per document, in document order; then each pruned object, in delete order. */
  actions: ApplyAnswerAction[];
}

/** Thrown inside the transaction to roll a dry run back; carries the result out. */
class DryRun extends Error {
  constructor(readonly result: ApplyResult) {
    super('dry run');
  }
}

export async function applyDocuments(
  store: Store,
  documents: readonly ApplyDocument[],
  options: ApplyOptions,
): Promise<ApplyResult> {
  try {
    return await store.transaction(async (tx) => {
      const plan = planApply(documents, await loadState(tx, documents));
      for (const step of plan.steps) {
        if (step.action !== 'unchanged') {
          await write(tx, step, options.actor).catch((error: unknown) =>
            atDocument(step.index, error),
          );
        }
        const doc = documents[step.index] as ApplyDocument;
        const record = { kind: step.kind, key: step.name, fields: givenFields(doc) };
        await tx.recordApplied(record, options.actor);
      }
      const pruned = options.prune === true ? await prune(tx, plan.steps, options.actor) : [];
      const result = summarise(plan.steps, pruned, options);
      if (options.dryRun) throw new DryRun(result);
      return result;
    });
  } catch (error) {
    if (error instanceof DryRun) return error.result;
    throw error;
  }
}

function summarise(
  steps: readonly ApplyStep[],
  pruned: readonly PruneCandidate[],
  options: ApplyOptions,
): ApplyResult {
  const counts: Record<ApplyAction, number> = { create: 0, update: 0, unchanged: 0, prune: 0 };
  for (const s of steps) counts[s.action] += 1;
  counts.prune = pruned.length;
  const actions: ApplyAnswerAction[] = [...steps]
    .sort((a, b) => a.index - b.index)
    .map(({ object: _o, ...action }) => action);
  for (const p of pruned) actions.push({ kind: p.kind, name: p.key, action: 'prune', changes: [] });
  return {
    dryRun: options.dryRun,
    prune: options.prune === true,
    changed: counts.create + counts.update + counts.prune > 0,
    counts,
    actions,
  };
}

/**
 * Deletes, after the documents' writes, what apply-prune.ts picks. A delete the store refuses
 * (a version still running, a product with lanes no apply wrote) fails the whole apply, naming
 * the object; the transaction rolls every write back.
 */
async function prune(
  tx: StoreTx,
  steps: readonly ApplyStep[],
  actor: string,
): Promise<PruneCandidate[]> {
  const named = new Set(steps.map((s) => appliedId(s.object)));
  const scope = new Set<string>();
  for (const s of steps) scope.add(await orgOf(tx, s.kind, s.name));
  const candidates: PruneCandidate[] = [];
  for (const record of await tx.listApplied()) {
    const kind = record.kind as ApplyKind;
    if (kind === 'Org' || named.has(`${kind}/${record.key}`)) continue;
    const found = await candidateOf(tx, kind, record.key);
    // The object is gone (deleted through the API since): its record means nothing any more.
    if (found === null) await tx.deleteApplied(kind, record.key, actor);
    else candidates.push(found);
  }
  const chosen = planPrune(candidates, named, scope);
  for (const c of chosen) {
    await remove(tx, c, actor).catch((error: unknown) => pruneError(c, error));
    await tx.deleteApplied(c.kind, c.key, actor);
  }
  return chosen;
}

function pruneError(c: PruneCandidate, error: unknown): never {
  if (!(error instanceof TurnoutError)) throw error;
  const label = `${c.kind.toLowerCase()} ${c.key}`;
  throw new TurnoutError(
    error.code,
    `prune: ${label} (no document names it any more) cannot be deleted: ${error.message}`,
    'prune',
  );
}

/** `orders@2.0.0` → [orders, 2.0.0]; `shop/dev` → [shop, dev]. Names hold neither @ nor /. */
function split(key: string, sep: string): [string, string] {
  const at = key.indexOf(sep);
  return [key.slice(0, at), key.slice(at + 1)];
}

/** The org an object belongs to (read after the documents' writes). */
async function orgOf(tx: StoreTx, kind: ApplyKind, key: string): Promise<string> {
  return (await candidateOf(tx, kind, key))?.org ?? '';
}

/** The object as a prune candidate, or null when it does not exist. */
async function candidateOf(
  tx: StoreTx,
  kind: ApplyKind,
  key: string,
): Promise<PruneCandidate | null> {
  const productOrg = async (name: string) => (await tx.getProduct(name))?.org;
  let org: string | undefined;
  let calls: readonly string[] | undefined;
  switch (kind) {
    case 'Org':
      org = (await tx.getOrg(key))?.name;
      break;
    case 'Module': {
      const m = await tx.getModule(key);
      org = m?.org;
      calls = m?.calls;
      break;
    }
    case 'Version': {
      const [module, version] = split(key, '@');
      if ((await tx.getVersion(module, version)) !== null) org = (await tx.getModule(module))?.org;
      break;
    }
    case 'Product':
      org = await productOrg(key);
      break;
    case 'Lane': {
      const [product, name] = split(key, '/');
      if ((await tx.getLane(product, name)) !== null) org = await productOrg(product);
      break;
    }
    case 'Notifier': {
      const n = await tx.getNotifier(key);
      if (n !== null) org = await productOrg(n.product);
      break;
    }
  }
  if (org === undefined) return null;
  return calls === undefined ? { kind, key, org } : { kind, key, org, calls };
}

async function remove(tx: StoreTx, c: PruneCandidate, actor: string): Promise<void> {
  switch (c.kind) {
    case 'Org':
      return tx.deleteOrg(c.key, actor); // planPrune never picks one
    case 'Module':
      return tx.deleteModule(c.key, actor);
    case 'Version':
      return tx.deleteVersion(...split(c.key, '@'), actor);
    case 'Product':
      return tx.deleteProduct(c.key, actor);
    case 'Lane':
      return tx.deleteLane(...split(c.key, '/'), actor);
    case 'Notifier':
      return tx.deleteNotifier(c.key, actor);
  }
}

/** The object's fields without `kind`: the store's input for that kind. */
function fields<D extends CatalogObject>(doc: D): Omit<D, 'kind'> {
  const { kind: _k, ...rest } = doc;
  return rest;
}

async function write(tx: StoreTx, step: ApplyStep, actor: string): Promise<unknown> {
  const doc = step.object;
  const create = step.action === 'create';
  switch (doc.kind) {
    case 'Org':
      return tx.createOrg(fields(doc), actor); // an org has nothing to update
    case 'Module':
      return create ? tx.createModule(fields(doc), actor) : tx.updateModule(fields(doc), actor);
    case 'Version':
      return tx.createVersion(fields(doc), actor); // immutable: the plan never updates one
    case 'Product':
      return create ? tx.createProduct(fields(doc), actor) : tx.updateProduct(fields(doc), actor);
    case 'Lane':
      return create ? tx.createLane(fields(doc), actor) : tx.updateLane(fields(doc), actor);
    case 'Notifier':
      return create ? tx.createNotifier(fields(doc), actor) : tx.updateNotifier(fields(doc), actor);
  }
}

/** Every module (the graph is checked whole) and the other records the documents name. */
async function loadState(tx: StoreTx, documents: readonly ApplyDocument[]): Promise<CatalogState> {
  const state = {
    orgs: new Map(),
    modules: new Map(),
    versions: new Map(),
    products: new Map(),
    lanes: new Map(),
    notifiers: new Map(),
    applied: new Map<string, readonly string[]>(),
  } satisfies CatalogState;
  for (const doc of documents) {
    const record = await tx.getApplied(doc.kind, documentKey(doc));
    if (record !== null) state.applied.set(appliedId(doc), record.fields);
  }
  let cursor: string | undefined;
  do {
    const page = await tx.listModules(cursor === undefined ? {} : { cursor });
    for (const m of page.items) state.modules.set(m.name, m);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);

  const orgs = new Set<string>();
  const products = new Set<string>();
  for (const doc of documents) {
    if (doc.kind === 'Org') orgs.add(doc.name);
    if (doc.kind === 'Module' || doc.kind === 'Product') orgs.add(doc.org);
    if (doc.kind === 'Product') products.add(doc.name);
    if (doc.kind === 'Lane' || doc.kind === 'Notifier') products.add(doc.product);
    if (doc.kind === 'Notifier') {
      const notifier = await tx.getNotifier(doc.name);
      if (notifier !== null) state.notifiers.set(doc.name, notifier);
    }
    if (doc.kind === 'Version') {
      const version = await tx.getVersion(doc.module, doc.version);
      if (version !== null) state.versions.set(documentKey(doc), version);
    }
    if (doc.kind === 'Lane') {
      const lane = await tx.getLane(doc.product, doc.name);
      if (lane !== null) state.lanes.set(documentKey(doc), lane);
      // The versions its overlay routes to, so the plan can refuse one that does not exist.
      for (const v of overlayVersions(doc.overlay ?? '')) {
        const version = await tx.getVersion(v.module, v.version);
        if (version !== null) state.versions.set(`${v.module}@${v.version}`, version);
      }
    }
  }
  for (const name of orgs) {
    const org = await tx.getOrg(name);
    if (org !== null) state.orgs.set(name, org);
  }
  for (const name of products) {
    const product = await tx.getProduct(name);
    if (product !== null) state.products.set(name, product);
  }
  return state;
}
